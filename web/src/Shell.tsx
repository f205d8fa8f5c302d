/** The page frame: the tenant's banner, navigation by role, and the page. */
import { useEffect, useRef } from "react";
import type { ReactNode } from "react";
import { NavLink, Outlet, useLocation } from "react-router";
import { useSession } from "./session.tsx";

interface NavItem {
  to: string;
  label: string;
}

/** The navigation a person sees: members never see the admin pages; operators see Operator. */
export function navItems(options: { tenant: string | null; isAdmin: boolean; isOperator: boolean }): NavItem[] {
  const items: NavItem[] = [];
  if (options.tenant !== null) {
    items.push({ to: "/chat", label: "Chat" }, { to: "/files", label: "Files" });
    if (options.isAdmin) {
      items.push({ to: "/usage", label: "Usage" }, { to: "/settings", label: "Settings" }, { to: "/users", label: "Users" });
    }
  }
  if (options.isOperator) items.push({ to: "/operator", label: "Operator" });
  if (options.tenant !== null) items.push({ to: "/profile", label: "Profile" });
  return items;
}

export function Shell(): ReactNode {
  const { branding, claims, isAdmin, isOperator, signOut, config } = useSession();
  const items = navItems({ tenant: claims.tenant, isAdmin, isOperator });
  // Moving to another page puts the keyboard focus at its start (not within a page:
  // starting a conversation changes the address while the person types).
  const section = useLocation().pathname.split("/")[1] ?? "";
  const main = useRef<HTMLElement | null>(null);
  const previous = useRef(section);
  useEffect(() => {
    if (previous.current !== section) main.current?.focus();
    previous.current = section;
  }, [section]);
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="banner" role="banner">
        <div className="brand">
          {branding.logo_url && <img className="logo" src={branding.logo_url} alt="" />}
          <span className="tenant-name">{branding.display_name}</span>
          {config.local && <span className="badge">local</span>}
        </div>
        <nav aria-label="Main">
          <ul>
            {items.map((item) => (
              <li key={item.to}>
                <NavLink to={item.to}>{item.label}</NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="account">
          <span className="who">{claims.email ?? claims.sub}</span>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1} ref={main}>
        <Outlet />
      </main>
    </>
  );
}
