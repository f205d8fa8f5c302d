import type { ReactNode } from "react";

export default function UsagePage(): ReactNode {
  return <h1>Usage</h1>;
}
