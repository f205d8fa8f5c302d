import type { ReactNode } from "react";

export default function SettingsPage(): ReactNode {
  return <h1>Settings</h1>;
}
