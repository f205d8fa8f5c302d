/** The API client as the admin pages use it (the console's own client, narrowed). */
import type { Api } from "../api";

export type AdminApi = Pick<Api, "get" | "post" | "put" | "patch" | "delete">;

// Filled in against the console's session once merged.
export function useAdminApi(): AdminApi {
  throw new Error("not wired yet");
}
