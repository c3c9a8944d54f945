import { Bar, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { OutcomeRow } from "../../lib/dashboard-data.ts";
import { formatCount } from "../../lib/format.ts";
import { axisProps, CHART_HEIGHT, COLORS, gridProps, legendProps, tooltipProps } from "./theme.ts";

/** Uploads per day: scan outcomes as stacked bars (clean, quarantined, failed), uploads started as a line. */
export function UploadsChart({ rows }: { rows: OutcomeRow[] }) {
  return (
    <ResponsiveContainer width="100%" height={CHART_HEIGHT}>
      <ComposedChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: -12 }}>
        <CartesianGrid {...gridProps} />
        <XAxis dataKey="label" {...axisProps} minTickGap={16} />
        <YAxis {...axisProps} allowDecimals={false} tickFormatter={formatCount} />
        <Tooltip {...tooltipProps} formatter={(value) => formatCount(Number(value))} />
        <Legend {...legendProps} />
        <Bar dataKey="clean" name="Clean" stackId="outcome" fill={COLORS.clean} isAnimationActive={false} />
        <Bar dataKey="quarantined" name="Quarantined" stackId="outcome" fill={COLORS.quarantined} isAnimationActive={false} />
        <Bar dataKey="failed" name="Failed" stackId="outcome" fill={COLORS.failed} radius={[3, 3, 0, 0]} isAnimationActive={false} />
        <Line
          dataKey="started"
          name="Started"
          type="linear"
          stroke={COLORS.started}
          strokeWidth={2}
          dot={false}
          isAnimationActive={false}
        />
      </ComposedChart>
    </ResponsiveContainer>
  );
}
