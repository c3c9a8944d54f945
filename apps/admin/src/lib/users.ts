import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "./trpc.ts";

/** Owner id → email for administrator tables (one cached `admin.users.list`). */
export function useUsers() {
  const trpc = useTRPC();
  const users = useQuery(trpc.admin.users.list.queryOptions(undefined, { staleTime: 60_000 }));
  const emails = new Map((users.data ?? []).map((u) => [u.id, u.email]));
  return { users: users.data ?? [], emailOf: (id: string) => emails.get(id) ?? `${id.slice(0, 8)}…` };
}
