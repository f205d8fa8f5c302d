/** Upload through a presigned URL with progress (XMLHttpRequest: `fetch` reports no upload progress). */

export interface UploadTarget {
  url: string;
  method: string;
  headers: Record<string, string>;
}

export interface UploadHandle {
  done: Promise<void>;
  abort: () => void;
}

/** Fraction (0–1) of a progress event, when the total is known. */
export function fraction(loaded: number, total: number): number {
  if (!(total > 0)) return 0;
  return Math.min(1, Math.max(0, loaded / total));
}

/** PUT `body` to the target, reporting progress (0–1); rejects with a message on failure. */
export function uploadWithProgress(
  target: UploadTarget,
  body: Blob,
  onProgress: (fraction: number) => void,
  makeRequest: () => XMLHttpRequest = () => new XMLHttpRequest(),
): UploadHandle {
  const xhr = makeRequest();
  const done = new Promise<void>((resolve, reject) => {
    xhr.open(target.method || "PUT", target.url);
    for (const [name, value] of Object.entries(target.headers)) {
      if (name.toLowerCase() !== "content-length") xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (event: ProgressEvent) => {
      onProgress(fraction(event.loaded, event.lengthComputable ? event.total : body.size));
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve();
      } else {
        reject(new Error(`The storage refused the upload (HTTP ${xhr.status}).`));
      }
    };
    xhr.onerror = () => reject(new Error("The upload failed: the storage could not be reached."));
    xhr.onabort = () => reject(new Error("The upload was cancelled."));
    xhr.send(body);
  });
  return { done, abort: () => xhr.abort() };
}

const UNITS = ["B", "KB", "MB", "GB", "TB"];

/** Bytes as people read them: 1.2 MB (powers of 1000, like file managers). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits).replace(/\.0$/, "")} ${UNITS[unit]}`;
}
