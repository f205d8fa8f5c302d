import type { ReactNode } from "react";

export default function FilesPage(): ReactNode {
  return <h1>Files</h1>;
}
