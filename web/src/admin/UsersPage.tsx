/** Users of the tenant, for its admins: list, invite, change role, disable/enable, remove, resend. */
import "./admin.css";
import { useState, type FormEvent } from "react";
import { useAdminApi, type AdminApi } from "./adminApi.ts";
import { ConfirmDialog } from "../ConfirmDialog.tsx";
import { useLoad } from "./load.ts";
import { ErrorMessage, Loading } from "../ui.tsx";
import {
  ACTION_LABELS,
  actionRequest,
  actionsFor,
  checkEmail,
  confirmation,
  mainRole,
  ROLES,
  rolesFor,
  type Role,
  type User,
  type UserAction,
  type UserList,
} from "./users.ts";

async function allUsers(api: AdminApi, signal: AbortSignal): Promise<{ users: User[]; me: string | null }> {
  const users: User[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `?limit=100&cursor=${encodeURIComponent(cursor)}` : "?limit=100";
    const page: UserList = await api.get<UserList>(`/users${query}`, signal);
    users.push(...page.users);
    cursor = page.cursor;
  } while (cursor && users.length < 2000);
  const me = await api.get<{ user_id: string }>("/users/me", signal).then(
    (u) => u.user_id,
    () => null,
  );
  return { users, me };
}

export function Users({ api }: { api: AdminApi }) {
  const [list, reload] = useLoad((signal) => allUsers(api, signal), [api]);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [pending, setPending] = useState<{ action: UserAction; user: User } | null>(null);

  async function run(action: UserAction, user: User) {
    setPending(null);
    setError(null);
    const { method, path } = actionRequest(action, user);
    try {
      if (method === "DELETE") await api.delete(path);
      else await api.post(path);
      setNotice(
        {
          remove: `${user.email} was removed.`,
          disable: `${user.email} was disabled.`,
          enable: `${user.email} was enabled.`,
          resend: `The invitation to ${user.email} was sent again.`,
        }[action],
      );
      reload();
    } catch (e) {
      setError(e);
    }
  }

  async function changeRole(user: User, role: Role) {
    setError(null);
    try {
      await api.put(`/users/${encodeURIComponent(user.user_id)}/roles`, { roles: rolesFor(role) });
      setNotice(`${user.email} is now ${role === "admin" ? "an admin" : "a member"} (from their next sign-in or refresh).`);
      reload();
    } catch (e) {
      setError(e);
    }
  }

  return (
    <section className="admin-page">
      <h1>Users</h1>
      <InviteForm
        api={api}
        onInvited={(email) => {
          setNotice(`An invitation was sent to ${email}.`);
          reload();
        }}
      />
      <div aria-live="polite">{notice && <p role="status">{notice}</p>}</div>
      {error !== null && <ErrorMessage error={error} />}
      {list.state === "loading" && <Loading label="Loading users…" />}
      {list.state === "error" && <ErrorMessage error={list.error} onRetry={reload} />}
      {list.state === "ready" && list.value.users.length === 0 && <p className="empty">No users yet: invite someone.</p>}
      {list.state === "ready" && list.value.users.length > 0 && (
        <table className="users">
          <caption>Users of your organisation</caption>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col">Last seen</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.value.users.map((user) => {
              const self = user.user_id === list.value.me;
              return (
                <tr key={user.user_id}>
                  <th scope="row">
                    {user.email}
                    {self && <span className="muted"> (you)</span>}
                  </th>
                  <td>{user.display_name ?? ""}</td>
                  <td>
                    <select
                      aria-label={`Role of ${user.email}`}
                      value={mainRole(user)}
                      disabled={self}
                      onChange={(e) => void changeRole(user, e.target.value as Role)}
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>
                    <span className={`badge badge-${user.status}`}>{user.status}</span>
                  </td>
                  <td>{user.last_seen ? user.last_seen.slice(0, 16).replace("T", " ") : "never"}</td>
                  <td className="actions">
                    {actionsFor(user, list.value.me).map((action) => (
                      <button
                        key={action}
                        type="button"
                        className={action === "remove" ? "danger" : undefined}
                        aria-label={`${ACTION_LABELS[action]} ${user.email}`}
                        onClick={() => (confirmation(action, user) ? setPending({ action, user }) : void run(action, user))}
                      >
                        {ACTION_LABELS[action]}
                      </button>
                    ))}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {pending && (
        <ConfirmDialog
          message={confirmation(pending.action, pending.user) ?? ""}
          confirmLabel={ACTION_LABELS[pending.action]}
          onConfirm={() => void run(pending.action, pending.user)}
          onCancel={() => setPending(null)}
        />
      )}
    </section>
  );
}

export function InviteForm({ api, onInvited }: { api: AdminApi; onInvited: (email: string) => void }) {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [invalid, setInvalid] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const problem = checkEmail(email);
    setInvalid(problem);
    setError(null);
    if (problem) return;
    setBusy(true);
    try {
      await api.post("/users", { email: email.trim(), roles: rolesFor(role) });
      onInvited(email.trim());
      setEmail("");
      setRole("member");
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card invite" onSubmit={submit} noValidate aria-labelledby="invite-heading">
      <h2 id="invite-heading">Invite someone</h2>
      <div className="field-row">
        <div className="field">
          <label htmlFor="invite-email">Email</label>
          <input
            id="invite-email"
            type="email"
            autoComplete="off"
            value={email}
            aria-invalid={invalid ? true : undefined}
            aria-describedby={invalid ? "invite-email-error" : undefined}
            onChange={(e) => setEmail(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="invite-role">Role</label>
          <select id="invite-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="primary" disabled={busy}>
          Invite
        </button>
      </div>
      {invalid && (
        <p id="invite-email-error" className="field-error">
          {invalid}
        </p>
      )}
      {error !== null && <ErrorMessage error={error} />}
    </form>
  );
}

export default function UsersPage() {
  return <Users api={useAdminApi()} />;
}
