import { PageHeader } from "../components/page-header.tsx";
import { EmptyState } from "../components/states.tsx";

export function UploadsPage() {
  return (
    <>
      <PageHeader
        title="Uploads"
        description="Upload files and follow each one from transfer through malware scanning to clean or quarantined."
      />
      <EmptyState title="No uploads to show yet">
        <p>The upload widget and the list of your files arrive with the upload API.</p>
      </EmptyState>
    </>
  );
}
