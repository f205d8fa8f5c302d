/** The Users page's data (`/users*`) and its pure rules. */

export type UserStatus = "invited" | "active" | "disabled";

export interface User {
  user_id: string;
  email: string;
  roles: string[];
  status: UserStatus;
  display_name: string | null;
  locale: string | null;
  created_at: string;
  updated_at: string;
  last_seen: string | null;
}

export interface UserList {
  users: User[];
  cursor: string | null;
}

/** The tenant roles an admin may grant (the operator role is never a tenant's). */
export const ROLES = ["member", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** The one role the page shows for a user: admin when it has it, member otherwise. */
export function mainRole(user: Pick<User, "roles">): Role {
  return user.roles.includes("admin") ? "admin" : "member";
}

/** The roles to set for a chosen role: an admin is also a member. */
export function rolesFor(role: Role): string[] {
  return role === "admin" ? ["member", "admin"] : ["member"];
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** An error for an invitation's email, or null when it looks right. */
export function checkEmail(email: string): string | null {
  const trimmed = email.trim();
  if (trimmed === "") return "Enter an email address.";
  if (trimmed.length > 254 || !EMAIL.test(trimmed)) return "Enter an email address like name@example.com.";
  return null;
}

export type UserAction = "disable" | "enable" | "remove" | "resend";

/** What an admin may do to a user now (never to themself: disable or remove). */
export function actionsFor(user: User, me: string | null): UserAction[] {
  const actions: UserAction[] = [];
  const self = me !== null && (user.user_id === me || user.email === me);
  if (user.status === "invited") actions.push("resend");
  if (!self) actions.push(user.status === "disabled" ? "enable" : "disable", "remove");
  return actions;
}

/** The question asked before an action that hurts. */
export function confirmation(action: UserAction, user: User): string | null {
  switch (action) {
    case "remove":
      return `Remove ${user.email}? They lose access at their next sign-in or token refresh, and this cannot be undone.`;
    case "disable":
      return `Disable ${user.email}? They cannot sign in or refresh their session until enabled again.`;
    default:
      return null;
  }
}

/** The request of an action. */
export function actionRequest(action: UserAction, user: User): { method: "POST" | "DELETE"; path: string } {
  const base = `/users/${encodeURIComponent(user.user_id)}`;
  switch (action) {
    case "remove":
      return { method: "DELETE", path: base };
    case "resend":
      return { method: "POST", path: `${base}/invitation` };
    default:
      return { method: "POST", path: `${base}/${action}` };
  }
}

export const ACTION_LABELS: Record<UserAction, string> = {
  disable: "Disable",
  enable: "Enable",
  remove: "Remove",
  resend: "Resend invitation",
};
