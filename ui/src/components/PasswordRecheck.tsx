/**
 * Quay's fresh login: an action the API marks `@require_fresh_login` answers 401
 * `fresh_login_required` when the session proved its password too long ago. `useFreshLogin()` wraps
 * such an action: on that answer it asks the password (`POST /api/v1/signin/verify`), then tries
 * the action again; a cancelled prompt rejects with the original refusal.
 */
import { useCallback, useRef, useState } from "react";
import { api, ApiFailure } from "../api/client";
import { ErrorBanner } from "./feedback";
import { TextField } from "./fields";
import { Modal } from "./Modal";

interface Pending {
  resolve: () => void;
  reject: (err: unknown) => void;
  refusal: ApiFailure;
}

export function useFreshLogin() {
  const [pending, setPending] = useState<Pending | null>(null);
  const pendingRef = useRef<Pending | null>(null);
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiFailure | null>(null);
  const [busy, setBusy] = useState(false);

  const withFreshLogin = useCallback(async <T,>(action: () => Promise<T>): Promise<T> => {
    try {
      return await action();
    } catch (err) {
      if (!(err instanceof ApiFailure && err.status === 401 && err.errorType === "fresh_login_required")) throw err;
      await new Promise<void>((resolve, reject) => {
        const next = { resolve, reject, refusal: err };
        pendingRef.current = next;
        setPending(next);
      });
      return action();
    }
  }, []);

  const close = (verified: boolean) => {
    const current = pendingRef.current;
    pendingRef.current = null;
    setPending(null);
    setPassword("");
    setError(null);
    if (!current) return;
    if (verified) current.resolve();
    else current.reject(current.refusal);
  };

  const verify = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      await api("POST", "/signin/verify", { body: { password } });
      close(true);
    } catch (err) {
      setError(err instanceof ApiFailure ? err : new ApiFailure(0, String(err)));
    } finally {
      setBusy(false);
    }
  };

  const prompt = (
    <Modal title="Confirm your password" open={pending !== null} onClose={() => close(false)}>
      <form onSubmit={verify}>
        <p>This change needs your password again: your sign-in is no longer recent.</p>
        <ErrorBanner error={error} />
        <TextField
          label="Password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <button type="submit" className="btn btn-primary" disabled={busy || !password}>
          Confirm
        </button>
      </form>
    </Modal>
  );
  return { withFreshLogin, prompt };
}
