import { afterEach, describe, expect, it } from "vitest";
import { actionRequest, actionsFor, checkEmail, confirmation, mainRole, rolesFor, type User } from "./users";
import { Users } from "./UsersPage";
import { button, byLabel, click, render, scriptedApi, submit, type, type Rendered } from "./testUtil";

function user(over: Partial<User>): User {
  return {
    user_id: "u1",
    email: "a@acme.example",
    roles: ["member"],
    status: "active",
    display_name: null,
    locale: null,
    created_at: "2026-12-01T00:00:00+00:00",
    updated_at: "2026-12-01T00:00:00+00:00",
    last_seen: null,
    ...over,
  };
}

describe("user rules", () => {
  it("checks an invitation's email", () => {
    expect(checkEmail("")).toBe("Enter an email address.");
    expect(checkEmail("not-an-email")).toContain("like name@example.com");
    expect(checkEmail(" bob@acme.example ")).toBeNull();
  });

  it("shows one role and grants admin with member", () => {
    expect(mainRole({ roles: ["member", "admin"] })).toBe("admin");
    expect(mainRole({ roles: ["member"] })).toBe("member");
    expect(rolesFor("admin")).toEqual(["member", "admin"]);
    expect(rolesFor("member")).toEqual(["member"]);
  });

  it("offers what fits the status, never disabling or removing oneself", () => {
    expect(actionsFor(user({ status: "invited" }), "me")).toEqual(["resend", "disable", "remove"]);
    expect(actionsFor(user({ status: "disabled" }), "me")).toEqual(["enable", "remove"]);
    expect(actionsFor(user({ user_id: "me" }), "me")).toEqual([]);
  });

  it("asks before removing or disabling, and names the request", () => {
    expect(confirmation("remove", user({}))).toContain("cannot be undone");
    expect(confirmation("disable", user({}))).toContain("Disable a@acme.example?");
    expect(confirmation("enable", user({}))).toBeNull();
    expect(actionRequest("remove", user({ user_id: "a/b" }))).toEqual({ method: "DELETE", path: "/users/a%2Fb" });
    expect(actionRequest("resend", user({}))).toEqual({ method: "POST", path: "/users/u1/invitation" });
    expect(actionRequest("disable", user({}))).toEqual({ method: "POST", path: "/users/u1/disable" });
  });
});

function directory() {
  let users: User[] = [
    user({ user_id: "admin-1", email: "admin@acme.example", roles: ["member", "admin"] }),
    user({ user_id: "m-1", email: "member@acme.example" }),
  ];
  const find = (path: string) => users.find((u) => path.includes(`/users/${u.user_id}`))!;
  const routes = scriptedApi({
    "GET /users": () => ({ body: { users, cursor: null } }),
    "GET /users/me": () => ({ body: users[0] }),
    "POST /users": (call) => {
      const { email, roles } = call.body as { email: string; roles: string[] };
      if (users.some((u) => u.email === email)) {
        return { status: 409, body: { error: { code: "conflict", message: `a user with email ${email} exists` } } };
      }
      const created = user({ user_id: `u-${users.length}`, email, roles, status: "invited" });
      users = [...users, created];
      return { status: 201, body: created };
    },
    "PUT /users/m-1/roles": (call) => {
      users = users.map((u) => (u.user_id === "m-1" ? { ...u, roles: (call.body as { roles: string[] }).roles } : u));
      return { body: find("/users/m-1") };
    },
    "POST /users/m-1/disable": () => {
      users = users.map((u) => (u.user_id === "m-1" ? { ...u, status: "disabled" } : u));
      return { body: find("/users/m-1") };
    },
    "DELETE /users/m-1": () => {
      users = users.filter((u) => u.user_id !== "m-1");
      return { status: 204 };
    },
  });
  return routes;
}

describe("the users page", () => {
  let page: Rendered | null = null;
  afterEach(() => page?.unmount());

  it("lists users; the admin cannot disable or remove themself", async () => {
    const { api } = directory();
    page = await render(<Users api={api} />);
    const rows = Array.from(page.container.querySelectorAll("table.users tbody tr"));
    expect(rows.map((r) => r.querySelector("th")?.textContent)).toEqual(["admin@acme.example (you)", "member@acme.example"]);
    expect(button(page.container, "Remove admin@acme.example")).toBeNull();
    expect(button(page.container, "Remove member@acme.example")).not.toBeNull();
    expect((byLabel(page.container, "Role of admin@acme.example") as HTMLSelectElement).disabled).toBe(true);
  });

  it("invites with email and role, refuses a bad email without asking the API, shows the API's error", async () => {
    const { api, calls } = directory();
    page = await render(<Users api={api} />);
    const { container } = page;
    const form = container.querySelector("form.invite");
    await type(byLabel(container, "Email"), "nope");
    await submit(form);
    expect(container.querySelector("#invite-email-error")?.textContent).toContain("like name@example.com");
    expect(calls.filter((c) => c.method === "POST")).toEqual([]);
    await type(byLabel(container, "Email"), "new@acme.example");
    await type(byLabel(container, "Role"), "admin");
    await submit(form);
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ email: "new@acme.example", roles: ["member", "admin"] });
    expect(container.textContent).toContain("An invitation was sent to new@acme.example.");
    expect(container.textContent).toContain("invited");
    expect(button(container, "Resend invitation new@acme.example")).not.toBeNull();
    await type(byLabel(container, "Email"), "member@acme.example");
    await submit(form);
    expect(container.querySelector("form.invite [role=alert]")?.textContent).toContain("a user with email member@acme.example exists");
  });

  it("changes a role", async () => {
    const { api, calls } = directory();
    page = await render(<Users api={api} />);
    await type(byLabel(page.container, "Role of member@acme.example"), "admin");
    expect(calls.find((c) => c.method === "PUT")).toEqual({ method: "PUT", path: "/users/m-1/roles", body: { roles: ["member", "admin"] } });
    expect(page.container.textContent).toContain("member@acme.example is now an admin");
  });

  it("asks before removing; cancel does nothing, confirm removes", async () => {
    const { api, calls } = directory();
    page = await render(<Users api={api} />);
    const { container } = page;
    await click(button(container, "Remove member@acme.example"));
    const dialog = container.querySelector('[role="alertdialog"]');
    expect(dialog?.textContent).toContain("Remove member@acme.example?");
    expect(document.activeElement?.textContent).toBe("Cancel");
    await click(button(dialog as HTMLElement, "Cancel"));
    expect(container.querySelector('[role="alertdialog"]')).toBeNull();
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    await click(button(container, "Disable member@acme.example"));
    await click(button(container.querySelector('[role="alertdialog"]') as HTMLElement, "Disable"));
    expect(container.textContent).toContain("member@acme.example was disabled.");
    expect(button(container, "Enable member@acme.example")).not.toBeNull();
    await click(button(container, "Remove member@acme.example"));
    await click(button(container.querySelector('[role="alertdialog"]') as HTMLElement, "Remove"));
    expect(calls.find((c) => c.method === "DELETE")?.path).toBe("/users/m-1");
    expect(container.textContent).toContain("member@acme.example was removed.");
    expect(container.querySelectorAll("table.users tbody tr").length).toBe(1);
  });
});
