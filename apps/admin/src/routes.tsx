import { Navigate, Route, Routes } from "react-router";
import { AppShell } from "./components/app-shell.tsx";
import { RequireAdmin } from "./components/require-admin.tsx";
import { isAdmin, useCurrentUser } from "./lib/auth.tsx";
import { PAGES } from "./navigation.ts";
import { NotFoundPage } from "./pages/not-found.tsx";

export function AppRoutes() {
  const user = useCurrentUser();
  return (
    <Routes>
      <Route element={<AppShell />}>
        <Route index element={<Navigate to={isAdmin(user) ? "/dashboard" : "/uploads"} replace />} />
        {PAGES.map(({ path, adminOnly, Component }) => (
          <Route
            key={path}
            path={path}
            element={
              adminOnly ? (
                <RequireAdmin>
                  <Component />
                </RequireAdmin>
              ) : (
                <Component />
              )
            }
          />
        ))}
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
