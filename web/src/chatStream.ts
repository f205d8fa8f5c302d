/**
 * Streamed chat replies over the WebSocket API.
 *
 * The client sends `{"action": "chat", "content", "conversation_id"?, "ref"}`; the server
 * answers with `{"type": "delta", "text", "ref"}` frames, then `{"type": "done", "text",
 * "finish_reason", "usage", "message_id"?, "ref"}`, or `{"type": "error", "error": {...}}`.
 * Stopping closes the socket (the server stops generating when it cannot send).
 */

export type ReplyStatus = "streaming" | "done" | "error" | "stopped";

export interface Reply {
  ref: string;
  text: string;
  status: ReplyStatus;
  error: { code: string; message: string } | null;
  messageId: string | null;
}

export type Frame =
  | { type: "delta"; text: string; ref?: string | null }
  | { type: "done"; text: string; finish_reason?: string; message_id?: string; ref?: string | null }
  | { type: "error"; error: { code?: string; message?: string }; ref?: string | null }
  | { type: string; ref?: string | null };

export function newReply(ref: string): Reply {
  return { ref, text: "", status: "streaming", error: null, messageId: null };
}

/** The reply after one frame: deltas append, `done` settles the full text, `error` ends it. */
export function applyFrame(reply: Reply, frame: Frame): Reply {
  if (reply.status !== "streaming") return reply; // stopped or settled: later frames are late
  if (frame.ref != null && frame.ref !== reply.ref) return reply; // another exchange's
  if (frame.type === "delta" && "text" in frame && typeof frame.text === "string") {
    return { ...reply, text: reply.text + frame.text };
  }
  if (frame.type === "done" && "text" in frame) {
    const done = frame as Extract<Frame, { type: "done" }>;
    return {
      ...reply,
      text: typeof done.text === "string" ? done.text : reply.text,
      status: "done",
      messageId: done.message_id ?? null,
    };
  }
  if (frame.type === "error" && "error" in frame) {
    const error = (frame as Extract<Frame, { type: "error" }>).error ?? {};
    return {
      ...reply,
      status: "error",
      error: { code: error.code ?? "error", message: error.message ?? "The reply failed." },
    };
  }
  return reply;
}

/** Parse one WebSocket message into a frame; null for anything that is not a JSON object. */
export function parseFrame(data: unknown): Frame | null {
  if (typeof data !== "string") return null;
  try {
    const value: unknown = JSON.parse(data);
    if (value && typeof value === "object" && typeof (value as { type?: unknown }).type === "string") {
      return value as Frame;
    }
  } catch {
    // not JSON
  }
  return null;
}

export interface StreamHandle {
  /** Stop the reply: closes the socket. */
  stop: () => void;
}

export interface StreamOptions {
  url: string;
  token: string;
  content: string;
  conversationId?: string | null;
  onUpdate: (reply: Reply) => void;
  socketFactory?: (url: string) => WebSocket;
}

/** Open a socket, ask for a reply and report each state of it; returns the stop handle. */
export function streamReply(options: StreamOptions): StreamHandle {
  const ref = Math.random().toString(36).slice(2) + Date.now().toString(36);
  let reply = newReply(ref);
  const url = `${options.url}${options.url.includes("?") ? "&" : "?"}token=${encodeURIComponent(options.token)}`;
  const socket = (options.socketFactory ?? ((u) => new WebSocket(u)))(url);
  const update = (next: Reply): void => {
    if (next === reply) return;
    reply = next;
    options.onUpdate(reply);
    if (reply.status !== "streaming") socket.close(1000);
  };
  socket.onopen = () => {
    const message: Record<string, string> = { action: "chat", content: options.content, ref };
    if (options.conversationId) message.conversation_id = options.conversationId;
    socket.send(JSON.stringify(message));
  };
  socket.onmessage = (event: MessageEvent) => {
    const frame = parseFrame(event.data);
    if (frame) update(applyFrame(reply, frame));
  };
  socket.onerror = () => {
    update(
      reply.status === "streaming"
        ? { ...reply, status: "error", error: { code: "network_error", message: "The connection to the chat service failed." } }
        : reply,
    );
  };
  socket.onclose = () => {
    if (reply.status === "streaming") {
      update({ ...reply, status: "error", error: { code: "closed", message: "The connection closed before the reply finished." } });
    }
  };
  return {
    stop: () => {
      if (reply.status === "streaming") update({ ...reply, status: "stopped" });
      socket.close(1000);
    },
  };
}
