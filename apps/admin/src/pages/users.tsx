import { useQuery } from "@tanstack/react-query";
import { PageHeader } from "../components/page-header.tsx";
import { RoleBadge } from "../components/role-badge.tsx";
import { EmptyState, ErrorState, LoadingState } from "../components/states.tsx";
import { useTRPC } from "../lib/trpc.ts";

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const numberFormat = new Intl.NumberFormat();

export function UsersPage() {
  const trpc = useTRPC();
  const users = useQuery(trpc.admin.users.list.queryOptions());

  return (
    <>
      <PageHeader
        title="Users"
        description="Everyone who can sign in with an API key, their role and how many files they own."
        actions={users.data ? <span className="count">{`${numberFormat.format(users.data.length)} users`}</span> : null}
      />
      {users.isPending ? (
        <LoadingState label="Loading users…" />
      ) : users.isError ? (
        <ErrorState error={users.error} title="Could not load the users" onRetry={() => void users.refetch()} />
      ) : users.data.length === 0 ? (
        <EmptyState title="No users yet" />
      ) : (
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">Users</caption>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col" className="numeric">
                  Assets
                </th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {users.data.map((user) => (
                <tr key={user.id}>
                  <td>
                    <span className="cell-primary">{user.email}</span>
                    {user.name ? <span className="cell-secondary">{user.name}</span> : null}
                  </td>
                  <td>
                    <RoleBadge role={user.role} />
                  </td>
                  <td className="numeric">{numberFormat.format(user._count.assets)}</td>
                  <td>
                    <time dateTime={new Date(user.createdAt).toISOString()}>{dateFormat.format(new Date(user.createdAt))}</time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
