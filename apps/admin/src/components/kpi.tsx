import type { ReactNode } from "react";

/**
 * One headline number. While its query loads it shows a skeleton; when it failed, a dash and the
 * reason in `sub` (the page shows the error in words once, above the widgets).
 */
export function Kpi({
  id,
  label,
  value,
  sub,
  tone,
  loading = false,
}: {
  id: string;
  label: string;
  value: ReactNode;
  sub?: ReactNode;
  tone?: "danger" | "ok";
  loading?: boolean;
}) {
  const labelId = `kpi-${id}`;
  return (
    <div className={`stat kpi${tone ? ` kpi-${tone}` : ""}`} data-testid={`kpi-${id}`}>
      <div className="stat-label" id={labelId}>
        {label}
      </div>
      {loading ? (
        <>
          <div className="skeleton skeleton-value" aria-hidden="true" />
          <span className="visually-hidden">Loading…</span>
        </>
      ) : (
        <>
          <div className="stat-value" data-testid={`kpi-${id}-value`}>
            {value}
          </div>
          {sub ? <div className="stat-sub">{sub}</div> : null}
        </>
      )}
    </div>
  );
}

export function KpiGrid({ children }: { children: ReactNode }) {
  return (
    <section className="stat-grid kpi-grid" aria-label="Key figures">
      {children}
    </section>
  );
}
