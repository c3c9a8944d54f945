import { PageHeader } from "../components/page-header.tsx";
import { EmptyState } from "../components/states.tsx";

export function QueuesPage() {
  return (
    <>
      <PageHeader
        title="Queues"
        description="Waiting, active, delayed and failed jobs of each background queue (scan, thumbnail, notifications, webhooks, cleanup)."
      />
      <EmptyState title="No queue data yet">
        <p>This page is not connected to the queue metrics yet.</p>
      </EmptyState>
    </>
  );
}
