import type { ReactNode } from "react";

export default function UsersPage(): ReactNode {
  return <h1>Users</h1>;
}
