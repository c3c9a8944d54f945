import type { CurrentUser } from "../lib/auth.tsx";

const LABELS: Record<CurrentUser["role"], string> = { ADMIN: "Administrator", USER: "User" };

export function RoleBadge({ role }: { role: CurrentUser["role"] }) {
  return <span className={`badge badge-${role.toLowerCase()}`}>{LABELS[role]}</span>;
}
