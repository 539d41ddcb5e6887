import { createContext, useContext, useMemo, type ReactNode } from "react";

import { useAuth } from "../features/auth/AuthProvider";
import { createApi, type Api } from "./client";

const ApiContext = createContext<Api | null>(null);

export function ApiProvider({ baseUrl, children }: { baseUrl: string; children: ReactNode }) {
  const token = useAuth().session?.accessToken ?? null;
  // A new client when the session changes: what pages loaded with the old one is read again.
  const api = useMemo(() => createApi(baseUrl, () => token), [baseUrl, token]);
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (api === null) throw new Error("useApi outside ApiProvider");
  return api;
}
