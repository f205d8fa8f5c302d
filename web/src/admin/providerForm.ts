/**
 * The tenant-owned provider fields (`GET /config/providers`) as form inputs, and the
 * change a form makes (`PUT /config/providers/{kind}`). No DOM.
 */

export type JsonSchema = {
  type?: string | string[];
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  title?: string;
  default?: unknown;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  format?: string;
};

export interface ProviderField {
  name: string;
  schema: JsonSchema;
  description: string | null;
  secret: boolean;
  editable: boolean;
  /** The current value (absent for a secret). */
  value?: unknown;
  /** Whether a secret has a value (only for a secret). */
  set?: boolean;
}

export interface ProviderFields {
  provider: string;
  fields: ProviderField[];
}

export type ProvidersAnswer = { providers: Record<string, ProviderFields> };

export type InputKind =
  | { kind: "text"; nullable: boolean }
  | { kind: "number"; integer: boolean; nullable: boolean }
  | { kind: "boolean" }
  | { kind: "choice"; options: string[]; nullable: boolean }
  | { kind: "json"; nullable: boolean };

/** The input a field's schema calls for (a nullable field may be left empty). */
export function inputKind(schema: JsonSchema): InputKind {
  const variants = schema.anyOf ?? [schema];
  const nullable = variants.some((v) => v.type === "null") || (Array.isArray(schema.type) && schema.type.includes("null"));
  const main = variants.find((v) => v.type !== "null") ?? schema;
  const type = Array.isArray(main.type) ? main.type.find((t) => t !== "null") : main.type;
  if (main.enum && main.enum.every((e) => typeof e === "string")) {
    return { kind: "choice", options: main.enum as string[], nullable };
  }
  if (type === "string") return { kind: "text", nullable };
  if (type === "integer" || type === "number") return { kind: "number", integer: type === "integer", nullable };
  if (type === "boolean") return { kind: "boolean" };
  return { kind: "json", nullable };
}

/** The text an input shows for a value. */
export function displayValue(field: ProviderField): string {
  if (field.secret) return "";
  const value = field.value;
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** The value an input's text stands for, or an error naming what is wrong. */
export function parseInput(field: ProviderField, text: string): { value: unknown } | { error: string } {
  const input = inputKind(field.schema);
  const trimmed = text.trim();
  if (trimmed === "" && input.kind !== "boolean") {
    if (field.secret) return { value: undefined }; // left empty: unchanged
    return { value: null }; // back to the default
  }
  switch (input.kind) {
    case "text":
      return { value: text };
    case "choice":
      return input.options.includes(trimmed) ? { value: trimmed } : { error: `choose one of ${input.options.join(", ")}` };
    case "number": {
      const number = Number(trimmed);
      if (!Number.isFinite(number)) return { error: "must be a number" };
      if (input.integer && !Number.isInteger(number)) return { error: "must be a whole number" };
      return { value: number };
    }
    case "boolean":
      return { value: trimmed === "true" };
    case "json":
      try {
        return { value: JSON.parse(trimmed) as unknown };
      } catch {
        return { error: "must be valid JSON" };
      }
  }
}

/**
 * The body of `PUT /config/providers/{kind}`: the fields whose input changed, or the
 * errors of inputs that do not parse. A secret left empty is not sent (unchanged);
 * `clear` lists secrets to remove.
 */
export function providerChanges(
  fields: ProviderField[],
  drafts: Record<string, string>,
  clear: ReadonlySet<string> = new Set(),
): { changes: Record<string, unknown>; errors: Record<string, string> } {
  const changes: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    if (!field.editable) continue;
    if (field.secret && clear.has(field.name)) {
      changes[field.name] = null;
      continue;
    }
    const draft = drafts[field.name];
    if (draft === undefined || (!field.secret && draft === displayValue(field))) continue;
    const parsed = parseInput(field, draft);
    if ("error" in parsed) errors[field.name] = parsed.error;
    else if (parsed.value !== undefined) changes[field.name] = parsed.value;
  }
  return { changes, errors };
}

/** Field errors of a 422/403 answer (`details: [{path: "llm.model", message}]`) by field name. */
export function fieldErrors(kind: string, details: unknown): Record<string, string> {
  const found: Record<string, string> = {};
  if (!Array.isArray(details)) return found;
  for (const item of details) {
    if (item && typeof item === "object") {
      const { path, message } = item as { path?: unknown; message?: unknown };
      if (typeof path === "string" && path.startsWith(`${kind}.`)) {
        found[path.slice(kind.length + 1)] = typeof message === "string" ? message : "invalid";
      }
    }
  }
  return found;
}

/** A field's name for people: `embedding_model` → `Embedding model`. */
export function fieldLabel(name: string): string {
  const words = name
    .split("_")
    .map((word) => (ACRONYMS.has(word) ? word.toUpperCase() : word))
    .join(" ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const ACRONYMS = new Set(["api", "url", "id", "llm", "sas", "dsn"]);
