/**
 * One look for every chart: colours from the CSS tokens (styles.css / files.css / dashboard.css, so dark
 * mode follows), quiet axes, tabular numbers. SVG presentation attributes accept `var(--x)`.
 */
export const COLORS = {
  started: "var(--chart-neutral)",
  clean: "var(--ok)",
  quarantined: "var(--danger)",
  failed: "var(--chart-warn)",
  waiting: "var(--info)",
  avg: "var(--accent)",
  p50: "var(--chart-neutral)",
  p95: "var(--danger)",
} as const;

/** Distinct hues for categories (MIME types), in order. */
export const PALETTE = ["var(--accent)", "var(--ok)", "var(--chart-warn)", "var(--chart-violet)", "var(--info)", "var(--chart-neutral)"];

export const CHART_HEIGHT = 240;

export const axisProps = {
  stroke: "var(--border)",
  tick: { fill: "var(--muted)", fontSize: 12 },
  tickLine: false,
} as const;

export const gridProps = { stroke: "var(--border)", strokeDasharray: "3 3", vertical: false } as const;

export const tooltipProps = {
  contentStyle: {
    background: "var(--surface)",
    border: "1px solid var(--border)",
    borderRadius: 8,
    color: "var(--text)",
    fontSize: 13,
  },
  labelStyle: { color: "var(--muted)", fontWeight: 650 },
  cursor: { fill: "var(--surface-2)" },
} as const;

export const legendProps = { wrapperStyle: { fontSize: 13, color: "var(--muted)" }, iconType: "circle", iconSize: 9 } as const;
