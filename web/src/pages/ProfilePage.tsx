import type { ReactNode } from "react";

export default function ProfilePage(): ReactNode {
  return <h1>Profile</h1>;
}
