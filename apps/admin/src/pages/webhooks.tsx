import { PageHeader } from "../components/page-header.tsx";
import { EmptyState } from "../components/states.tsx";

export function WebhooksPage() {
  return (
    <>
      <PageHeader title="Webhooks" description="Endpoints that receive signed event notifications, and the delivery history of each." />
      <EmptyState title="No webhooks to show yet">
        <p>This page is not connected to the webhooks API yet.</p>
      </EmptyState>
    </>
  );
}
