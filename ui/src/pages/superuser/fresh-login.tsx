/**
 * Quay's `@require_fresh_login`: a superuser's changes answer 401 `fresh_login_required` when the
 * session proved its password longer ago than FRESH_LOGIN_TIMEOUT. `useFreshLogin()` wraps a call:
 * on that answer it asks the password, proves it (`POST /api/v1/signin/verify`) and runs the call
 * again; a cancelled prompt lets the original refusal through.
 */
import { createContext, useCallback, useContext, useId, useRef, useState } from "react";
import { api, ApiFailure } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { ErrorBanner } from "../../components/feedback";
import { TextField } from "../../components/fields";
import { Modal } from "../../components/Modal";

type Fresh = <T>(action: () => Promise<T>) => Promise<T>;

const FreshLoginContext = createContext<Fresh>((action) => action());

export const isFreshLoginRequired = (err: unknown) =>
  err instanceof ApiFailure && err.status === 401 && err.errorType === "fresh_login_required";

export function FreshLoginProvider({ children }: { children: React.ReactNode }) {
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState("");
  const settle = useRef<((proven: boolean) => void) | null>(null);
  const formId = useId();
  const verify = useMutation((secret: string) => api("POST", "/signin/verify", { body: { password: secret } }));

  const fresh = useCallback<Fresh>(async (action) => {
    try {
      return await action();
    } catch (err) {
      if (!isFreshLoginRequired(err)) throw err;
      const proven = await new Promise<boolean>((resolve) => {
        settle.current = resolve;
        setOpen(true);
      });
      if (!proven) throw err;
      return action();
    }
  }, []);

  const finish = (proven: boolean) => {
    setOpen(false);
    setPassword("");
    verify.clear();
    settle.current?.(proven);
    settle.current = null;
  };
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if ((await verify.run(password)) !== undefined) finish(true);
  };

  return (
    <FreshLoginContext.Provider value={fresh}>
      {children}
      <Modal
        title="Confirm your password"
        open={open}
        onClose={() => finish(false)}
        footer={
          <>
            <button type="button" className="btn" onClick={() => finish(false)}>
              Cancel
            </button>
            <button type="submit" form={formId} className="btn btn-primary" disabled={verify.busy || !password}>
              Confirm
            </button>
          </>
        }
      >
        <form id={formId} onSubmit={submit}>
          <p>This change needs a recent sign-in. Enter your password to go on.</p>
          <TextField
            label="Your password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <ErrorBanner error={verify.error} />
        </form>
      </Modal>
    </FreshLoginContext.Provider>
  );
}

/** Runs a superuser call, asking for the password again when the API wants a fresh login. */
export const useFreshLogin = () => useContext(FreshLoginContext);
