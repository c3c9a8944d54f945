import { Area, AreaChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { StorageRow } from "../../lib/dashboard-data.ts";
import { formatBytes } from "../../lib/format.ts";
import { axisProps, CHART_HEIGHT, COLORS, gridProps, legendProps, tooltipProps } from "./theme.ts";

/** Bytes stored at the end of each day, stacked by status. */
export function StorageChart({ rows }: { rows: StorageRow[] }) {
  return (
    <ResponsiveContainer width="100%" height={CHART_HEIGHT}>
      <AreaChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: 4 }}>
        <CartesianGrid {...gridProps} />
        <XAxis dataKey="label" {...axisProps} minTickGap={16} />
        <YAxis {...axisProps} tickFormatter={(v: number) => formatBytes(v).replace(/ bytes?$/, " B")} width={72} />
        <Tooltip {...tooltipProps} formatter={(value) => formatBytes(Number(value))} />
        <Legend {...legendProps} />
        {(
          [
            ["clean", "Clean"],
            ["waiting", "Waiting for scan"],
            ["quarantined", "Quarantined"],
            ["failed", "Failed"],
          ] as const
        ).map(([key, name]) => (
          <Area
            key={key}
            dataKey={key}
            name={name}
            stackId="status"
            type="linear"
            stroke={COLORS[key]}
            fill={COLORS[key]}
            fillOpacity={0.35}
            isAnimationActive={false}
          />
        ))}
      </AreaChart>
    </ResponsiveContainer>
  );
}
