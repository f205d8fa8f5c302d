import type { ReactNode } from "react";

export default function ChatPage(): ReactNode {
  return <h1>Chat</h1>;
}
