import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { ScanRow } from "../../lib/dashboard-data.ts";
import { formatDuration } from "../../lib/format.ts";
import { axisProps, CHART_HEIGHT, COLORS, gridProps, legendProps, tooltipProps } from "./theme.ts";

/** Scan time per day: average, p50 and p95 (estimated from the histogram). Days without scans leave gaps. */
export function ScanTimeChart({ rows }: { rows: ScanRow[] }) {
  return (
    <ResponsiveContainer width="100%" height={CHART_HEIGHT}>
      <LineChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: 4 }}>
        <CartesianGrid {...gridProps} />
        <XAxis dataKey="label" {...axisProps} minTickGap={16} />
        <YAxis {...axisProps} tickFormatter={(v: number) => formatDuration(v)} width={64} />
        <Tooltip {...tooltipProps} formatter={(value) => formatDuration(value == null ? null : Number(value))} />
        <Legend {...legendProps} />
        <Line
          dataKey="avgMs"
          name="Average"
          stroke={COLORS.avg}
          strokeWidth={2}
          dot={{ r: 2.5 }}
          connectNulls={false}
          isAnimationActive={false}
        />
        <Line dataKey="p50Ms" name="p50" stroke={COLORS.p50} strokeDasharray="4 3" dot={{ r: 2.5 }} isAnimationActive={false} />
        <Line dataKey="p95Ms" name="p95" stroke={COLORS.p95} strokeWidth={2} dot={{ r: 2.5 }} isAnimationActive={false} />
      </LineChart>
    </ResponsiveContainer>
  );
}
