/**
 * Quay's "Docker CLI password": the docker CLI keeps a password typed at `docker login` in plain
 * text, so Quay offers an encrypted version of it (`POST /api/v1/user/clientkey`) that registry
 * clients accept in its place and that is useless anywhere else.
 */
import { useState } from "react";
import { api } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { CopyField } from "../../components/CopyField";
import { ErrorBanner } from "../../components/feedback";
import { TextField } from "../../components/fields";
import { Modal } from "../../components/Modal";

export function CliPassword({ username, host }: { username: string; host: string }) {
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState("");
  const [key, setKey] = useState<string | null>(null);
  const generate = useMutation((pw: string) =>
    api<{ key: string }>("POST", "/user/clientkey", { body: { password: pw } }),
  );
  const close = () => {
    setOpen(false);
    setPassword("");
    setKey(null);
    generate.clear();
  };
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    const answer = await generate.run(password);
    if (!answer) return;
    setPassword("");
    setKey(answer.key);
  };
  return (
    <section className="card" aria-labelledby="account-cli-password">
      <h2 id="account-cli-password">Docker CLI password</h2>
      <p className="hint">
        The docker CLI stores a password typed at <code>docker login</code> in plain text: use an encrypted version of
        your password there instead.
      </p>
      <button type="button" className="btn" onClick={() => setOpen(true)}>
        Generate encrypted password
      </button>
      <Modal title="Generate an encrypted password" open={open} onClose={close}>
        {key === null ? (
          <form onSubmit={submit}>
            <ErrorBanner error={generate.error} />
            <TextField
              label="Your password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
            <div className="form-actions">
              <button type="button" className="btn" onClick={close}>
                Cancel
              </button>
              <button type="submit" className="btn btn-primary" disabled={generate.busy || !password}>
                Generate
              </button>
            </div>
          </form>
        ) : (
          <>
            <CopyField label="Encrypted password" value={key} />
            <CopyField label="Docker login" value={`docker login -u='${username}' -p='${key}' ${host}`} />
            <div className="form-actions">
              <button type="button" className="btn btn-primary" onClick={close}>
                Done
              </button>
            </div>
          </>
        )}
      </Modal>
    </section>
  );
}
