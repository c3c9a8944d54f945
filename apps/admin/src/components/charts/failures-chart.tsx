import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { ReasonRow } from "../../lib/dashboard-data.ts";
import { formatCount } from "../../lib/format.ts";
import { axisProps, CHART_HEIGHT, COLORS, gridProps, legendProps, tooltipProps } from "./theme.ts";

interface Row {
  reason: string;
  failed: number;
  quarantined: number;
}

/** Folds the (kind, reason) rows into one bar per reason, most frequent first. */
function byReason(rows: ReasonRow[]): Row[] {
  const map = new Map<string, Row>();
  for (const r of rows) {
    const row = map.get(r.reason) ?? { reason: r.reason, failed: 0, quarantined: 0 };
    if (r.kind === "Failed") row.failed += r.count;
    else row.quarantined += r.count;
    map.set(r.reason, row);
  }
  return [...map.values()].sort((a, b) => b.failed + b.quarantined - (a.failed + a.quarantined));
}

/** Threat names run long ("Win.Test.EICAR_HDB-1.UNOFFICIAL"): the axis shows the start, the tooltip all. */
function shorten(reason: string): string {
  return reason.length > 28 ? `${reason.slice(0, 27)}…` : reason;
}

/** Failed uploads and quarantines by reason (failure code or threat name): horizontal bars. */
export function FailuresChart({ rows }: { rows: ReasonRow[] }) {
  const data = byReason(rows).slice(0, 8);
  return (
    <ResponsiveContainer width="100%" height={Math.max(CHART_HEIGHT, 40 + data.length * 32)}>
      <BarChart data={data} layout="vertical" margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
        <CartesianGrid {...gridProps} vertical horizontal={false} />
        <XAxis type="number" {...axisProps} allowDecimals={false} tickFormatter={formatCount} />
        <YAxis type="category" dataKey="reason" {...axisProps} width={190} interval={0} tickFormatter={shorten} />
        <Tooltip {...tooltipProps} formatter={(value) => formatCount(Number(value))} />
        <Legend {...legendProps} />
        <Bar dataKey="quarantined" name="Quarantined" stackId="kind" fill={COLORS.quarantined} maxBarSize={28} isAnimationActive={false} />
        <Bar
          dataKey="failed"
          name="Failed"
          stackId="kind"
          fill={COLORS.failed}
          radius={[0, 3, 3, 0]}
          maxBarSize={28}
          isAnimationActive={false}
        />
      </BarChart>
    </ResponsiveContainer>
  );
}
