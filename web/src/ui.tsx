/** Small shared pieces: loading, errors with retry, the no-access notice. */
import { useEffect, useState } from "react";
import type { ReactNode } from "react";
import { ApiError, describeError } from "./api.ts";

export function Loading({ label = "Loading…" }: { label?: string }): ReactNode {
  return (
    <p role="status" className="muted">
      {label}
    </p>
  );
}

/** An error as a person expects it: the API's message, the wait for a 429, a retry button. */
export function ErrorMessage({ error, onRetry }: { error: unknown; onRetry?: () => void }): ReactNode {
  const wait = error instanceof ApiError && error.status === 429 ? error.retryAfter : null;
  const [remaining, setRemaining] = useState(wait ?? 0);
  useEffect(() => {
    setRemaining(wait ?? 0);
    if (!wait) return;
    const timer = setInterval(() => setRemaining((r) => Math.max(0, r - 1)), 1000);
    return () => clearInterval(timer);
  }, [error, wait]);
  const retryable = !(error instanceof ApiError) || error.retryable;
  return (
    <div role="alert" className="error">
      <p>{describeError(error)}</p>
      {onRetry && retryable && (
        <button type="button" onClick={onRetry} disabled={remaining > 0}>
          {remaining > 0 ? `Retry in ${remaining} s` : "Retry"}
        </button>
      )}
    </div>
  );
}

export function NoAccess(): ReactNode {
  return (
    <>
      <h1>No access</h1>
      <p>You don't have access to this page.</p>
    </>
  );
}
