import { PageHeader } from "../components/page-header.tsx";
import { EmptyState } from "../components/states.tsx";

export function AlertsPage() {
  return (
    <>
      <PageHeader
        title="Alerts"
        description="Rules watching failure rates, infections, queue backlogs and scanner health, and the alerts they have raised."
      />
      <EmptyState title="No alerts to show yet">
        <p>This page is not connected to the alerts API yet, so it cannot tell whether anything is firing.</p>
      </EmptyState>
    </>
  );
}
