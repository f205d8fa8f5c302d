/** Tenant theming: the primary colour as CSS variables, with text colours chosen by WCAG contrast. */

export type Rgb = [number, number, number];

const DEFAULT_PRIMARY = "#334155";

/** `#rgb` / `#rrggbb` → [r, g, b] (0–255); null for anything else. */
export function parseHex(colour: string | null | undefined): Rgb | null {
  const match = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec((colour ?? "").trim());
  if (!match?.[1]) return null;
  const hex = match[1].length === 3 ? [...match[1]].map((c) => c + c).join("") : match[1];
  return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)) as Rgb;
}

export function toHex([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((v) => Math.round(v).toString(16).padStart(2, "0")).join("")}`;
}

/** Relative luminance (WCAG 2.x). */
export function luminance([r, g, b]: Rgb): number {
  const channel = (v: number): number => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

/** Contrast ratio between two colours (1–21). */
export function contrast(a: Rgb, b: Rgb): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];

/** Black or white, whichever contrasts more with `background`. */
export function textOn(background: Rgb): "#000000" | "#ffffff" {
  return contrast(background, WHITE) >= contrast(background, BLACK) ? "#ffffff" : "#000000";
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [0, 1, 2].map((i) => a[i]! + (b[i]! - a[i]!) * t) as Rgb;
}

/** The primary colour darkened just enough to reach `ratio` against white (for links, outlines). */
export function readableOnWhite(colour: Rgb, ratio = 4.5): Rgb {
  if (contrast(colour, WHITE) >= ratio) return colour;
  for (let step = 1; step <= 20; step++) {
    const darker = mix(colour, BLACK, step / 20);
    if (contrast(darker, WHITE) >= ratio) return darker.map(Math.round) as Rgb;
  }
  return BLACK;
}

export interface Theme {
  primary: string;
  onPrimary: string;
  link: string;
}

/** The theme of a primary colour (a neutral one when it is not a valid hex colour). */
export function themeFor(primaryColour: string | null | undefined): Theme {
  const primary = parseHex(primaryColour) ?? (parseHex(DEFAULT_PRIMARY) as Rgb);
  return {
    primary: toHex(primary),
    onPrimary: textOn(primary),
    link: toHex(readableOnWhite(primary)),
  };
}

/** Set the theme's CSS variables on the document. */
export function applyTheme(theme: Theme, root: HTMLElement = document.documentElement): void {
  root.style.setProperty("--primary", theme.primary);
  root.style.setProperty("--on-primary", theme.onPrimary);
  root.style.setProperty("--link", theme.link);
}
