/** Settings for the tenant's admins: branding, features, the tenant-owned provider fields, audit log. */
import "./admin.css";
import { useState, type FormEvent } from "react";
import { ApiError } from "../api.ts";
import { BRANDING_CHANGED } from "../session.tsx";
import { applyTheme, themeFor } from "../theme.ts";
import { useAdminApi, type AdminApi } from "./adminApi.ts";
import { auditPath, describeDetails, FIRST_PAGE, newer, older, type AuditPage, type Pager } from "./audit.ts";
import { BRANDING_FIELDS, brandingChanges, checkContrast, wcagLevel, type Branding, type BrandingField } from "./branding.ts";
import { useLoad } from "./load.ts";
import { ErrorMessage, Loading } from "../ui.tsx";
import {
  displayValue,
  fieldErrors,
  fieldLabel,
  inputKind,
  providerChanges,
  type ProviderField,
  type ProviderFields,
  type ProvidersAnswer,
} from "./providerForm.ts";

interface PublicConfig {
  tenant_id: string;
  plan: string;
  providers: Record<string, string>;
  features: Record<string, boolean>;
  branding: Branding;
}

export function Settings({ api }: { api: AdminApi }) {
  const [config, reload] = useLoad((signal) => api.get<PublicConfig>("/config", signal), [api]);
  // Every saved change is a new audit entry: the log reads again.
  const [changes, setChanges] = useState(0);
  const changed = () => setChanges((n) => n + 1);
  return (
    <section className="admin-page">
      <h1>Settings</h1>
      {config.state === "loading" && <Loading label="Loading settings…" />}
      {config.state === "error" && <ErrorMessage error={config.error} onRetry={reload} />}
      {config.state === "ready" && (
        <>
          <BrandingForm
            api={api}
            branding={config.value.branding}
            onSaved={() => {
              reload();
              changed();
            }}
          />
          <Features config={config.value} />
          <ProviderSettings api={api} onChanged={changed} />
          <AuditLog api={api} changes={changes} />
        </>
      )}
    </section>
  );
}

const BRANDING_LABELS: Record<BrandingField, string> = {
  display_name: "Display name",
  primary_color: "Primary colour",
  logo_url: "Logo URL (https)",
  support_email: "Support email",
};

export function BrandingForm({ api, branding, onSaved }: { api: AdminApi; branding: Branding; onSaved: () => void }) {
  const initial = Object.fromEntries(BRANDING_FIELDS.map((f) => [f, branding[f] ?? ""])) as Record<BrandingField, string>;
  const [draft, setDraft] = useState(initial);
  const [status, setStatus] = useState<{ error?: unknown; saved?: boolean; busy?: boolean }>({});
  const colour = draft.primary_color || "#334155";
  const check = checkContrast(colour);
  const errors = status.error instanceof ApiError ? fieldErrors("branding", status.error.details) : {};

  async function save(event: FormEvent) {
    event.preventDefault();
    const changes = brandingChanges(branding, draft);
    if (Object.keys(changes).length === 0) {
      setStatus({ saved: true });
      return;
    }
    setStatus({ busy: true });
    try {
      const saved = await api.patch<PublicConfig>("/config", { branding: changes });
      applyTheme(themeFor(saved.branding.primary_color));
      window.dispatchEvent(new CustomEvent(BRANDING_CHANGED, { detail: saved.branding }));
      setStatus({ saved: true });
      onSaved();
    } catch (error) {
      setStatus({ error });
    }
  }

  return (
    <section aria-labelledby="branding-heading" className="card">
      <h2 id="branding-heading">Branding</h2>
      <form onSubmit={save} noValidate>
        {BRANDING_FIELDS.map((name) => (
          <div className="field" key={name}>
            <label htmlFor={`branding-${name}`}>{BRANDING_LABELS[name]}</label>
            <div className="field-row">
              <input
                id={`branding-${name}`}
                type={name === "support_email" ? "email" : name === "logo_url" ? "url" : "text"}
                value={draft[name]}
                placeholder={name === "primary_color" ? "#0b5fff" : undefined}
                aria-invalid={errors[name] ? true : undefined}
                aria-describedby={errors[name] ? `branding-${name}-error` : undefined}
                onChange={(e) => setDraft({ ...draft, [name]: e.target.value })}
              />
              {name === "primary_color" && (
                <input
                  type="color"
                  aria-label="Pick the primary colour"
                  value={check.valid ? colour.toLowerCase() : "#334155"}
                  onChange={(e) => setDraft({ ...draft, primary_color: e.target.value })}
                />
              )}
            </div>
            {errors[name] && (
              <p id={`branding-${name}-error`} className="field-error">
                {errors[name]}
              </p>
            )}
          </div>
        ))}
        <BrandingPreview name={draft.display_name || "Your organisation"} colour={colour} />
        {status.error !== undefined && <ErrorMessage error={status.error} />}
        {status.saved && <p role="status">Branding saved.</p>}
        <button type="submit" className="primary" disabled={status.busy}>
          Save branding
        </button>
      </form>
    </section>
  );
}

export function BrandingPreview({ name, colour }: { name: string; colour: string }) {
  const check = checkContrast(colour);
  const level = wcagLevel(check.textRatio);
  return (
    <div className="branding-preview" aria-label="Preview" role="group">
      <div className="preview-header" style={{ background: check.primary, color: check.onPrimary }}>
        <strong>{name}</strong>
        <span className="preview-button" style={{ borderColor: check.onPrimary }}>
          Button
        </span>
      </div>
      <p className="preview-body">
        Text with <span style={{ color: check.link, textDecoration: "underline" }}>a link</span>.
      </p>
      {!check.valid && <p className="field-error">Not a colour: use #rrggbb (the preview shows the neutral theme).</p>}
      <p data-testid="contrast-check">
        Text on the primary colour: {check.onPrimary === "#ffffff" ? "white" : "black"}, contrast{" "}
        {check.textRatio.toFixed(1)}:1 ({level === "fails" ? "below WCAG AA" : `WCAG ${level}`}).{" "}
        {check.adjusted
          ? `Links use a darker ${check.link} (the colour itself is ${check.onWhiteRatio.toFixed(1)}:1 on white).`
          : `Links use the colour itself (${check.onWhiteRatio.toFixed(1)}:1 on white).`}
      </p>
    </div>
  );
}

function Features({ config }: { config: PublicConfig }) {
  const features = Object.entries(config.features).sort(([a], [b]) => a.localeCompare(b));
  return (
    <section aria-labelledby="features-heading" className="card">
      <h2 id="features-heading">Plan and features</h2>
      <p>
        Plan <strong>{config.plan}</strong>. Features are part of the plan; the platform operator changes them.
      </p>
      {features.length === 0 ? (
        <p className="empty">No optional features.</p>
      ) : (
        <ul className="features">
          {features.map(([name, on]) => (
            <li key={name}>
              {name}: <strong>{on ? "on" : "off"}</strong>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function ProviderSettings({ api, onChanged }: { api: AdminApi; onChanged: () => void }) {
  const [answer, reload] = useLoad((signal) => api.get<ProvidersAnswer>("/config/providers", signal), [api]);
  return (
    <section aria-labelledby="providers-heading" className="card">
      <h2 id="providers-heading">Providers</h2>
      <p className="muted">
        The settings your organisation owns. Where data lives, endpoints and the provider itself are the operator&apos;s.
      </p>
      {answer.state === "loading" && <Loading label="Loading provider settings…" />}
      {answer.state === "error" && <ErrorMessage error={answer.error} onRetry={reload} />}
      {answer.state === "ready" &&
        Object.entries(answer.value.providers).map(([kind, section]) => (
          <ProviderForm
            key={kind}
            api={api}
            kind={kind}
            section={section}
            onSaved={() => {
              reload();
              onChanged();
            }}
          />
        ))}
    </section>
  );
}

const KIND_NAMES: Record<string, string> = { db: "Database", llm: "Language model", storage: "File storage" };

export function ProviderForm({
  api,
  kind,
  section,
  onSaved,
}: {
  api: AdminApi;
  kind: string;
  section: ProviderFields;
  onSaved: () => void;
}) {
  const [drafts, setDrafts] = useState<Record<string, string>>(() =>
    Object.fromEntries(section.fields.map((f) => [f.name, displayValue(f)])),
  );
  const [clear, setClear] = useState<Set<string>>(new Set());
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [status, setStatus] = useState<{ error?: unknown; saved?: boolean; busy?: boolean }>({});
  const title = `${KIND_NAMES[kind] ?? kind} (${section.provider})`;

  async function save(event: FormEvent) {
    event.preventDefault();
    const { changes, errors: invalid } = providerChanges(section.fields, drafts, clear);
    setErrors(invalid);
    if (Object.keys(invalid).length > 0) return;
    if (Object.keys(changes).length === 0) {
      setStatus({ saved: true });
      return;
    }
    setStatus({ busy: true });
    try {
      await api.put(`/config/providers/${encodeURIComponent(kind)}`, changes);
      // A secret typed in is not kept in the page once saved.
      setDrafts((current) => ({ ...current, ...Object.fromEntries(section.fields.filter((f) => f.secret).map((f) => [f.name, ""])) }));
      setClear(new Set());
      setStatus({ saved: true });
      onSaved();
    } catch (error) {
      setErrors(error instanceof ApiError ? fieldErrors(kind, error.details) : {});
      setStatus({ error });
    }
  }

  return (
    <form className="provider-form" onSubmit={save} aria-label={title} noValidate>
      <h3>{title}</h3>
      {section.fields.length === 0 ? (
        <p className="empty">Nothing here is yours to change: the operator manages this provider.</p>
      ) : (
        <>
          {section.fields.map((field) => (
            <ProviderInput
              key={field.name}
              id={`${kind}-${field.name}`}
              field={field}
              value={drafts[field.name] ?? ""}
              error={errors[field.name]}
              cleared={clear.has(field.name)}
              onChange={(value) => setDrafts({ ...drafts, [field.name]: value })}
              onClear={(on) => {
                const next = new Set(clear);
                if (on) next.add(field.name);
                else next.delete(field.name);
                setClear(next);
              }}
            />
          ))}
          {status.error !== undefined && <ErrorMessage error={status.error} />}
          {status.saved && <p role="status">{`${KIND_NAMES[kind] ?? kind} settings saved.`}</p>}
          <button type="submit" className="primary" disabled={status.busy}>
            Save {(KIND_NAMES[kind] ?? kind).toLowerCase()} settings
          </button>
        </>
      )}
    </form>
  );
}

function ProviderInput({
  id,
  field,
  value,
  error,
  cleared,
  onChange,
  onClear,
}: {
  id: string;
  field: ProviderField;
  value: string;
  error?: string;
  cleared: boolean;
  onChange: (value: string) => void;
  onClear: (on: boolean) => void;
}) {
  const input = inputKind(field.schema);
  const describedBy = [field.description ? `${id}-help` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  const common = {
    id,
    disabled: !field.editable || cleared,
    "aria-invalid": error ? true : undefined,
    "aria-describedby": describedBy || undefined,
  };
  let control;
  if (field.secret) {
    control = (
      <input
        {...common}
        type="password"
        autoComplete="off"
        value={value}
        placeholder={field.set ? "•••••••• (set: type to replace)" : "not set"}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  } else if (input.kind === "boolean") {
    control = <input {...common} type="checkbox" checked={value === "true"} onChange={(e) => onChange(String(e.target.checked))} />;
  } else if (input.kind === "choice") {
    control = (
      <select {...common} value={value} onChange={(e) => onChange(e.target.value)}>
        {input.nullable && <option value="">(default)</option>}
        {input.options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  } else {
    control = (
      <input
        {...common}
        type={input.kind === "number" ? "number" : "text"}
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  }
  return (
    <div className="field">
      <label htmlFor={id}>
        {fieldLabel(field.name)}
        {field.secret && <span className="muted">{field.set ? " (set)" : " (not set)"}</span>}
      </label>
      {control}
      {field.secret && field.set && field.editable && (
        <label className="inline">
          <input type="checkbox" checked={cleared} onChange={(e) => onClear(e.target.checked)} /> Remove the{" "}
          {fieldLabel(field.name)}
        </label>
      )}
      {field.description && (
        <p id={`${id}-help`} className="help">
          {field.description}
        </p>
      )}
      {!field.editable && <p className="help">Set by the operator for every organisation.</p>}
      {error && (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

const AUDIT_PAGE = 20;

export function AuditLog({ api, changes = 0 }: { api: AdminApi; changes?: number }) {
  const [pager, setPager] = useState<Pager>(FIRST_PAGE);
  const [page, reload] = useLoad(
    (signal) => api.get<AuditPage>(auditPath(pager, AUDIT_PAGE), signal),
    [api, pager, changes],
  );
  return (
    <section aria-labelledby="audit-heading" className="card">
      <h2 id="audit-heading">Audit log</h2>
      {page.state === "loading" && <Loading label="Loading the audit log…" />}
      {page.state === "error" && <ErrorMessage error={page.error} onRetry={reload} />}
      {page.state === "ready" && page.value.entries.length === 0 && <p className="empty">No changes recorded yet.</p>}
      {page.state === "ready" && page.value.entries.length > 0 && (
        <table className="audit">
          <caption className="visually-hidden">Audit log, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When (UTC)</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {page.value.entries.map((entry) => (
              <tr key={entry.id}>
                <td>{entry.at.slice(0, 19).replace("T", " ")}</td>
                <td>{entry.actor}</td>
                <td>{entry.action}</td>
                <td>{describeDetails(entry.details)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="pager">
        <button type="button" disabled={pager.stack.length === 0} onClick={() => setPager(newer(pager))}>
          Newer
        </button>
        <button
          type="button"
          disabled={page.state !== "ready" || page.value.cursor === null}
          onClick={() => page.state === "ready" && setPager(older(pager, page.value.cursor))}
        >
          Older
        </button>
      </div>
    </section>
  );
}

export default function SettingsPage() {
  return <Settings api={useAdminApi()} />;
}

