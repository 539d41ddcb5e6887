import { ok, type Api, type MenuItem } from "../../api/client";

/**
 * The menu, revalidated on every read: the API lets browsers keep it for 60 s
 * (Cache-Control: public, max-age=60), but a chef's change should show at once,
 * and a revalidation with the ETag costs a 304.
 */
export async function fetchMenu(api: Api): Promise<MenuItem[]> {
  const { data } = await ok(api.GET("/menu", { cache: "no-cache" }));
  return data.items;
}
