/**
 * The frame of every signed-in screen, in Quay's information architecture: repositories,
 * organizations, the superuser panel (superusers only), the notification bell and the account menu.
 * Later issues add their sections (builds, security results, admissions, shared links) to NAV.
 */
import { lazy, Suspense, useState } from "react";
import { Link, navigate, useLocation } from "../router";
import { useSession } from "../session";
import { GlobalMessages } from "./GlobalMessages";

const NotificationBell = lazy(() => import("../pages/account/NotificationBell"));

interface NavItem {
  to: string;
  label: string;
  /** Path prefixes that mark the item current. */
  prefixes: string[];
  superuserOnly?: boolean;
}

const NAV: NavItem[] = [
  { to: "/repository/", label: "Repositories", prefixes: ["/repository"] },
  { to: "/organization/", label: "Organizations", prefixes: ["/organization"] },
  { to: "/superuser", label: "Superuser", prefixes: ["/superuser"], superuserOnly: true },
];

export function Layout({ children }: { children: React.ReactNode }) {
  const { user, signOut } = useSession();
  const location = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  return (
    <div className="app">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="topbar">
        <Link to={user ? "/repository/" : "/signin"} className="brand">
          <img src="/favicon.svg" alt="" width={24} height={24} />
          <span>Wharf</span>
        </Link>
        {user ? (
          <nav aria-label="Main" className="mainnav">
            {NAV.filter((item) => !item.superuserOnly || user.super_user).map((item) => {
              const current = item.prefixes.some((p) => location.pathname.startsWith(p));
              return (
                <Link key={item.to} to={item.to} aria-current={current ? "page" : undefined}>
                  {item.label}
                </Link>
              );
            })}
          </nav>
        ) : null}
        <div className="topbar-end">
          {user ? (
            <>
              <Suspense fallback={null}>
                <NotificationBell />
              </Suspense>
              <div className="usermenu">
                <button
                  type="button"
                  className="btn-plain"
                  aria-haspopup="true"
                  aria-expanded={menuOpen}
                  onClick={() => setMenuOpen((open) => !open)}
                >
                  {user.username}
                </button>
                {menuOpen ? (
                  <ul className="menu">
                    <li>
                      <Link to={`/user/${encodeURIComponent(user.username)}`} onClick={() => setMenuOpen(false)}>
                        Account settings
                      </Link>
                    </li>
                    <li>
                      <button
                        type="button"
                        className="btn-plain"
                        onClick={async () => {
                          setMenuOpen(false);
                          await signOut();
                          navigate("/signin");
                        }}
                      >
                        Sign out
                      </button>
                    </li>
                  </ul>
                ) : null}
              </div>
            </>
          ) : (
            <Link to="/signin">Sign in</Link>
          )}
        </div>
      </header>
      <main id="main" className="content">
        <GlobalMessages />
        {children}
      </main>
    </div>
  );
}

/** A screen's title row: the heading, a breadcrumb trail and actions. */
export function PageHeader({
  title,
  crumbs,
  actions,
}: {
  title: React.ReactNode;
  crumbs?: { to: string; label: string }[];
  actions?: React.ReactNode;
}) {
  return (
    <div className="page-header">
      {crumbs?.length ? (
        <nav aria-label="Breadcrumb" className="crumbs">
          {crumbs.map((c) => (
            <span key={c.to}>
              <Link to={c.to}>{c.label}</Link> /{" "}
            </span>
          ))}
        </nav>
      ) : null}
      <div className="page-header-row">
        <h1>{title}</h1>
        {actions ? <div className="page-actions">{actions}</div> : null}
      </div>
    </div>
  );
}
