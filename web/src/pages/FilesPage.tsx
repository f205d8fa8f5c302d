/** Files: upload through a presigned URL with progress, list, download, delete, the quota. */
import { useCallback, useEffect, useRef, useState } from "react";
import type { ChangeEvent, ReactNode } from "react";
import { useSession } from "../session.tsx";
import { ErrorMessage, Loading } from "../ui.tsx";
import { formatBytes, uploadWithProgress } from "../upload.ts";
import type { UploadTarget } from "../upload.ts";

interface FileInfo {
  id: string;
  name: string;
  content_type: string;
  size: number;
  status: "pending" | "ready";
  uploaded_by: string;
  created_at: string;
}

interface Storage {
  used_bytes: number | null;
  quota_bytes: number | null;
}

interface Listing {
  files: FileInfo[];
  storage?: Storage;
}

interface Progress {
  name: string;
  fraction: number;
}

/** "1.2 MB of 100 MB" (or "1.2 MB used" without a quota). */
export function quotaText(storage: Storage | undefined, files: FileInfo[]): string {
  const used = storage?.used_bytes ?? files.reduce((sum, f) => sum + f.size, 0);
  return storage?.quota_bytes ? `${formatBytes(used)} of ${formatBytes(storage.quota_bytes)} used` : `${formatBytes(used)} used`;
}

/**
 * Save a presigned URL's object under `name`: fetched as a blob (the storage answers CORS
 * for consoles) so the browser names the file; a storage without CORS opens in a new tab.
 */
async function saveAs(url: string, name: string): Promise<void> {
  let href: string;
  let revoke = false;
  try {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`The storage refused the download (HTTP ${response.status}).`);
    href = URL.createObjectURL(await response.blob());
    revoke = true;
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    window.open(url, "_blank", "noopener");
    return;
  }
  const link = document.createElement("a");
  link.href = href;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  if (revoke) setTimeout(() => URL.revokeObjectURL(href), 10_000);
}

export default function FilesPage(): ReactNode {
  const { api, claims, isAdmin } = useSession();
  const [listing, setListing] = useState<Listing | null>(null);
  const [listError, setListError] = useState<unknown>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [notice, setNotice] = useState("");
  const abort = useRef<(() => void) | null>(null);
  const input = useRef<HTMLInputElement | null>(null);

  const load = useCallback(async () => {
    setListError(null);
    try {
      setListing(await api.get<Listing>("/files?limit=100"));
    } catch (error) {
      setListError(error);
    }
  }, [api]);

  useEffect(() => {
    void load();
    return () => abort.current?.();
  }, [load]);

  const upload = async (file: File) => {
    setActionError(null);
    setNotice("");
    setProgress({ name: file.name, fraction: 0 });
    try {
      const offer = await api.post<{ file: FileInfo; upload: UploadTarget }>("/files", {
        name: file.name,
        content_type: file.type || "application/octet-stream",
        size: file.size,
      });
      const handle = uploadWithProgress(
        { ...offer.upload, headers: { ...offer.upload.headers, "content-type": offer.file.content_type } },
        file,
        (fraction) => setProgress({ name: file.name, fraction }),
      );
      abort.current = handle.abort;
      await handle.done;
      await api.post(`/files/${encodeURIComponent(offer.file.id)}/confirm`);
      setNotice(`Uploaded ${file.name}.`);
      await load();
    } catch (error) {
      setActionError(error);
    } finally {
      abort.current = null;
      setProgress(null);
      if (input.current) input.current.value = "";
    }
  };

  const onChoose = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (file) void upload(file);
  };

  const download = async (file: FileInfo) => {
    setActionError(null);
    try {
      const answer = await api.get<{ url: string }>(`/files/${encodeURIComponent(file.id)}/download`);
      await saveAs(answer.url, file.name);
    } catch (error) {
      setActionError(error);
    }
  };

  const remove = async (file: FileInfo) => {
    if (!window.confirm(`Delete ${file.name}?`)) return;
    setActionError(null);
    try {
      await api.delete(`/files/${encodeURIComponent(file.id)}`);
      setNotice(`Deleted ${file.name}.`);
      await load();
    } catch (error) {
      setActionError(error);
    }
  };

  const files = listing?.files ?? [];
  return (
    <>
      <h1>Files</h1>
      {listing && <p className="quota">Storage: {quotaText(listing.storage, files)}</p>}
      <div className="field">
        <label htmlFor="upload">Upload a file</label>
        <input id="upload" ref={input} type="file" onChange={onChoose} disabled={progress !== null} />
      </div>
      {progress && (
        <div className="upload-progress">
          <label htmlFor="upload-progress">Uploading {progress.name}</label>
          <progress id="upload-progress" max={100} value={Math.round(progress.fraction * 100)}>
            {Math.round(progress.fraction * 100)}%
          </progress>
          <span aria-hidden="true"> {Math.round(progress.fraction * 100)}%</span>
          <button type="button" onClick={() => abort.current?.()}>
            Cancel upload
          </button>
        </div>
      )}
      <p role="status">{notice}</p>
      {actionError ? <ErrorMessage error={actionError} /> : null}
      {listError ? (
        <ErrorMessage error={listError} onRetry={() => void load()} />
      ) : listing === null ? (
        <Loading />
      ) : files.length === 0 ? (
        <p className="muted">No files yet. Upload one above.</p>
      ) : (
        <table>
          <caption className="visually-hidden">Your organisation's files</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Size</th>
              <th scope="col">Uploaded</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {files.map((file) => (
              <tr key={file.id}>
                <td>{file.name}</td>
                <td>{formatBytes(file.size)}</td>
                <td>
                  <time dateTime={file.created_at}>{new Date(file.created_at).toLocaleString()}</time>
                  {file.status === "pending" && <span className="muted"> (pending)</span>}
                </td>
                <td className="actions">
                  <button type="button" disabled={file.status !== "ready"} aria-label={`Download ${file.name}`} onClick={() => void download(file)}>
                    Download
                  </button>
                  {(isAdmin || file.uploaded_by === claims.sub) && (
                    <button type="button" className="danger" aria-label={`Delete ${file.name}`} onClick={() => void remove(file)}>
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
