import { PageHeader } from "../components/page-header.tsx";
import { EmptyState } from "../components/states.tsx";

export function DashboardPage() {
  return (
    <>
      <PageHeader title="Dashboard" description="Upload volume, scan outcomes, scan times and queue health at a glance, updated live." />
      <EmptyState title="No metrics to show yet">
        <p>This page is not connected to the analytics API yet; real numbers will appear here once it is.</p>
      </EmptyState>
    </>
  );
}
