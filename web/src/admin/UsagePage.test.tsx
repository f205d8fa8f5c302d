import { afterEach, describe, expect, it } from "vitest";
import { formatBytes, formatCount, labelIndexes, linearScale, niceTicks } from "./chartMath";
import { Usage } from "./UsagePage";
import { rangeDates, requestSeries, storageSeries, tokenSeries, type DayUsage, type UsageReport } from "./usage";
import { click, render, scriptedApi, settle, type, type Rendered } from "./testUtil";

function day(d: string, over: Partial<DayUsage> = {}): DayUsage {
  return {
    day: d,
    requests: 0,
    refused: 0,
    llm_calls: 0,
    input_tokens: 0,
    output_tokens: 0,
    bytes_uploaded: 0,
    bytes_downloaded: 0,
    storage_bytes: null,
    ...over,
  };
}

function report(days: DayUsage[], storage = 0): UsageReport {
  const sum = (k: keyof DayUsage) => days.reduce((a, d) => a + Number(d[k] ?? 0), 0);
  return {
    tenant_id: "acme",
    start: days[0]?.day ?? "2026-12-01",
    end: days[days.length - 1]?.day ?? "2026-12-01",
    days,
    totals: { ...day(""), day: null, requests: sum("requests"), input_tokens: sum("input_tokens"), output_tokens: sum("output_tokens") },
    storage_bytes: storage,
  };
}

describe("chart maths", () => {
  it("picks nice ticks that cover the maximum", () => {
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(niceTicks(7)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(100)).toEqual([0, 50, 100]);
    expect(niceTicks(1234).at(-1)).toBeGreaterThanOrEqual(1234);
    const ticks = niceTicks(0.3);
    expect(ticks[0]).toBe(0);
    expect(ticks.at(-1)).toBeGreaterThanOrEqual(0.3);
  });

  it("maps values linearly, a flat domain to the start", () => {
    const y = linearScale(0, 10, 200, 0);
    expect(y(0)).toBe(200);
    expect(y(5)).toBe(100);
    expect(linearScale(3, 3, 10, 50)(3)).toBe(10);
  });

  it("formats bytes and counts for people", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1234)).toBe("1.2 KB");
    expect(formatBytes(100_000_000)).toBe("100 MB");
    expect(formatCount(950)).toBe("950");
    expect(formatCount(1500)).toBe("1.5k");
    expect(formatCount(2_000_000)).toBe("2M");
  });

  it("spreads x labels, first and last included", () => {
    expect(labelIndexes(3, 7)).toEqual([0, 1, 2]);
    const spread = labelIndexes(30, 7);
    expect(spread[0]).toBe(0);
    expect(spread.at(-1)).toBe(29);
    expect(spread.length).toBe(7);
  });
});

describe("usage series", () => {
  const r = report(
    [
      day("2026-12-01", { requests: 5, refused: 1, input_tokens: 10, output_tokens: 20 }),
      day("2026-12-02", { requests: 7, storage_bytes: 1000 }),
      day("2026-12-03", { requests: 0 }),
    ],
    1500,
  );

  it("gives requests, tokens per day", () => {
    expect(requestSeries(r).series.map((s) => s.values)).toEqual([
      [5, 7, 0],
      [1, 0, 0],
    ]);
    expect(tokenSeries(r).series.map((s) => s.values)).toEqual([
      [10, 0, 0],
      [20, 0, 0],
    ]);
  });

  it("carries storage forward and ends today with the current figure", () => {
    expect(storageSeries(r, "2099-01-01").series[0]?.values).toEqual([0, 1000, 1000]);
    expect(storageSeries(r, "2026-12-03").series[0]?.values).toEqual([0, 1000, 1500]);
  });

  it("turns a range into from/to days (UTC, both included)", () => {
    const now = new Date("2026-12-05T23:30:00Z");
    expect(rangeDates("7d", now)).toEqual({ from: "2026-11-29", to: "2026-12-05" });
    expect(rangeDates("month", now)).toEqual({ from: "2026-12-01", to: "2026-12-05" });
    expect(rangeDates("30d", now).from).toBe("2026-11-06");
  });
});

describe("the usage page", () => {
  let page: Rendered | null = null;
  afterEach(() => page?.unmount());

  it("draws three charts with an accessible table each, and asks again for another range", async () => {
    const data = report(
      [day("2026-12-04", { requests: 3, input_tokens: 40, output_tokens: 2 }), day("2026-12-05", { requests: 9 })],
      2_500_000,
    );
    const { api, calls } = scriptedApi({ "GET /usage": () => ({ body: data }) });
    page = await render(<Usage api={api} now={new Date("2026-12-05T12:00:00Z")} />);
    const { container } = page;
    expect(calls[0]?.path).toBe("/usage?from=2026-11-06&to=2026-12-05");
    expect(container.querySelector("h1")?.textContent).toBe("Usage");
    const figures = Array.from(container.querySelectorAll("figure"));
    expect(figures.map((f) => f.querySelector("figcaption")?.textContent)).toEqual([
      "Requests per day",
      "LLM tokens per day",
      "Storage used",
    ]);
    expect(figures[0]?.querySelectorAll("circle").length).toBe(4); // 2 series × 2 days
    expect(figures[0]?.querySelector("svg")?.getAttribute("role")).toBe("img");
    expect(figures[0]?.querySelector("desc")?.textContent).toContain("Requests: total 12, peak 9");
    const rows = Array.from(figures[0]!.querySelectorAll("tbody tr")).map((tr) => tr.textContent);
    expect(rows).toEqual(["2026-12-0430", "2026-12-0590"]);
    expect(container.textContent).toContain("2.5 MB");
    await type(container.querySelector("#usage-range"), "7d");
    await settle();
    expect(calls.at(-1)?.path).toBe("/usage?from=2026-11-29&to=2026-12-05");
  });

  it("shows the API's error with a retry, and a 403 without one", async () => {
    let fail = true;
    const { api } = scriptedApi({
      "GET /usage": () =>
        fail
          ? { status: 503, body: { error: { code: "unavailable", message: "The service is busy." } } }
          : { body: report([day("2026-12-05")]) },
    });
    page = await render(<Usage api={api} />);
    const alert = page.container.querySelector('[role="alert"]');
    expect(alert?.textContent).toContain("The service is busy.");
    fail = false;
    await click(alert?.querySelector("button"));
    expect(page.container.querySelector('[role="alert"]')).toBeNull();
    expect(page.container.textContent).toContain("No usage recorded in this range yet.");
    page.unmount();
    const refused = scriptedApi({
      "GET /usage": () => ({ status: 403, body: { error: { code: "access_denied", message: "admins only" } } }),
    });
    page = await render(<Usage api={refused.api} />);
    expect(page.container.querySelector('[role="alert"]')?.textContent).toContain("admins only");
    expect(page.container.querySelector('[role="alert"] button')).toBeNull();
  });
});
