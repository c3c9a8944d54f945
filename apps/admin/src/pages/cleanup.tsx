import { PageHeader } from "../components/page-header.tsx";
import { EmptyState } from "../components/states.tsx";

export function CleanupPage() {
  return (
    <>
      <PageHeader
        title="Cleanup"
        description="Past and scheduled cleanup runs that reclaim abandoned, failed and long-quarantined uploads, with a dry-run preview."
      />
      <EmptyState title="No cleanup runs to show yet">
        <p>This page is not connected to the cleanup API yet.</p>
      </EmptyState>
    </>
  );
}
