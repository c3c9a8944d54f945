import { PageHeader } from "../components/page-header.tsx";
import { EmptyState } from "../components/states.tsx";

export function AssetsPage() {
  return (
    <>
      <PageHeader
        title="Assets"
        description="Every stored file across all users, searchable by status, type, owner and date, with its scan results."
      />
      <EmptyState title="No assets to show yet">
        <p>This page is not connected to the assets API yet.</p>
      </EmptyState>
    </>
  );
}
