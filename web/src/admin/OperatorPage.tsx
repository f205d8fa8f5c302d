import type { ReactNode } from "react";

export default function OperatorPage(): ReactNode {
  return <h1>Operator</h1>;
}
