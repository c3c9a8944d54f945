import { useQuery } from "@tanstack/react-query";
import { NavLink } from "react-router";
import { useTRPC } from "../lib/trpc.ts";

/** Header badge for administrators: how many alerts fire now, linking to the Alerts page. */
export function AlertBadge() {
  const trpc = useTRPC();
  const firing = useQuery({ ...trpc.alerts.firingCount.queryOptions(), refetchInterval: 30_000 });
  if (!firing.data) return null;
  return (
    <NavLink to="/alerts" className="badge badge-danger" aria-label={`${firing.data} alert${firing.data === 1 ? "" : "s"} firing`}>
      {firing.data} firing
    </NavLink>
  );
}
