/** The API client as the admin pages use it: the session's client, narrowed for tests. */
import type { Api } from "../api.ts";
import { useSession } from "../session.tsx";

export type AdminApi = Pick<Api, "get" | "post" | "put" | "patch" | "delete">;

/** The signed-in session's API client. */
export function useAdminApi(): AdminApi {
  return useSession().api;
}
