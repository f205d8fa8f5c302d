/**
 * A small dependency-free SVG chart: one line per series over days, with a y axis of
 * "nice" ticks, x labels, a legend, and the same numbers as a table for screen readers
 * and for anyone who would rather read (a "Show table" toggle).
 */
import { useId, useState } from "react";
import { formatCount, labelIndexes, linearScale, niceTicks, shortDay } from "./chartMath.ts";
import type { ChartData } from "./usage.ts";

export interface ChartProps {
  title: string;
  data: ChartData;
  /** Formats a value for the axis, tooltips and table (default: counts, 1.2k). */
  format?: (value: number) => string;
  width?: number;
  height?: number;
}

/** Series colours: distinguishable, and dark enough (≥ 3:1) on white for graphics. */
export const SERIES_COLOURS = ["#1f5fbf", "#b3541e", "#2e7d32", "#6a3fa0"];

const MARGIN = { top: 12, right: 16, bottom: 28, left: 56 };

export function Chart({ title, data, format = formatCount, width = 640, height = 220 }: ChartProps) {
  const id = useId();
  const [showTable, setShowTable] = useState(false);
  const n = data.labels.length;
  const max = Math.max(0, ...data.series.flatMap((s) => s.values));
  const ticks = niceTicks(max);
  const top = ticks[ticks.length - 1] ?? 1;
  const x = linearScale(0, Math.max(1, n - 1), MARGIN.left, width - MARGIN.right);
  const y = linearScale(0, top, height - MARGIN.bottom, MARGIN.top);
  const summary = data.series
    .map((s) => `${s.label}: total ${format(s.values.reduce((a, b) => a + b, 0))}, peak ${format(Math.max(0, ...s.values))}`)
    .join("; ");
  return (
    <figure className="chart" aria-labelledby={`${id}-title`}>
      <figcaption id={`${id}-title`} className="chart-title">
        {title}
      </figcaption>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-labelledby={`${id}-title ${id}-desc`}
        className="chart-svg"
        preserveAspectRatio="xMidYMid meet"
      >
        <desc id={`${id}-desc`}>{n === 0 ? "No data in this range." : summary}</desc>
        <g className="chart-y-axis" aria-hidden="true">
          {ticks.map((t) => (
            <g key={t}>
              <line x1={MARGIN.left} x2={width - MARGIN.right} y1={y(t)} y2={y(t)} stroke="#d0d4da" strokeWidth={1} />
              <text x={MARGIN.left - 6} y={y(t)} textAnchor="end" dominantBaseline="middle" fontSize={11} fill="#3c4149">
                {format(t)}
              </text>
            </g>
          ))}
        </g>
        <g className="chart-x-axis" aria-hidden="true">
          <line x1={MARGIN.left} x2={width - MARGIN.right} y1={y(0)} y2={y(0)} stroke="#3c4149" strokeWidth={1} />
          {labelIndexes(n, 7).map((i) => (
            <text key={i} x={x(i)} y={height - 8} textAnchor="middle" fontSize={11} fill="#3c4149">
              {shortDay(data.labels[i] ?? "")}
            </text>
          ))}
        </g>
        {data.series.map((s, index) => {
          const colour = SERIES_COLOURS[index % SERIES_COLOURS.length];
          const points = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
          return (
            <g key={s.label} className="chart-series" data-series={s.label} aria-hidden="true">
              {n > 1 && <polyline points={points} fill="none" stroke={colour} strokeWidth={2} />}
              {s.values.map((v, i) => (
                <circle key={i} cx={x(i)} cy={y(v)} r={n > 40 ? 1.5 : 3} fill={colour}>
                  <title>{`${data.labels[i]}: ${s.label} ${format(v)}`}</title>
                </circle>
              ))}
            </g>
          );
        })}
      </svg>
      <ul className="chart-legend">
        {data.series.map((s, index) => (
          <li key={s.label}>
            <span
              className="chart-swatch"
              aria-hidden="true"
              style={{ background: SERIES_COLOURS[index % SERIES_COLOURS.length] }}
            />
            {s.label}
          </li>
        ))}
      </ul>
      <button type="button" className="link-button" aria-expanded={showTable} aria-controls={`${id}-table`} onClick={() => setShowTable(!showTable)}>
        {showTable ? `Hide table` : `Show table`}
        <span className="visually-hidden"> of {title}</span>
      </button>
      <div id={`${id}-table`} className={showTable ? "chart-table" : "chart-table visually-hidden"}>
        <table>
          <caption>{title}</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              {data.series.map((s) => (
                <th scope="col" key={s.label}>
                  {s.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {data.labels.map((label, i) => (
              <tr key={label || i}>
                <th scope="row">{label}</th>
                {data.series.map((s) => (
                  <td key={s.label}>{format(s.values[i] ?? 0)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}
