import { afterEach, describe, expect, it } from "vitest";
import { auditPath, describeDetails, FIRST_PAGE, newer, older } from "./audit";
import { brandingChanges, checkContrast, wcagLevel } from "./branding";
import { fieldErrors, inputKind, parseInput, providerChanges, type ProviderField } from "./providerForm";
import { Settings } from "./SettingsPage";
import { button, byLabel, click, render, scriptedApi, submit, type, type Rendered } from "./testUtil";

const SECRET = "sk-do-not-show-me-0123456789";

const model: ProviderField = {
  name: "model",
  schema: { type: "string", maxLength: 200 },
  description: "The default model.",
  secret: false,
  editable: true,
  value: "gpt-4o-mini",
};
const apiKey: ProviderField = {
  name: "api_key",
  schema: { anyOf: [{ type: "string", format: "password" }, { type: "null" }] },
  description: null,
  secret: true,
  editable: true,
  set: true,
};
const house: ProviderField = { ...model, name: "image_model", editable: false, value: "house" };

describe("provider fields as inputs", () => {
  it("chooses an input from the schema", () => {
    expect(inputKind({ type: "string" })).toEqual({ kind: "text", nullable: false });
    expect(inputKind({ anyOf: [{ type: "integer" }, { type: "null" }] })).toEqual({ kind: "number", integer: true, nullable: true });
    expect(inputKind({ enum: ["strong", "session"], type: "string" })).toEqual({ kind: "choice", options: ["strong", "session"], nullable: false });
    expect(inputKind({ type: "boolean" })).toEqual({ kind: "boolean" });
    expect(inputKind({ type: "array" })).toEqual({ kind: "json", nullable: false });
  });

  it("parses typed values, empty back to the default", () => {
    expect(parseInput(model, "")).toEqual({ value: null });
    expect(parseInput({ ...model, schema: { type: "integer" } }, "2.5")).toEqual({ error: "must be a whole number" });
    expect(parseInput({ ...model, schema: { type: "number" } }, "2.5")).toEqual({ value: 2.5 });
    expect(parseInput({ ...model, schema: { type: "array" } }, "[1")).toEqual({ error: "must be valid JSON" });
  });

  it("sends only what changed; an empty secret stays, a cleared one is null, operator fields never", () => {
    const fields = [model, apiKey, house];
    expect(providerChanges(fields, { model: "gpt-4o-mini", api_key: "", image_model: "mine" })).toEqual({ changes: {}, errors: {} });
    expect(providerChanges(fields, { model: "gpt-5", api_key: "sk-new" }).changes).toEqual({ model: "gpt-5", api_key: "sk-new" });
    expect(providerChanges(fields, { api_key: "" }, new Set(["api_key"])).changes).toEqual({ api_key: null });
  });

  it("maps an answer's field errors to the fields of a kind", () => {
    const details = [
      { path: "llm.model", message: "too long" },
      { path: "branding.primary_color", message: "x" },
    ];
    expect(fieldErrors("llm", details)).toEqual({ model: "too long" });
    expect(fieldErrors("llm", undefined)).toEqual({});
  });
});

describe("branding", () => {
  it("patches changed fields, an emptied one back to the default", () => {
    const current = { display_name: "Acme", primary_color: "#0b5fff" };
    const draft = { display_name: "Acme Corp", primary_color: "#0b5fff", logo_url: "", support_email: "" };
    expect(brandingChanges(current, draft)).toEqual({ display_name: "Acme Corp" });
    expect(brandingChanges(current, { ...draft, display_name: "" })).toEqual({ display_name: null });
  });

  it("checks contrast: text colour by contrast, a darker link when needed", () => {
    const yellow = checkContrast("#ffd500");
    expect(yellow.onPrimary).toBe("#000000");
    expect(yellow.textRatio).toBeGreaterThan(10);
    expect(yellow.adjusted).toBe(true);
    const blue = checkContrast("#0b5fff");
    expect(blue.onPrimary).toBe("#ffffff");
    expect(blue.adjusted).toBe(false);
    expect(checkContrast("red").valid).toBe(false);
    expect(wcagLevel(7.1)).toBe("AAA");
    expect(wcagLevel(4.6)).toBe("AA");
    expect(wcagLevel(3)).toBe("fails");
  });
});

describe("audit pages", () => {
  it("goes older by the answer's cursor and back newer", () => {
    const second = older(FIRST_PAGE, "c1");
    const third = older(second, "c2");
    expect(auditPath(third, 20)).toBe("/config/audit?limit=20&cursor=c2");
    expect(newer(third)).toEqual(second);
    expect(auditPath(newer(second), 20)).toBe("/config/audit?limit=20");
    expect(older(third, null)).toBe(third);
    expect(describeDetails({ kind: "llm", fields: ["model", "prefix"] })).toBe("kind: llm; fields: model, prefix");
  });
});

function settingsApi() {
  let branding: Record<string, string> = { display_name: "Acme", primary_color: "#0b5fff" };
  return scriptedApi({
    "GET /config": () => ({
      body: { tenant_id: "acme", plan: "standard", providers: {}, features: { beta: false, search: true }, branding },
    }),
    "PATCH /config": (call) => {
      const changes = (call.body as { branding: Record<string, string | null> }).branding;
      if (changes.primary_color === "#12") {
        return { status: 422, body: { error: { code: "invalid_request", message: "invalid configuration", details: [{ path: "branding.primary_color", message: "string does not match" }] } } };
      }
      branding = Object.fromEntries(Object.entries({ ...branding, ...changes }).filter(([, v]) => v !== null)) as Record<string, string>;
      return { body: { tenant_id: "acme", plan: "standard", providers: {}, features: {}, branding } };
    },
    "GET /config/providers": () => ({
      body: { providers: { db: { provider: "sqlite", fields: [] }, llm: { provider: "openai", fields: [model, apiKey, house] } } },
    }),
    "PUT /config/providers/llm": () => ({ body: {} }),
    "GET /config/audit": (call) => ({
      body: call.path.includes("cursor=")
        ? { entries: [{ id: "2", actor: "root", action: "config.update", details: {}, at: "2026-12-01T10:00:00+00:00" }], cursor: null }
        : { entries: [{ id: "1", actor: "alice", action: "config.provider.update", details: { kind: "llm", fields: ["model"] }, at: "2026-12-05T10:00:00+00:00" }], cursor: "next" },
    }),
  });
}

describe("the settings page", () => {
  let page: Rendered | null = null;
  afterEach(() => page?.unmount());

  it("previews branding live, saves it and re-themes the document", async () => {
    const { api, calls } = settingsApi();
    page = await render(<Settings api={api} />);
    const { container } = page;
    await type(byLabel(container, "Primary colour"), "#ffd500");
    const preview = container.querySelector(".preview-header") as HTMLElement;
    expect(preview.style.color).toBe("rgb(0, 0, 0)"); // black text on yellow
    expect(container.querySelector('[data-testid="contrast-check"]')?.textContent).toContain("WCAG AAA");
    await submit(button(container, "Save branding")?.closest("form"));
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ branding: { primary_color: "#ffd500" } });
    expect(document.documentElement.style.getPropertyValue("--primary")).toBe("#ffd500");
    expect(document.documentElement.style.getPropertyValue("--on-primary")).toBe("#000000");
    expect(container.textContent).toContain("Branding saved.");
  });

  it("shows a refused field next to it", async () => {
    const { api } = settingsApi();
    page = await render(<Settings api={api} />);
    await type(byLabel(page.container, "Primary colour"), "#12");
    await submit(button(page.container, "Save branding")?.closest("form"));
    const input = byLabel(page.container, "Primary colour");
    expect(input?.getAttribute("aria-invalid")).toBe("true");
    expect(page.container.querySelector("#branding-primary_color-error")?.textContent).toBe("string does not match");
  });

  it("lists features read-only, edits tenant-owned provider fields and never shows a secret", async () => {
    const { api, calls } = settingsApi();
    page = await render(<Settings api={api} />);
    const { container } = page;
    expect(container.textContent).toContain("search: on");
    expect(container.querySelectorAll('input[type="checkbox"][id^="feature"]').length).toBe(0);
    expect(container.textContent).toContain("Nothing here is yours to change");
    const key = container.querySelector("#llm-api_key") as HTMLInputElement;
    expect(key.type).toBe("password");
    expect(key.value).toBe("");
    expect((container.querySelector("#llm-image_model") as HTMLInputElement).disabled).toBe(true);
    await type(container.querySelector("#llm-model"), "gpt-5");
    await type(key, SECRET);
    const auditReads = calls.filter((c) => c.path.startsWith("/config/audit")).length;
    await submit(container.querySelector('form[aria-label="Language model (openai)"]'));
    // The change is a new audit entry: the log reads again.
    expect(calls.filter((c) => c.path.startsWith("/config/audit")).length).toBe(auditReads + 1);
    expect(calls.find((c) => c.method === "PUT")).toEqual({
      method: "PUT",
      path: "/config/providers/llm",
      body: { model: "gpt-5", api_key: SECRET },
    });
    expect(container.textContent).toContain("Language model settings saved.");
    // The new key is not kept in the page once saved.
    expect((container.querySelector("#llm-api_key") as HTMLInputElement).value).toBe("");
    expect(container.innerHTML).not.toContain(SECRET);
  });

  it("pages the audit log", async () => {
    const { api } = settingsApi();
    page = await render(<Settings api={api} />);
    const { container } = page;
    expect(container.querySelector("table.audit")?.textContent).toContain("config.provider.update");
    expect(button(container, "Newer")?.disabled).toBe(true);
    await click(button(container, "Older"));
    expect(container.querySelector("table.audit")?.textContent).toContain("config.update");
    expect(button(container, "Older")?.disabled).toBe(true);
    await click(button(container, "Newer"));
    expect(container.querySelector("table.audit")?.textContent).toContain("alice");
  });
});
