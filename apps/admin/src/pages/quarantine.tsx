import { PageHeader } from "../components/page-header.tsx";
import { EmptyState } from "../components/states.tsx";

export function QuarantinePage() {
  return (
    <>
      <PageHeader
        title="Quarantine"
        description="Files held back because a scanner found a threat or could not scan them, with the threat names and the security events."
      />
      <EmptyState title="Nothing to show yet">
        <p>This page is not connected to the quarantine API yet, so it cannot tell whether any file is quarantined.</p>
      </EmptyState>
    </>
  );
}
