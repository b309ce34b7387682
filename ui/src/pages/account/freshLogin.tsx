/**
 * Quay's fresh-login rule (`@require_fresh_login`): changing the password or email, creating an
 * application token and deleting the account need a browser session whose password was proven
 * lately. The API then answers 401 `fresh_login_required`; Quay's UI asks for the password,
 * proves it with `POST /api/v1/signin/verify` and tries the action again. So does this hook.
 */
import { useCallback, useRef, useState } from "react";
import { api, ApiFailure } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { ErrorBanner } from "../../components/feedback";
import { TextField } from "../../components/fields";
import { Modal } from "../../components/Modal";

const isFreshLoginRequired = (err: unknown) =>
  err instanceof ApiFailure && err.status === 401 && err.errorType === "fresh_login_required";

export function useFreshLogin() {
  const [asking, setAsking] = useState(false);
  const answer = useRef<((proven: boolean) => void) | null>(null);

  /** Runs `action`; when the session is too old, asks for the password once and runs it again. */
  const withFreshLogin = useCallback(async <T,>(action: () => Promise<T>): Promise<T> => {
    try {
      return await action();
    } catch (err) {
      if (!isFreshLoginRequired(err)) throw err;
      const proven = await new Promise<boolean>((resolve) => {
        answer.current = resolve;
        setAsking(true);
      });
      if (!proven) throw new ApiFailure(401, "Your password is needed to do this: nothing was changed.");
      return action();
    }
  }, []);

  const finish = (proven: boolean) => {
    setAsking(false);
    answer.current?.(proven);
    answer.current = null;
  };
  const dialog = <VerifyPasswordDialog open={asking} onDone={finish} />;
  return { withFreshLogin, dialog };
}

function VerifyPasswordDialog({ open, onDone }: { open: boolean; onDone: (proven: boolean) => void }) {
  const [password, setPassword] = useState("");
  const verify = useMutation((pw: string) => api("POST", "/signin/verify", { body: { password: pw } }));
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    const done = await verify.run(password);
    if (done === undefined) return;
    setPassword("");
    onDone(true);
  };
  const cancel = () => {
    setPassword("");
    verify.clear();
    onDone(false);
  };
  return (
    <Modal title="Please verify your password" open={open} onClose={cancel}>
      <form onSubmit={submit}>
        <p>It has been a while since you signed in: confirm your current password to continue.</p>
        <ErrorBanner error={verify.error} />
        <TextField
          label="Current password"
          type="password"
          autoComplete="current-password"
          required
          autoFocus
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <div className="form-actions">
          <button type="button" className="btn" onClick={cancel}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={verify.busy || !password}>
            Verify
          </button>
        </div>
      </form>
    </Modal>
  );
}
