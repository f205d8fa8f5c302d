import { describe, expect, it } from "vitest";
import { formatBytes, fraction, uploadWithProgress } from "./upload.ts";

/** A stand-in XMLHttpRequest that records the request and lets the test drive its events. */
class FakeXhr {
  method = "";
  url = "";
  headers: Record<string, string> = {};
  body: unknown = null;
  status = 0;
  upload: { onprogress: ((e: ProgressEvent) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  send(body: unknown) {
    this.body = body;
  }
  abort() {
    this.onabort?.();
  }
  progress(loaded: number, total: number) {
    this.upload.onprogress?.({ loaded, total, lengthComputable: true } as ProgressEvent);
  }
}

describe("upload", () => {
  it("PUTs the file with the presigned headers and reports progress to completion", async () => {
    const xhr = new FakeXhr();
    const seen: number[] = [];
    const file = new Blob(["x".repeat(1000)], { type: "text/plain" });
    const handle = uploadWithProgress(
      { url: "http://127.0.0.1:8000/_storage/acme/library/f1?signature=s", method: "PUT", headers: { "content-type": "text/plain", "content-length": "1000" } },
      file,
      (f) => seen.push(f),
      () => xhr as unknown as XMLHttpRequest,
    );
    expect(xhr.method).toBe("PUT");
    expect(xhr.url).toContain("signature=s");
    expect(xhr.headers).toEqual({ "content-type": "text/plain" }); // the browser sets content-length
    expect(xhr.body).toBe(file);
    xhr.progress(250, 1000);
    xhr.progress(750, 1000);
    xhr.status = 200;
    xhr.onload?.();
    await handle.done;
    expect(seen).toEqual([0.25, 0.75, 1]);
  });

  it("rejects when the storage refuses, fails or the upload is cancelled", async () => {
    for (const [drive, message] of [
      [(x: FakeXhr) => { x.status = 403; x.onload?.(); }, "HTTP 403"],
      [(x: FakeXhr) => x.onerror?.(), "could not be reached"],
      [(x: FakeXhr) => x.abort(), "cancelled"],
    ] as const) {
      const xhr = new FakeXhr();
      const handle = uploadWithProgress({ url: "u", method: "PUT", headers: {} }, new Blob(["a"]), () => undefined, () => xhr as unknown as XMLHttpRequest);
      drive(xhr);
      await expect(handle.done).rejects.toThrow(message);
    }
  });

  it("computes fractions and sizes as people read them", () => {
    expect(fraction(5, 10)).toBe(0.5);
    expect(fraction(5, 0)).toBe(0);
    expect(fraction(20, 10)).toBe(1);
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1200)).toBe("1.2 KB");
    expect(formatBytes(1_200_000)).toBe("1.2 MB");
    expect(formatBytes(100_000_000)).toBe("100 MB");
  });
});
