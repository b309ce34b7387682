/**
 * Quay's fresh-login rule (`@require_fresh_login`): some changes (password, email, app tokens,
 * deleting an account or organization, every superuser change) need a session whose password was
 * proven lately, else the API answers 401 `fresh_login_required`. Quay's UI then asks for the
 * password, proves it with `POST /api/v1/signin/verify` and tries the action again; so does
 * `useFreshLogin()`. Each screen passes its own wording, which its browser tests look for.
 */
import { useCallback, useId, useRef, useState } from "react";
import { api, ApiFailure } from "../api/client";
import { useMutation } from "../api/hooks";
import { ErrorBanner } from "./feedback";
import { TextField } from "./fields";
import { Modal } from "./Modal";

export const isFreshLoginRequired = (err: unknown) =>
  err instanceof ApiFailure && err.status === 401 && err.errorType === "fresh_login_required";

export interface FreshLoginWording {
  title: string;
  intro: string;
  /** The password field's label. */
  label: string;
  /** The submit button's name. */
  submit: string;
  /** The error a cancelled prompt gives the action; without it, the API's own refusal. */
  cancelled?: string;
}

export type WithFreshLogin = <T>(action: () => Promise<T>) => Promise<T>;

/** `wording` should be a constant: the prompt is rebuilt with it on every render. */
export function useFreshLogin(wording: FreshLoginWording): { withFreshLogin: WithFreshLogin; prompt: React.ReactNode } {
  const [asking, setAsking] = useState(false);
  const settle = useRef<((proven: boolean) => void) | null>(null);
  const cancelled = wording.cancelled;

  /** Runs `action`; when the session is too old, asks for the password once and runs it again. */
  const withFreshLogin = useCallback<WithFreshLogin>(
    async (action) => {
      try {
        return await action();
      } catch (err) {
        if (!isFreshLoginRequired(err)) throw err;
        const proven = await new Promise<boolean>((resolve) => {
          settle.current = resolve;
          setAsking(true);
        });
        if (!proven) throw cancelled === undefined ? err : new ApiFailure(401, cancelled);
        return action();
      }
    },
    [cancelled],
  );

  const finish = (proven: boolean) => {
    setAsking(false);
    settle.current?.(proven);
    settle.current = null;
  };
  const prompt = <FreshLoginPrompt wording={wording} open={asking} onDone={finish} />;
  return { withFreshLogin, prompt };
}

function FreshLoginPrompt({
  wording,
  open,
  onDone,
}: {
  wording: FreshLoginWording;
  open: boolean;
  onDone: (proven: boolean) => void;
}) {
  const [password, setPassword] = useState("");
  const formId = useId();
  const verify = useMutation((secret: string) => api("POST", "/signin/verify", { body: { password: secret } }));
  const finish = (proven: boolean) => {
    setPassword("");
    verify.clear();
    onDone(proven);
  };
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if ((await verify.run(password)) !== undefined) finish(true);
  };
  return (
    <Modal
      title={wording.title}
      open={open}
      onClose={() => finish(false)}
      footer={
        <>
          <button type="button" className="btn" onClick={() => finish(false)}>
            Cancel
          </button>
          <button type="submit" form={formId} className="btn btn-primary" disabled={verify.busy || !password}>
            {wording.submit}
          </button>
        </>
      }
    >
      <form id={formId} onSubmit={submit}>
        <p>{wording.intro}</p>
        <ErrorBanner error={verify.error} />
        <TextField
          label={wording.label}
          type="password"
          autoComplete="current-password"
          required
          autoFocus
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </form>
    </Modal>
  );
}
