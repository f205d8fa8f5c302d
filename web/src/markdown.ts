/**
 * Markdown to safe HTML: `marked` renders, DOMPurify removes scripts, handlers and unsafe
 * URLs. Images are dropped too: a reply could otherwise make the browser fetch a URL
 * that carries the conversation elsewhere (a prompt-injected "tracking pixel").
 */
import DOMPurify from "dompurify";
import { marked } from "marked";

const purifier = DOMPurify();
// Links open in a new tab without giving it this window.
purifier.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.getAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

/** Safe HTML for untrusted markdown (an LLM's reply, a person's message). */
export function renderMarkdown(source: string): string {
  const html = marked.parse(source, { async: false, gfm: true, breaks: true });
  return purifier.sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ["img", "picture", "video", "audio", "source", "style", "form", "input", "button", "textarea", "select", "iframe", "object", "embed"],
    FORBID_ATTR: ["style"],
  });
}
