import type { ReactNode } from "react";
import { Link } from "react-router";
import { isAdmin, useCurrentUser } from "../lib/auth.tsx";

/**
 * Wraps administrator pages. The API enforces the same rule (adminProcedure answers 403); this only
 * spares a non-admin a page of errors when they follow a link or type an address.
 */
export function RequireAdmin({ children }: { children: ReactNode }) {
  const user = useCurrentUser();
  if (isAdmin(user)) return children;
  return (
    <section className="forbidden" aria-labelledby="forbidden-title">
      <title>Administrators only · Airlock</title>
      <h1 id="forbidden-title">This page needs an administrator</h1>
      <p>
        You are signed in as <strong>{user.email}</strong>, whose key does not have administrator rights. Ask an administrator if you need
        access.
      </p>
      <p>
        <Link to="/uploads">Go to your uploads</Link>
      </p>
    </section>
  );
}
