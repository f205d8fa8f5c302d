/** Chat: the caller's conversations, and replies streamed token by token over the WebSocket. */
import { useCallback, useEffect, useRef, useState } from "react";
import type { FormEvent, KeyboardEvent, ReactNode } from "react";
import { NavLink, useNavigate, useParams } from "react-router";
import { ApiError } from "../api.ts";
import { streamReply } from "../chatStream.ts";
import { ConfirmDialog } from "../ConfirmDialog.tsx";
import type { Reply, StreamHandle } from "../chatStream.ts";
import { renderMarkdown } from "../markdown.ts";
import { useSession } from "../session.tsx";
import { ErrorMessage, Loading } from "../ui.tsx";

interface Conversation {
  id: string;
  title: string | null;
  created_at: string;
  updated_at: string;
  message_count: number;
}

interface ChatMessage {
  id: string;
  role: "user" | "assistant";
  content: string;
  /** A reply that was stopped or failed (kept on screen, not stored). */
  note?: string;
}

function titleOf(content: string): string {
  const line = content.trim().split("\n")[0] ?? "";
  return line.length > 60 ? `${line.slice(0, 57)}…` : line || "New conversation";
}

function Markdown({ source }: { source: string }): ReactNode {
  // renderMarkdown sanitises (DOMPurify): no script, handler or javascript: URL survives.
  return <div className="markdown" dangerouslySetInnerHTML={{ __html: renderMarkdown(source) }} />;
}

function MessageView({ message }: { message: ChatMessage }): ReactNode {
  return (
    <li className={`message ${message.role}`}>
      <div className="role">{message.role === "user" ? "You" : "Assistant"}</div>
      {message.role === "user" ? <div>{message.content}</div> : <Markdown source={message.content} />}
      {message.note && <div className="muted">{message.note}</div>}
    </li>
  );
}

export default function ChatPage(): ReactNode {
  const { api, config, token } = useSession();
  const { conversationId } = useParams();
  const navigate = useNavigate();
  const [conversations, setConversations] = useState<Conversation[] | null>(null);
  const [listError, setListError] = useState<unknown>(null);
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [messagesError, setMessagesError] = useState<unknown>(null);
  const [loadingMessages, setLoadingMessages] = useState(false);
  const [draft, setDraft] = useState("");
  const [reply, setReply] = useState<Reply | null>(null);
  const [sendError, setSendError] = useState<unknown>(null);
  const [deleting, setDeleting] = useState<Conversation | null>(null);
  const [deleteError, setDeleteError] = useState<unknown>(null);
  const stream = useRef<StreamHandle | null>(null);
  const justCreated = useRef<string | null>(null);
  const endRef = useRef<HTMLDivElement | null>(null);
  const streaming = reply?.status === "streaming";

  const loadConversations = useCallback(async () => {
    setListError(null);
    try {
      const answer = await api.get<{ conversations: Conversation[] }>("/conversations?limit=50");
      setConversations(answer.conversations);
    } catch (error) {
      setListError(error);
    }
  }, [api]);

  const loadMessages = useCallback(
    async (id: string) => {
      setMessagesError(null);
      setLoadingMessages(true);
      try {
        const answer = await api.get<{ messages: ChatMessage[] }>(
          `/conversations/${encodeURIComponent(id)}/messages?limit=200`,
        );
        setMessages(answer.messages);
      } catch (error) {
        setMessagesError(error);
      } finally {
        setLoadingMessages(false);
      }
    },
    [api],
  );

  useEffect(() => {
    void loadConversations();
  }, [loadConversations]);

  useEffect(() => {
    if (conversationId && conversationId === justCreated.current) return; // our own, streaming
    stream.current?.stop();
    setReply(null);
    setSendError(null);
    setMessages([]);
    if (conversationId) void loadMessages(conversationId);
  }, [conversationId, loadMessages]);

  useEffect(() => () => stream.current?.stop(), []);

  useEffect(() => {
    endRef.current?.scrollIntoView?.({ block: "end" });
  }, [messages, reply?.text]);

  const send = async (event?: FormEvent) => {
    event?.preventDefault();
    const content = draft.trim();
    if (!content || streaming) return;
    setSendError(null);
    let id = conversationId ?? null;
    if (!id) {
      try {
        const created = await api.post<Conversation>("/conversations", { title: titleOf(content) });
        id = created.id;
        justCreated.current = id;
        setConversations((list) => [created, ...(list ?? [])]);
        navigate(`/chat/${encodeURIComponent(id)}`);
      } catch (error) {
        setSendError(error);
        return;
      }
    }
    const accessToken = token();
    if (!accessToken) return;
    setDraft("");
    setMessages((list) => [...list, { id: `local-${Date.now()}`, role: "user", content }]);
    stream.current = streamReply({
      url: config.websocket,
      token: accessToken,
      content,
      conversationId: id,
      onUpdate: (next) => {
        setReply(next);
        if (next.status === "streaming") return;
        stream.current = null;
        if (next.status === "error") {
          setSendError(new Error(next.error?.message ?? "The reply failed."));
          setDraft((current) => current || content);
        }
        if (next.text || next.status === "stopped") {
          const note =
            next.status === "stopped" ? "Stopped." : next.status === "error" ? "The reply did not finish." : undefined;
          setMessages((list) => [
            ...list,
            { id: next.messageId ?? `reply-${next.ref}`, role: "assistant", content: next.text, note },
          ]);
        }
        setReply(null);
        if (next.status === "done") void loadConversations();
      },
    });
  };

  const remove = async (conversation: Conversation) => {
    setDeleting(null);
    setDeleteError(null);
    try {
      await api.delete(`/conversations/${encodeURIComponent(conversation.id)}`);
    } catch (error) {
      // Already gone (deleted in another tab): nothing left to delete.
      if (!(error instanceof ApiError && error.status === 404)) {
        setDeleteError(error);
        return;
      }
    }
    setConversations((list) => (list ?? []).filter((c) => c.id !== conversation.id));
    if (conversation.id === conversationId) {
      stream.current?.stop();
      justCreated.current = null;
      navigate("/chat");
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void send();
    }
  };

  const current = conversations?.find((c) => c.id === conversationId);

  return (
    <div className="chat">
      <aside aria-label="Conversations">
        <button
          type="button"
          className="primary"
          onClick={() => {
            justCreated.current = null;
            navigate("/chat");
          }}
        >
          New conversation
        </button>
        <h2>Conversations</h2>
        {deleteError ? <ErrorMessage error={deleteError} /> : null}
        {listError ? (
          <ErrorMessage error={listError} onRetry={() => void loadConversations()} />
        ) : conversations === null ? (
          <Loading />
        ) : conversations.length === 0 ? (
          <p className="muted">No conversations yet.</p>
        ) : (
          <ul>
            {conversations.map((c) => (
              <li key={c.id}>
                <NavLink to={`/chat/${encodeURIComponent(c.id)}`}>{c.title || "Untitled"}</NavLink>
                <button
                  type="button"
                  className="delete danger"
                  aria-label={`Delete ${c.title || "Untitled"}`}
                  title="Delete"
                  onClick={() => setDeleting(c)}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        )}
      </aside>
      {deleting && (
        <ConfirmDialog
          message={`Delete “${deleting.title || "Untitled"}” and all its messages? This cannot be undone.`}
          confirmLabel="Delete"
          onConfirm={() => void remove(deleting)}
          onCancel={() => setDeleting(null)}
        />
      )}
      <section aria-labelledby="chat-title">
        <h1 id="chat-title">{current?.title || (conversationId ? "Conversation" : "Chat")}</h1>
        {messagesError ? (
          <ErrorMessage error={messagesError} onRetry={() => conversationId && void loadMessages(conversationId)} />
        ) : loadingMessages ? (
          <Loading label="Loading messages…" />
        ) : messages.length === 0 && !reply ? (
          <p className="muted">Ask anything to start.</p>
        ) : null}
        <ol className="messages" aria-label="Messages">
          {messages.map((m) => (
            <MessageView key={m.id} message={m} />
          ))}
          {reply && (
            <li className="message assistant" aria-busy={streaming} data-testid="streaming-reply">
              <div className="role">Assistant</div>
              {reply.text ? <Markdown source={reply.text} /> : <span className="muted">Thinking…</span>}
            </li>
          )}
        </ol>
        <div ref={endRef} />
        <p role="status" className="visually-hidden">
          {streaming ? "The assistant is replying." : ""}
        </p>
        {sendError ? <ErrorMessage error={sendError} onRetry={() => void send()} /> : null}
        <form className="composer" onSubmit={(e) => void send(e)}>
          <label htmlFor="message">Message</label>
          <textarea
            id="message"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={onKeyDown}
            placeholder="Write a message (Enter sends, Shift+Enter for a new line)"
            rows={3}
            maxLength={32000}
          />
          {streaming ? (
            <button type="button" onClick={() => stream.current?.stop()}>
              Stop
            </button>
          ) : (
            <button type="submit" className="primary" disabled={!draft.trim()}>
              Send
            </button>
          )}
        </form>
      </section>
    </div>
  );
}
