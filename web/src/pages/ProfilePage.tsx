/** Profile: the caller's own display name and locale (`GET/PATCH /users/me`). */
import { useCallback, useEffect, useState } from "react";
import type { FormEvent, ReactNode } from "react";
import { useSession } from "../session.tsx";
import { ErrorMessage, Loading } from "../ui.tsx";

interface Profile {
  user_id: string;
  email: string;
  roles: string[];
  display_name: string | null;
  locale: string | null;
}

export default function ProfilePage(): ReactNode {
  const { api } = useSession();
  const [profile, setProfile] = useState<Profile | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [displayName, setDisplayName] = useState("");
  const [locale, setLocale] = useState("");
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [saved, setSaved] = useState("");

  const load = useCallback(async () => {
    setLoadError(null);
    try {
      const me = await api.get<Profile>("/users/me");
      setProfile(me);
      setDisplayName(me.display_name ?? "");
      setLocale(me.locale ?? "");
    } catch (error) {
      setLoadError(error);
    }
  }, [api]);

  useEffect(() => {
    void load();
  }, [load]);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setSaving(true);
    setSaveError(null);
    setSaved("");
    try {
      const change: Record<string, string> = {};
      if (displayName.trim()) change.display_name = displayName.trim();
      if (locale.trim()) change.locale = locale.trim();
      setProfile(await api.patch<Profile>("/users/me", change));
      setSaved("Profile saved.");
    } catch (error) {
      setSaveError(error);
    } finally {
      setSaving(false);
    }
  };

  return (
    <>
      <h1>Profile</h1>
      {loadError ? (
        <ErrorMessage error={loadError} onRetry={() => void load()} />
      ) : profile === null ? (
        <Loading />
      ) : (
        <form onSubmit={(e) => void save(e)}>
          <p>
            Signed in as <strong>{profile.email}</strong>
            {profile.roles.length > 0 && <> ({profile.roles.join(", ")})</>}
          </p>
          <div className="field">
            <label htmlFor="display-name">Display name</label>
            <input id="display-name" value={displayName} maxLength={128} autoComplete="name" onChange={(e) => setDisplayName(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="locale">Locale</label>
            <input id="locale" value={locale} maxLength={35} placeholder="en-GB" aria-describedby="locale-hint" onChange={(e) => setLocale(e.target.value)} />
            <span id="locale-hint" className="muted">
              A language tag, such as en-GB or fr.
            </span>
          </div>
          {saveError ? <ErrorMessage error={saveError} /> : null}
          <button type="submit" className="primary" disabled={saving}>
            {saving ? "Saving…" : "Save"}
          </button>
          <p role="status">{saved}</p>
        </form>
      )}
    </>
  );
}
