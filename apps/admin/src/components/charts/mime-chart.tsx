import { Cell, Pie, PieChart, ResponsiveContainer, Tooltip } from "recharts";
import { formatPercent, type Slice } from "../../lib/dashboard-data.ts";
import { formatCount } from "../../lib/format.ts";
import { CHART_HEIGHT, PALETTE, tooltipProps } from "./theme.ts";

/** Confirmed uploads by type: a donut, and beside it the same numbers as a list (the legend). */
export function MimeChart({ slices }: { slices: Slice[] }) {
  return (
    <div className="chart-with-legend">
      <ResponsiveContainer width="50%" height={CHART_HEIGHT}>
        <PieChart>
          <Pie
            data={slices}
            dataKey="value"
            nameKey="name"
            innerRadius="55%"
            outerRadius="85%"
            paddingAngle={slices.length > 1 ? 1 : 0}
            stroke="var(--surface)"
            isAnimationActive={false}
          >
            {slices.map((slice, i) => (
              <Cell key={slice.name} fill={PALETTE[i % PALETTE.length]} />
            ))}
          </Pie>
          <Tooltip {...tooltipProps} formatter={(value) => formatCount(Number(value))} />
        </PieChart>
      </ResponsiveContainer>
      <ul className="chart-legend" aria-label="Confirmed uploads by type">
        {slices.map((slice, i) => (
          <li key={slice.name} data-mime={slice.name}>
            <span className="legend-swatch" style={{ background: PALETTE[i % PALETTE.length] }} aria-hidden="true" />
            <span className="legend-name">{slice.name}</span>
            <span className="legend-value">{formatCount(slice.value)}</span>
            <span className="legend-share">{formatPercent(slice.share)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
