import type { ReactNode } from "react";

/** The top of every page: its title (also the document title) and one sentence on what it is for. */
export function PageHeader({ title, description, actions }: { title: string; description: string; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <title>{`${title} · Airlock`}</title>
      <div>
        <h1>{title}</h1>
        <p className="page-description">{description}</p>
      </div>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </header>
  );
}
