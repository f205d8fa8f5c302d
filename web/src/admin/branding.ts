/** The branding form: drafts, the change it makes (`PATCH /config`), the contrast check. */
import { contrast, parseHex, themeFor } from "../theme.ts";

export interface Branding {
  display_name?: string | null;
  primary_color?: string | null;
  logo_url?: string | null;
  support_email?: string | null;
}

export const BRANDING_FIELDS = ["display_name", "primary_color", "logo_url", "support_email"] as const;
export type BrandingField = (typeof BRANDING_FIELDS)[number];

/** The `branding` of `PATCH /config`: changed fields; an emptied one is `null` (the default). */
export function brandingChanges(current: Branding, draft: Record<BrandingField, string>): Branding {
  const changes: Branding = {};
  for (const name of BRANDING_FIELDS) {
    const before = current[name] ?? "";
    const after = draft[name].trim();
    if (after !== before) changes[name] = after === "" ? null : after;
  }
  return changes;
}

/** What the draft's primary colour gives: the theme and its contrast ratios. */
export interface ContrastCheck {
  valid: boolean;
  primary: string;
  onPrimary: string;
  link: string;
  /** Text on the primary colour (button labels, the header). */
  textRatio: number;
  /** The primary colour itself as text on white (before the link colour adjusts it). */
  onWhiteRatio: number;
  /** Whether links needed a darker variant to stay readable on white. */
  adjusted: boolean;
}

export function checkContrast(colour: string): ContrastCheck {
  const rgb = parseHex(colour);
  const theme = themeFor(colour);
  const primary = parseHex(theme.primary)!;
  const white = [255, 255, 255] as [number, number, number];
  return {
    valid: rgb !== null && /^#[0-9a-f]{6}$/i.test(colour.trim()),
    ...theme,
    textRatio: contrast(primary, parseHex(theme.onPrimary)!),
    onWhiteRatio: contrast(primary, white),
    adjusted: theme.link.toLowerCase() !== theme.primary.toLowerCase(),
  };
}

/** WCAG 2 level of a text contrast ratio: AAA ≥ 7, AA ≥ 4.5, else "fails". */
export function wcagLevel(ratio: number): "AAA" | "AA" | "fails" {
  if (ratio >= 7) return "AAA";
  if (ratio >= 4.5) return "AA";
  return "fails";
}
