/** Loading state of an admin page: a tiny hook over an async loader with retry. */
import { useCallback, useEffect, useState } from "react";

export type Loaded<T> =
  | { state: "loading" }
  | { state: "error"; error: unknown }
  | { state: "ready"; value: T };

/**
 * Runs `load` now and whenever `deps` change; `reload()` runs it again, keeping what is
 * shown until the new answer arrives (forms on the page keep their state). A result
 * that arrives after a newer load started is dropped.
 */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): [Loaded<T>, () => void] {
  const [result, setResult] = useState<Loaded<T>>({ state: "loading" });
  const [round, setRound] = useState(0);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const run = useCallback(load, deps);
  useEffect(() => {
    const controller = new AbortController();
    setResult((previous) => (previous.state === "ready" ? previous : { state: "loading" }));
    run(controller.signal).then(
      (value) => {
        if (!controller.signal.aborted) setResult({ state: "ready", value });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setResult({ state: "error", error });
      },
    );
    return () => controller.abort();
  }, [run, round]);
  return [result, () => setRound((r) => r + 1)];
}
