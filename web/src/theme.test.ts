import { describe, expect, it } from "vitest";
import { contrast, parseHex, readableOnWhite, textOn, themeFor } from "./theme.ts";

describe("theme", () => {
  it("parses short and long hex colours and refuses anything else", () => {
    expect(parseHex("#0b5fff")).toEqual([11, 95, 255]);
    expect(parseHex("#fff")).toEqual([255, 255, 255]);
    expect(parseHex("red")).toBeNull();
    expect(parseHex("#12345")).toBeNull();
    expect(parseHex("url(javascript:x)")).toBeNull();
  });

  it("computes WCAG contrast ratios", () => {
    expect(contrast([0, 0, 0], [255, 255, 255])).toBeCloseTo(21, 5);
    expect(contrast([255, 255, 255], [255, 255, 255])).toBeCloseTo(1, 5);
    // WCAG's example: #777777 on white is about 4.48
    expect(contrast([0x77, 0x77, 0x77], [255, 255, 255])).toBeCloseTo(4.48, 2);
  });

  it("picks the text colour on primary by contrast, for the demo colours and extremes", () => {
    expect(textOn(parseHex("#0b5fff")!)).toBe("#ffffff");
    expect(textOn(parseHex("#b3261e")!)).toBe("#ffffff");
    expect(textOn(parseHex("#2e7d32")!)).toBe("#ffffff");
    expect(textOn(parseHex("#ffeb3b")!)).toBe("#000000");
    expect(textOn(parseHex("#ffffff")!)).toBe("#000000");
    for (const colour of ["#0b5fff", "#b3261e", "#2e7d32", "#ffeb3b", "#00ffff", "#808080"]) {
      const rgb = parseHex(colour)!;
      const text = parseHex(textOn(rgb))!;
      expect(contrast(rgb, text)).toBeGreaterThanOrEqual(4.5);
    }
  });

  it("darkens a light primary until links on white reach 4.5:1", () => {
    const yellow = parseHex("#ffeb3b")!;
    const link = readableOnWhite(yellow);
    expect(contrast(link, [255, 255, 255])).toBeGreaterThanOrEqual(4.5);
    expect(readableOnWhite(parseHex("#0b5fff")!)).toEqual(parseHex("#0b5fff"));
  });

  it("falls back to a neutral theme for an invalid colour", () => {
    const theme = themeFor("not a colour");
    expect(theme.primary).toMatch(/^#[0-9a-f]{6}$/);
    expect(theme.onPrimary).toBe("#ffffff");
    expect(themeFor(null).primary).toBe(theme.primary);
  });
});
