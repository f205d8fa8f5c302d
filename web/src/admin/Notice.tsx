/** Loading and error notices of the admin pages (the API's message, retry when it may help). */
import { ApiError, describeError } from "../api";

export function Loading({ what }: { what: string }) {
  return (
    <p role="status" className="loading">
      Loading {what}…
    </p>
  );
}

export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const retry = onRetry && (!(error instanceof ApiError) || error.retryable);
  return (
    <div role="alert" className="error">
      <p>{describeError(error)}</p>
      {retry && (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}
