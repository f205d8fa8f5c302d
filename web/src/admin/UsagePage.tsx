/** Usage: requests, LLM tokens and storage over time, for the tenant's admins. */
import "./admin.css";
import { useState } from "react";
import { Chart } from "./Chart.tsx";
import { formatBytes, formatCount } from "./chartMath.ts";
import { ErrorMessage, Loading } from "../ui.tsx";
import { useLoad } from "./load.ts";
import { RANGES, rangeDates, requestSeries, storageSeries, tokenSeries } from "./usage.ts";
import type { RangeKey, UsageReport } from "./usage.ts";
import { useAdminApi, type AdminApi } from "./adminApi.ts";

export function Usage({ api, now }: { api: AdminApi; now?: Date }) {
  const [range, setRange] = useState<RangeKey>("30d");
  const { from, to } = rangeDates(range, now);
  const [report, reload] = useLoad(
    (signal) => api.get<UsageReport>(`/usage?from=${from}&to=${to}`, signal),
    [api, from, to],
  );
  return (
    <section className="admin-page">
      <h1>Usage</h1>
      <div className="toolbar">
        <label htmlFor="usage-range">Range</label>
        <select id="usage-range" value={range} onChange={(e) => setRange(e.target.value as RangeKey)}>
          {RANGES.map((r) => (
            <option key={r.key} value={r.key}>
              {r.label}
            </option>
          ))}
        </select>
        <span className="muted">
          {from} to {to} (UTC)
        </span>
      </div>
      {report.state === "loading" && <Loading label="Loading usage…" />}
      {report.state === "error" && <ErrorMessage error={report.error} onRetry={reload} />}
      {report.state === "ready" && <UsageCharts report={report.value} />}
    </section>
  );
}

export function UsageCharts({ report }: { report: UsageReport }) {
  const { totals } = report;
  const empty = totals.requests === 0 && totals.input_tokens + totals.output_tokens === 0 && report.storage_bytes === 0;
  return (
    <>
      <dl className="stat-cards">
        <div>
          <dt>Requests</dt>
          <dd>{formatCount(totals.requests)}</dd>
        </div>
        <div>
          <dt>LLM tokens</dt>
          <dd>{formatCount(totals.input_tokens + totals.output_tokens)}</dd>
        </div>
        <div>
          <dt>Storage used</dt>
          <dd>{formatBytes(report.storage_bytes)}</dd>
        </div>
      </dl>
      {empty && <p className="empty">No usage recorded in this range yet.</p>}
      <Chart title="Requests per day" data={requestSeries(report)} />
      <Chart title="LLM tokens per day" data={tokenSeries(report)} />
      <Chart title="Storage used" data={storageSeries(report)} format={formatBytes} />
    </>
  );
}

export default function UsagePage() {
  return <Usage api={useAdminApi()} />;
}
