import { afterEach, describe, expect, it } from "vitest";
import { checkTenantId, tenantActions, usageRows, type Tenant } from "./operator";
import { Operator } from "./OperatorPage";
import { button, byLabel, click, render, scriptedApi, submit, type, type Rendered } from "./testUtil";

describe("operator rules", () => {
  it("checks a new tenant's id", () => {
    expect(checkTenantId("")).toBe("Enter the tenant's id.");
    expect(checkTenantId("Acme")).toContain("lower-case");
    expect(checkTenantId("-acme")).toContain("lower-case");
    expect(checkTenantId("ab")).toContain("3 to 63");
    expect(checkTenantId("acme-2")).toBeNull();
  });

  it("suspends the active, resumes the suspended", () => {
    const tenant = (status: string): Tenant => ({ tenant_id: "t", display_name: null, status, created_at: "" });
    expect(tenantActions(tenant("active"))).toEqual(["suspend"]);
    expect(tenantActions(tenant("suspended"))).toEqual(["resume"]);
    expect(tenantActions(tenant("creating"))).toEqual([]);
  });

  it("reads usage rows, busiest first", () => {
    const rows = usageRows({
      tenants: [
        { tenant_id: "globex", totals: { requests: 2, input_tokens: 5, output_tokens: 5 }, storage_bytes: 10 },
        { tenant_id: "acme", totals: { requests: 9, input_tokens: 1, output_tokens: 1 }, storage_bytes: 0 },
        { tenant_id: "flat", requests: 4, input_tokens: 1, output_tokens: 0, storage_bytes: 3 },
      ],
    });
    expect(rows).toEqual([
      { tenant_id: "acme", requests: 9, llm_tokens: 2, storage_bytes: 0 },
      { tenant_id: "flat", requests: 4, llm_tokens: 1, storage_bytes: 3 },
      { tenant_id: "globex", requests: 2, llm_tokens: 10, storage_bytes: 10 },
    ]);
    expect(usageRows(null)).toEqual([]);
  });
});

function operatorApi() {
  let tenants: Tenant[] = [
    { tenant_id: "acme", display_name: "Acme Corp", status: "active", created_at: "2026-12-01T00:00:00+00:00" },
    { tenant_id: "globex", display_name: "Globex", status: "active", created_at: "2026-12-01T00:00:00+00:00" },
  ];
  const set = (id: string, status: string) => {
    tenants = tenants.map((t) => (t.tenant_id === id ? { ...t, status } : t));
    return { body: tenants.find((t) => t.tenant_id === id) };
  };
  return scriptedApi({
    "GET /operator/tenants": () => ({ body: { tenants } }),
    "POST /operator/tenants": (call) => {
      const { tenant_id } = call.body as { tenant_id: string };
      tenants = [...tenants, { tenant_id, display_name: null, status: "active", created_at: "2026-12-05T00:00:00+00:00" }];
      return { status: 201, body: { tenant_id } };
    },
    "POST /operator/tenants/acme/suspend": () => set("acme", "suspended"),
    "POST /operator/tenants/acme/resume": () => set("acme", "active"),
    "GET /operator/usage": () => ({
      body: { tenants: [{ tenant_id: "acme", totals: { requests: 1200, input_tokens: 10, output_tokens: 5 }, storage_bytes: 2048 }] },
    }),
  });
}

describe("the operator page", () => {
  let page: Rendered | null = null;
  afterEach(() => page?.unmount());

  it("lists tenants and usage across them", async () => {
    const { api, calls } = operatorApi();
    page = await render(<Operator api={api} now={new Date("2026-12-05T00:00:00Z")} />);
    const { container } = page;
    expect(Array.from(container.querySelectorAll("table.tenants tbody th")).map((t) => t.textContent)).toEqual(["acme", "globex"]);
    expect(container.querySelector("table.operator-usage")?.textContent).toContain("1.2k");
    expect(container.querySelector("table.operator-usage")?.textContent).toContain("2 KB");
    expect(calls.find((c) => c.path.startsWith("/operator/usage"))?.path).toBe("/operator/usage?from=2026-11-06&to=2026-12-05");
  });

  it("suspends after confirming, then resumes", async () => {
    const { api, calls } = operatorApi();
    page = await render(<Operator api={api} />);
    const { container } = page;
    await click(button(container, "Suspend acme"));
    await click(button(container.querySelector('[role="alertdialog"]') as HTMLElement, "Suspend"));
    expect(calls.some((c) => c.method === "POST" && c.path === "/operator/tenants/acme/suspend")).toBe(true);
    expect(container.textContent).toContain("acme is suspended.");
    await click(button(container, "Resume acme"));
    expect(container.textContent).toContain("acme is active again.");
    expect(button(container, "Suspend acme")).not.toBeNull();
  });

  it("creates a tenant, checking the id first", async () => {
    const { api, calls } = operatorApi();
    page = await render(<Operator api={api} />);
    const { container } = page;
    await type(byLabel(container, "Tenant id"), "Bad Id");
    await submit(button(container, "Create tenant")?.closest("form"));
    expect(container.querySelector("#tenant-id-error")).not.toBeNull();
    expect(calls.some((c) => c.method === "POST")).toBe(false);
    await type(byLabel(container, "Tenant id"), "initech");
    await type(byLabel(container, "Plan (optional)"), "small");
    await type(byLabel(container, "First admin's email"), "boss@initech.example");
    await submit(button(container, "Create tenant")?.closest("form"));
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ tenant_id: "initech", plan: "small", admin_email: "boss@initech.example" });
    expect(container.textContent).toContain("Tenant initech was created.");
    expect(container.querySelector("table.tenants")?.textContent).toContain("initech");
  });
});
