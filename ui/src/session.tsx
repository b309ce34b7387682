/**
 * Who is signed in (`GET /api/v1/user/`, Quay's field names) and what the registry offers
 * (`GET /config`, Quay's public configuration: features and external logins). Both requests
 * start together when the app loads.
 */
import { createContext, useCallback, useContext, useEffect, useState } from "react";
import { api, ApiFailure, resetCsrf } from "./api/client";

export interface CurrentUser {
  username: string;
  email?: string;
  verified?: boolean;
  avatar?: { name: string; hash: string; color: string; kind: string };
  super_user?: boolean;
  organizations?: { name: string; avatar?: unknown; is_org_admin?: boolean; can_create_repo?: boolean }[];
  can_create_repo?: boolean;
  preferred_namespace?: boolean;
  [field: string]: unknown;
}

export interface ExternalLogin {
  id: string;
  title: string;
  icon?: string;
}

/** Quay's `/config` answer, as far as the UI reads it. */
export interface PublicConfig {
  config?: Record<string, unknown>;
  features?: Record<string, boolean>;
  external_login?: ExternalLogin[];
  /** Quay's REGISTRY_STATE: `readonly` shows the read-only banner above every screen. */
  registry_state?: "normal" | "readonly";
  /** Beyond Quay: the registry has no account yet (first-user setup on the sign-in page). */
  needs_initialization?: boolean;
}

interface Session {
  user: CurrentUser | null;
  config: PublicConfig;
  loading: boolean;
  /** Reads the user again (after sign-in, a profile change). */
  refresh: () => Promise<CurrentUser | null>;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<Session>({
  user: null,
  config: {},
  loading: true,
  refresh: async () => null,
  signOut: async () => {},
});

async function readUser(): Promise<CurrentUser | null> {
  try {
    return await api<CurrentUser>("GET", "/user/");
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) return null;
    throw err;
  }
}

async function readConfig(): Promise<PublicConfig> {
  const res = await fetch("/config", { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!res.ok) return {};
  return (await res.json().catch(() => ({}))) as PublicConfig;
}

export function SessionProvider({ children }: { children: React.ReactNode }) {
  const [user, setUser] = useState<CurrentUser | null>(null);
  const [config, setConfig] = useState<PublicConfig>({});
  const [loading, setLoading] = useState(true);

  const refresh = useCallback(async () => {
    resetCsrf();
    // The configuration too: signing in can change it (the first user's setup ends
    // `needs_initialization`).
    const [found, cfg] = await Promise.all([readUser().catch(() => null), readConfig().catch(() => ({}))]);
    setUser(found);
    if (Object.keys(cfg).length > 0) setConfig(cfg);
    return found;
  }, []);

  useEffect(() => {
    Promise.all([readUser().catch(() => null), readConfig().catch(() => ({}))]).then(([found, cfg]) => {
      setUser(found);
      setConfig(cfg);
      setLoading(false);
    });
  }, []);

  const signOut = useCallback(async () => {
    await api("POST", "/signout").catch(() => undefined);
    resetCsrf();
    setUser(null);
  }, []);

  return (
    <SessionContext.Provider value={{ user, config, loading, refresh, signOut }}>{children}</SessionContext.Provider>
  );
}

export const useSession = () => useContext(SessionContext);

/** Whether a Quay feature flag is on in `/config` (`fallback` when the registry does not say). */
export function useFeature(name: string, fallback = false): boolean {
  const { config } = useSession();
  return config.features?.[name] ?? fallback;
}
