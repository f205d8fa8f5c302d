import { describe, expect, it } from "vitest";
import { applyFrame, newReply, parseFrame, streamReply } from "./chatStream.ts";
import type { Reply } from "./chatStream.ts";

describe("stream assembly", () => {
  it("appends deltas in order and settles on done's full text", () => {
    let reply = newReply("r1");
    for (const text of ["Hel", "lo, ", "wor", "ld"]) reply = applyFrame(reply, { type: "delta", text, ref: "r1" });
    expect(reply).toMatchObject({ text: "Hello, world", status: "streaming" });
    reply = applyFrame(reply, { type: "done", text: "Hello, world!", finish_reason: "stop", message_id: "m1", ref: "r1" });
    expect(reply).toMatchObject({ text: "Hello, world!", status: "done", messageId: "m1" });
    // late frames change nothing
    expect(applyFrame(reply, { type: "delta", text: "x", ref: "r1" })).toBe(reply);
  });

  it("ignores frames of another exchange and unknown types", () => {
    const reply = newReply("mine");
    expect(applyFrame(reply, { type: "delta", text: "theirs", ref: "other" })).toBe(reply);
    expect(applyFrame(reply, { type: "broadcast", ref: null })).toBe(reply);
  });

  it("ends on an error frame with its message", () => {
    const reply = applyFrame(newReply("r"), { type: "error", error: { code: "rate_limited", message: "slow down" }, ref: "r" });
    expect(reply).toMatchObject({ status: "error", error: { code: "rate_limited", message: "slow down" } });
  });

  it("parses only JSON objects with a type", () => {
    expect(parseFrame('{"type":"delta","text":"a"}')).toEqual({ type: "delta", text: "a" });
    expect(parseFrame("not json")).toBeNull();
    expect(parseFrame("[1]")).toBeNull();
    expect(parseFrame(new ArrayBuffer(2))).toBeNull();
  });
});

class FakeSocket {
  url: string;
  sent: string[] = [];
  closed = false;
  onopen: (() => void) | null = null;
  onmessage: ((e: MessageEvent) => void) | null = null;
  onerror: (() => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(url: string) {
    this.url = url;
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  }
  receive(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) } as MessageEvent);
  }
}

describe("streamReply", () => {
  function start() {
    let socket: FakeSocket | null = null;
    const updates: Reply[] = [];
    const handle = streamReply({
      url: "ws://acme.localhost:8000/ws",
      token: "t/k+n",
      content: "hi",
      conversationId: "c1",
      onUpdate: (r) => updates.push(r),
      socketFactory: (url) => (socket = new FakeSocket(url)) as unknown as WebSocket,
    });
    const s = socket as unknown as FakeSocket;
    s.onopen?.();
    const ref = JSON.parse(s.sent[0]!).ref as string;
    return { handle, socket: s, updates, ref };
  }

  it("sends the chat action with the token in the query and reports each delta", () => {
    const { socket, updates, ref } = start();
    expect(socket.url).toBe("ws://acme.localhost:8000/ws?token=t%2Fk%2Bn");
    expect(JSON.parse(socket.sent[0]!)).toEqual({ action: "chat", content: "hi", conversation_id: "c1", ref });
    socket.receive({ type: "delta", text: "A", ref });
    socket.receive({ type: "delta", text: "B", ref });
    socket.receive({ type: "done", text: "AB", ref });
    expect(updates.map((u) => [u.text, u.status])).toEqual([["A", "streaming"], ["AB", "streaming"], ["AB", "done"]]);
    expect(socket.closed).toBe(true);
  });

  it("stops: closes the socket, keeps the partial text, ignores what arrives after", () => {
    const { handle, socket, updates, ref } = start();
    socket.receive({ type: "delta", text: "partial", ref });
    handle.stop();
    socket.receive({ type: "delta", text: " more", ref });
    expect(socket.closed).toBe(true);
    expect(updates.at(-1)).toMatchObject({ text: "partial", status: "stopped" });
    expect(updates).toHaveLength(2);
  });

  it("reports a connection that closes mid-reply", () => {
    const { socket, updates, ref } = start();
    socket.receive({ type: "delta", text: "x", ref });
    socket.close();
    expect(updates.at(-1)).toMatchObject({ status: "error", error: { code: "closed" } });
  });
});
