import { NavLink, Outlet, useNavigate } from "react-router";
import { authStore, useCurrentUser } from "../lib/auth.tsx";
import { groupPages, pagesFor } from "../navigation.ts";
import { AlertBadge } from "./alert-badge.tsx";
import { NotificationBell } from "./notification-bell.tsx";
import { RoleBadge } from "./role-badge.tsx";

/** Header (product, who is signed in, logout), the navigation, and the current page. */
export function AppShell() {
  const user = useCurrentUser();
  const navigate = useNavigate();
  const groups = groupPages(pagesFor(user));

  function logout() {
    // The next person to sign in starts from their own start page, not from this address.
    void navigate("/", { replace: true });
    authStore.signOut();
  }

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/" className="brand" aria-label="Airlock, start page">
          <span className="brand-mark" aria-hidden="true" />
          <span>Airlock</span>
        </NavLink>
        <div className="session" data-testid="session">
          {user.role === "ADMIN" ? <AlertBadge /> : null}
          <NotificationBell />
          <span className="session-email">{user.email}</span>
          <RoleBadge role={user.role} />
          <button type="button" className="button button-quiet" onClick={logout}>
            Log out
          </button>
        </div>
      </header>
      <nav className="sidebar" aria-label="Main">
        {groups.map(([group, pages]) => (
          <div className="nav-group" key={group}>
            <p className="nav-group-title" aria-hidden="true">
              {group}
            </p>
            <ul>
              {pages.map((page) => (
                <li key={page.path}>
                  <NavLink to={`/${page.path}`} className="nav-link">
                    {page.label}
                  </NavLink>
                </li>
              ))}
            </ul>
          </div>
        ))}
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
