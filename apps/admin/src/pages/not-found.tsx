import { Link } from "react-router";
import { PageHeader } from "../components/page-header.tsx";

export function NotFoundPage() {
  return (
    <>
      <PageHeader title="Page not found" description="There is no page at this address." />
      <p>
        <Link to="/">Back to the start page</Link>
      </p>
    </>
  );
}
