/** Test helpers of the admin pages: render into jsdom, and the console's real API client
 * over a scripted `fetch` that records each request. */
import { act, type ReactNode } from "react";
import { createRoot, type Root } from "react-dom/client";
import { Api } from "../api.ts";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

export interface Call {
  method: string;
  path: string;
  body: unknown;
}

export type Route = (call: Call) => { status?: number; body?: unknown; headers?: Record<string, string> };

/** An {@link Api} whose requests go to `routes` (`"GET /usage"` → handler, query ignored). */
export function scriptedApi(routes: Record<string, Route>): { api: Api; calls: Call[] } {
  const calls: Call[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const method = init?.method ?? "GET";
    const call: Call = {
      method,
      path: url.pathname + url.search,
      body: typeof init?.body === "string" ? (JSON.parse(init.body) as unknown) : undefined,
    };
    calls.push(call);
    const route = routes[`${method} ${url.pathname}`];
    if (!route) return json(404, { error: { code: "not_found", message: `no route ${method} ${url.pathname}` } });
    const answer = route(call);
    return json(answer.status ?? 200, answer.body, answer.headers);
  };
  return { api: new Api({ base: "http://acme.localhost:8000", token: () => "token", fetch }), calls };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  if (status === 204) return new Response(null, { status, headers });
  return new Response(JSON.stringify(body ?? null), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

export interface Rendered {
  container: HTMLElement;
  root: Root;
  unmount: () => void;
}

export async function render(node: ReactNode): Promise<Rendered> {
  const container = document.createElement("div");
  document.body.appendChild(container);
  const root = createRoot(container);
  await act(async () => root.render(node));
  await settle();
  return {
    container,
    root,
    unmount: () => {
      act(() => root.unmount());
      container.remove();
    },
  };
}

/** Let pending fetches and state updates finish. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 0));
    });
  }
}

export async function click(element: Element | null | undefined): Promise<void> {
  if (!element) throw new Error("nothing to click");
  await act(async () => {
    (element as HTMLElement).click();
  });
  await settle();
}

/** Set an input's value the way React sees a user's typing. */
export async function type(element: Element | null | undefined, value: string): Promise<void> {
  if (!(element instanceof HTMLInputElement || element instanceof HTMLSelectElement)) {
    throw new Error("not an input");
  }
  const proto = element instanceof HTMLInputElement ? HTMLInputElement.prototype : HTMLSelectElement.prototype;
  const setter = Object.getOwnPropertyDescriptor(proto, "value")?.set;
  await act(async () => {
    setter?.call(element, value);
    element.dispatchEvent(new Event(element instanceof HTMLSelectElement ? "change" : "input", { bubbles: true }));
  });
  await settle();
}

export async function submit(form: Element | null | undefined): Promise<void> {
  if (!(form instanceof HTMLFormElement)) throw new Error("not a form");
  await act(async () => {
    form.requestSubmit();
  });
  await settle();
}

/** The element labelled `name` (aria-label, a <label for>, or a button's text). */
export function byLabel(container: HTMLElement, name: string): HTMLElement | null {
  const quoted = name.replace(/["\\]/g, "\\$&");
  const labelled = container.querySelector(`[aria-label="${quoted}"]`);
  if (labelled) return labelled as HTMLElement;
  for (const label of Array.from(container.querySelectorAll("label"))) {
    if (label.textContent?.trim() === name && label.htmlFor) return container.ownerDocument.getElementById(label.htmlFor);
  }
  return null;
}

export function button(container: HTMLElement, text: string): HTMLButtonElement | null {
  const found = Array.from(container.querySelectorAll("button")).find(
    (b) => b.getAttribute("aria-label") === text || b.textContent?.trim() === text,
  );
  return found ?? null;
}
