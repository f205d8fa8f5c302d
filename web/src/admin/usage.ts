/** The usage API's report (`GET /usage?from&to`) and the series the charts draw. */

export interface DayUsage {
  day: string | null;
  requests: number;
  refused: number;
  llm_calls: number;
  input_tokens: number;
  output_tokens: number;
  bytes_uploaded: number;
  bytes_downloaded: number;
  storage_bytes: number | null;
}

export interface UsageReport {
  tenant_id: string;
  start: string;
  end: string;
  days: DayUsage[];
  totals: DayUsage;
  storage_bytes: number;
}

export interface Series {
  label: string;
  values: number[];
}

export interface ChartData {
  labels: string[];
  series: Series[];
}

/** Requests per day (served and refused). */
export function requestSeries(report: UsageReport): ChartData {
  return {
    labels: report.days.map((d) => d.day ?? ""),
    series: [
      { label: "Requests", values: report.days.map((d) => d.requests) },
      { label: "Refused", values: report.days.map((d) => d.refused) },
    ],
  };
}

/** LLM tokens per day, input and output. */
export function tokenSeries(report: UsageReport): ChartData {
  return {
    labels: report.days.map((d) => d.day ?? ""),
    series: [
      { label: "Input tokens", values: report.days.map((d) => d.input_tokens) },
      { label: "Output tokens", values: report.days.map((d) => d.output_tokens) },
    ],
  };
}

/**
 * Storage used per day. A day without a measurement carries the last known value
 * forward (storage does not vanish overnight); days before the first measurement are 0,
 * and the report's current figure ends the series when today is in range.
 */
export function storageSeries(report: UsageReport, today: string = isoDay(new Date())): ChartData {
  let last = 0;
  const values = report.days.map((d) => {
    if (d.storage_bytes !== null && d.storage_bytes !== undefined) last = d.storage_bytes;
    if (d.day === today) last = report.storage_bytes;
    return last;
  });
  return {
    labels: report.days.map((d) => d.day ?? ""),
    series: [{ label: "Storage used", values }],
  };
}

/** `YYYY-MM-DD` of a date, in UTC (the usage API's days are UTC days). */
export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export type RangeKey = "7d" | "30d" | "month" | "90d";

export const RANGES: { key: RangeKey; label: string }[] = [
  { key: "7d", label: "Last 7 days" },
  { key: "30d", label: "Last 30 days" },
  { key: "month", label: "This month" },
  { key: "90d", label: "Last 90 days" },
];

/** The `from`/`to` query of a range ending `now` (UTC days, both included). */
export function rangeDates(key: RangeKey, now: Date = new Date()): { from: string; to: string } {
  const to = isoDay(now);
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  if (key === "month") start.setUTCDate(1);
  else start.setUTCDate(start.getUTCDate() - ({ "7d": 6, "30d": 29, "90d": 89 } as const)[key]);
  return { from: isoDay(start), to };
}
