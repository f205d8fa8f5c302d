import { describe, expect, it } from "vitest";
import { tenantFromHost } from "./config.ts";
import { quotaText } from "./pages/FilesPage.tsx";
import { navItems } from "./Shell.tsx";

const labels = (options: Parameters<typeof navItems>[0]) => navItems(options).map((i) => i.label);

describe("navigation by role", () => {
  it("never shows admin pages to a member", () => {
    expect(labels({ tenant: "acme", isAdmin: false, isOperator: false })).toEqual(["Chat", "Files", "Profile"]);
  });
  it("shows Usage, Settings and Users to a tenant admin", () => {
    expect(labels({ tenant: "acme", isAdmin: true, isOperator: false })).toEqual(["Chat", "Files", "Usage", "Settings", "Users", "Profile"]);
  });
  it("shows Operator to the operator (no tenant)", () => {
    expect(labels({ tenant: null, isAdmin: false, isOperator: true })).toEqual(["Operator"]);
  });
});

describe("tenant from the host", () => {
  it("takes the first label of a tenant host and none of a bare host", () => {
    expect(tenantFromHost("acme.localhost")).toBe("acme");
    expect(tenantFromHost("globex.app.example.com")).toBe("globex");
    expect(tenantFromHost("localhost")).toBeNull();
    expect(tenantFromHost("127.0.0.1")).toBeNull();
  });
});

describe("quota text", () => {
  it("says X of Y, or what is used without a quota", () => {
    expect(quotaText({ used_bytes: 1_200_000, quota_bytes: 100_000_000 }, [])).toBe("1.2 MB of 100 MB used");
    expect(quotaText({ used_bytes: null, quota_bytes: null }, [{ size: 2000 } as never])).toBe("2 KB used");
  });
});
