/** The platform operator's console: tenants (list, create, suspend, resume) and usage across tenants. */
import "./admin.css";
import { useState, type FormEvent } from "react";
import { useAdminApi, type AdminApi } from "./adminApi.ts";
import { formatBytes, formatCount } from "./chartMath.ts";
import { ConfirmDialog } from "../ConfirmDialog.tsx";
import { useLoad } from "./load.ts";
import { ErrorMessage, Loading } from "../ui.tsx";
import { checkTenantId, tenantActions, usageRows, type Tenant, type TenantList } from "./operator.ts";
import { RANGES, rangeDates, type RangeKey } from "./usage.ts";

export function Operator({ api, now }: { api: AdminApi; now?: Date }) {
  const [tenants, reload] = useLoad((signal) => api.get<TenantList>("/operator/tenants", signal), [api]);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [pending, setPending] = useState<Tenant | null>(null);

  async function act(action: "suspend" | "resume", tenant: Tenant) {
    setPending(null);
    setError(null);
    try {
      await api.post(`/operator/tenants/${encodeURIComponent(tenant.tenant_id)}/${action}`);
      setNotice(`${tenant.tenant_id} is ${action === "suspend" ? "suspended" : "active again"}.`);
      reload();
    } catch (e) {
      setError(e);
    }
  }

  return (
    <section className="admin-page">
      <h1>Operator</h1>
      <CreateTenantForm
        api={api}
        onCreated={(id) => {
          setNotice(`Tenant ${id} was created.`);
          reload();
        }}
      />
      <section aria-labelledby="tenants-heading" className="card">
        <h2 id="tenants-heading">Tenants</h2>
        <div aria-live="polite">{notice && <p role="status">{notice}</p>}</div>
        {error !== null && <ErrorMessage error={error} />}
        {tenants.state === "loading" && <Loading label="Loading tenants…" />}
        {tenants.state === "error" && <ErrorMessage error={tenants.error} onRetry={reload} />}
        {tenants.state === "ready" && tenants.value.tenants.length === 0 && <p className="empty">No tenants yet.</p>}
        {tenants.state === "ready" && tenants.value.tenants.length > 0 && (
          <table className="tenants">
            <caption className="visually-hidden">Tenants</caption>
            <thead>
              <tr>
                <th scope="col">Tenant</th>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {tenants.value.tenants.map((tenant) => (
                <tr key={tenant.tenant_id}>
                  <th scope="row">{tenant.tenant_id}</th>
                  <td>{tenant.display_name ?? ""}</td>
                  <td>
                    <span className={`badge badge-${tenant.status}`}>{tenant.status}</span>
                  </td>
                  <td>{tenant.created_at.slice(0, 10)}</td>
                  <td className="actions">
                    {tenantActions(tenant).map((action) => (
                      <button
                        key={action}
                        type="button"
                        className={action === "suspend" ? "danger" : undefined}
                        aria-label={`${action === "suspend" ? "Suspend" : "Resume"} ${tenant.tenant_id}`}
                        onClick={() => (action === "suspend" ? setPending(tenant) : void act("resume", tenant))}
                      >
                        {action === "suspend" ? "Suspend" : "Resume"}
                      </button>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <UsageAcrossTenants api={api} now={now} />
      {pending && (
        <ConfirmDialog
          message={`Suspend ${pending.tenant_id}? Its users are refused until you resume it; its data stays.`}
          confirmLabel="Suspend"
          onConfirm={() => void act("suspend", pending)}
          onCancel={() => setPending(null)}
        />
      )}
    </section>
  );
}

export function CreateTenantForm({ api, onCreated }: { api: AdminApi; onCreated: (id: string) => void }) {
  const [id, setId] = useState("");
  const [plan, setPlan] = useState("");
  const [admin, setAdmin] = useState("");
  const [invalid, setInvalid] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const problem = checkTenantId(id);
    setInvalid(problem);
    setError(null);
    if (problem) return;
    setBusy(true);
    try {
      const body: Record<string, unknown> = { tenant_id: id.trim() };
      if (plan.trim()) body.plan = plan.trim();
      if (admin.trim()) body.admin_email = admin.trim();
      await api.post("/operator/tenants", body);
      onCreated(id.trim());
      setId("");
      setPlan("");
      setAdmin("");
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card" onSubmit={submit} noValidate aria-labelledby="create-tenant-heading">
      <h2 id="create-tenant-heading">Create a tenant</h2>
      <p className="muted">On the deployment&apos;s default providers; the first admin gets an invitation.</p>
      <div className="field-row">
        <div className="field">
          <label htmlFor="tenant-id">Tenant id</label>
          <input
            id="tenant-id"
            value={id}
            autoComplete="off"
            aria-invalid={invalid ? true : undefined}
            aria-describedby={invalid ? "tenant-id-error" : undefined}
            onChange={(e) => setId(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="tenant-plan">Plan (optional)</label>
          <input id="tenant-plan" value={plan} placeholder="standard" onChange={(e) => setPlan(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="tenant-admin">First admin's email</label>
          <input id="tenant-admin" type="email" value={admin} onChange={(e) => setAdmin(e.target.value)} />
        </div>
        <button type="submit" className="primary" disabled={busy}>
          Create tenant
        </button>
      </div>
      {invalid && (
        <p id="tenant-id-error" className="field-error">
          {invalid}
        </p>
      )}
      {error !== null && <ErrorMessage error={error} />}
    </form>
  );
}

function UsageAcrossTenants({ api, now }: { api: AdminApi; now?: Date }) {
  const [range, setRange] = useState<RangeKey>("30d");
  const { from, to } = rangeDates(range, now);
  const [usage, reload] = useLoad(
    (signal) => api.get<unknown>(`/operator/usage?from=${from}&to=${to}`, signal),
    [api, from, to],
  );
  const rows = usage.state === "ready" ? usageRows(usage.value) : [];
  return (
    <section aria-labelledby="operator-usage-heading" className="card">
      <h2 id="operator-usage-heading">Usage across tenants</h2>
      <div className="toolbar">
        <label htmlFor="operator-range">Range</label>
        <select id="operator-range" value={range} onChange={(e) => setRange(e.target.value as RangeKey)}>
          {RANGES.map((r) => (
            <option key={r.key} value={r.key}>
              {r.label}
            </option>
          ))}
        </select>
      </div>
      {usage.state === "loading" && <Loading label="Loading usage…" />}
      {usage.state === "error" && <ErrorMessage error={usage.error} onRetry={reload} />}
      {usage.state === "ready" && rows.length === 0 && <p className="empty">No usage in this range.</p>}
      {rows.length > 0 && (
        <table className="operator-usage">
          <caption className="visually-hidden">Usage per tenant</caption>
          <thead>
            <tr>
              <th scope="col">Tenant</th>
              <th scope="col">Requests</th>
              <th scope="col">LLM tokens</th>
              <th scope="col">Storage</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.tenant_id}>
                <th scope="row">{row.tenant_id}</th>
                <td>{formatCount(row.requests)}</td>
                <td>{formatCount(row.llm_tokens)}</td>
                <td>{formatBytes(row.storage_bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export default function OperatorPage() {
  return <Operator api={useAdminApi()} />;
}
