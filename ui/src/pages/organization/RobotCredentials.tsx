/**
 * A robot's credentials dialog, as Quay's: the token (`GET …/robots/{short}`, read only when the
 * dialog opens, so the list never carries tokens) in each client's format with a copy button,
 * downloads of the Kubernetes secret and `config.json`, and "Regenerate token" (`POST
 * …/regenerate`), after which the old token no longer logs in.
 */
import { useEffect, useState } from "react";
import { api, seg } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { CopyField } from "../../components/CopyField";
import { ConfirmDialog, Modal } from "../../components/Modal";
import { credentialFormats, type CredentialFormat } from "./robot-formats";
import "./organization.css";

export interface RobotView {
  name: string;
  description?: string;
  created?: string;
  last_accessed?: string | null;
  token?: string;
  teams?: { name: string }[];
  repositories?: string[];
}

export const shortNameOf = (name: string) => name.slice(name.indexOf("+") + 1);

function download(format: CredentialFormat) {
  const url = URL.createObjectURL(new Blob([format.value], { type: "text/plain" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = format.file ?? "credentials.txt";
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function RobotCredentials({
  base,
  robot,
  onClose,
}: {
  /** `/organization/{org}/robots` or `/user/robots`. */
  base: string;
  /** The robot to show (null: closed); a token it carries (just created) is shown without asking again. */
  robot: RobotView | null;
  onClose: () => void;
}) {
  const toast = useToast();
  const [token, setToken] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const path = robot ? `${base}/${seg(shortNameOf(robot.name))}` : null;
  const load = useMutation((at: string) => api<RobotView>("GET", at));
  const regenerate = useMutation((at: string) => api<RobotView>("POST", `${at}/regenerate`));

  // biome-ignore lint/correctness/useExhaustiveDependencies: reads the token once per robot opened; `load` is stable.
  useEffect(() => {
    setToken(robot?.token ?? null);
    load.clear();
    regenerate.clear();
    if (path && !robot?.token) load.run(path).then((view) => view?.token && setToken(view.token));
  }, [path]);

  const formats = robot && token ? credentialFormats(location.host, robot.name, token) : [];
  // The confirmation is the credentials dialog's sibling, not its child: a child <dialog>'s close
  // event would reach the outer dialog's onClose through React's tree and close it too.
  return (
    <>
      <Modal title={robot ? `Credentials for ${robot.name}` : "Credentials"} open={robot !== null} onClose={onClose}>
        <ErrorBanner error={load.error} />
        <ErrorBanner error={regenerate.error} title="Regenerating the token" />
        {load.busy ? <Spinner label="Loading the token" /> : null}
        {formats.length ? (
          <div className="robot-formats">
            {formats.map((format) => (
              <div key={format.id} data-format={format.id}>
                <CopyField label={format.label} value={format.value} multiline={format.multiline} />
                {format.file ? (
                  <button type="button" className="btn" onClick={() => download(format)}>
                    Download {format.file}
                  </button>
                ) : null}
              </div>
            ))}
            <p className="hint">
              Keep the token secret: it logs in as the robot. Regenerating it makes the current one stop working at
              once.
            </p>
            <div>
              <button
                type="button"
                className="btn btn-danger"
                disabled={regenerate.busy}
                onClick={() => setConfirming(true)}
              >
                {regenerate.busy ? "Regenerating…" : "Regenerate token"}
              </button>
            </div>
          </div>
        ) : null}
      </Modal>
      <ConfirmDialog
        open={confirming}
        title="Regenerate token"
        confirmLabel="Regenerate token"
        message={`Give ${robot?.name ?? "the robot"} a new token? Whatever logs in with the current one will stop working.`}
        busy={regenerate.busy}
        onClose={() => setConfirming(false)}
        onConfirm={async () => {
          setConfirming(false);
          if (!path) return;
          const view = await regenerate.run(path);
          if (view?.token) {
            setToken(view.token);
            toast(`A new token for ${view.name}`);
          }
        }}
      />
    </>
  );
}
