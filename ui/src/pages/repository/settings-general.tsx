/**
 * The Settings tab's plain sections: description (`PUT /repository/{repo}`), visibility (`POST
 * …/changevisibility`), state (`PUT …/changestate`: NORMAL, READ_ONLY, MIRROR) and deletion
 * (`DELETE /repository/{repo}`, confirmed by typing the repository's name, as Quay asks).
 */
import { useId, useState } from "react";
import { api, repoPath } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { ErrorBanner, useToast } from "../../components/feedback";
import { SelectField, TextField } from "../../components/fields";
import { ConfirmDialog } from "../../components/Modal";
import { navigate } from "../../router";
import type { RepositoryTabProps } from "./types";

export function DescriptionSection({ repo, repository, reload }: RepositoryTabProps) {
  const id = useId();
  const toast = useToast();
  const [text, setText] = useState(repo.description ?? "");
  const save = useMutation(() => api("PUT", repoPath(repository), { body: { description: text } }));
  return (
    <section className="card settings-section" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Description</h2>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          if ((await save.run()) === undefined) return;
          toast("Description saved");
          reload();
        }}
      >
        <div className="field">
          <label htmlFor={id}>Repository description (Markdown)</label>
          <textarea id={id} className="wide" rows={4} value={text} onChange={(e) => setText(e.target.value)} />
        </div>
        <ErrorBanner error={save.error} />
        <button type="submit" className="btn btn-primary" disabled={save.busy || text === (repo.description ?? "")}>
          Save description
        </button>
      </form>
    </section>
  );
}

export function VisibilitySection({ repo, repository, reload }: RepositoryTabProps) {
  const id = useId();
  const toast = useToast();
  const target = repo.is_public ? "private" : "public";
  const change = useMutation(() =>
    api("POST", `${repoPath(repository)}/changevisibility`, { body: { visibility: target } }),
  );
  return (
    <section className="card settings-section" aria-labelledby={id}>
      <h2 id={id}>Repository visibility</h2>
      <p>
        This repository is <strong>{repo.is_public ? "public" : "private"}</strong>:{" "}
        {repo.is_public
          ? "anyone can see and pull it."
          : "only people, robots and teams with a permission can see and pull it."}
      </p>
      <ErrorBanner error={change.error} />
      <button
        type="button"
        className="btn"
        disabled={change.busy}
        onClick={async () => {
          if ((await change.run()) === undefined) return;
          toast(`The repository is now ${target}`);
          reload();
        }}
      >
        Make {target}
      </button>
    </section>
  );
}

const STATES = [
  { value: "NORMAL", label: "Normal" },
  { value: "READ_ONLY", label: "Read only" },
  { value: "MIRROR", label: "Mirror" },
];

export function StateSection({ repo, repository, reload, mirroring }: RepositoryTabProps & { mirroring: boolean }) {
  const id = useId();
  const toast = useToast();
  const current = repo.state ?? "NORMAL";
  const [state, setState] = useState(current);
  const change = useMutation(() => api("PUT", `${repoPath(repository)}/changestate`, { body: { state } }));
  const options = STATES.filter((s) => mirroring || s.value !== "MIRROR" || current === "MIRROR");
  return (
    <section className="card settings-section" aria-labelledby={id}>
      <h2 id={id}>Repository state</h2>
      <p className="hint">
        Read only refuses every push and tag change; Mirror lets only the mirror's robot write (configure it on the
        Mirroring tab).
      </p>
      <form
        className="settings-row"
        onSubmit={async (e) => {
          e.preventDefault();
          if ((await change.run()) === undefined) return;
          toast(`State changed to ${state}`);
          reload();
        }}
      >
        <SelectField label="State" value={state} options={options} onChange={(e) => setState(e.target.value)} />
        <button type="submit" className="btn btn-primary" disabled={change.busy || state === current}>
          Change state
        </button>
      </form>
      <ErrorBanner error={change.error} />
    </section>
  );
}

export function DeleteSection({ repository }: RepositoryTabProps) {
  const id = useId();
  const toast = useToast();
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState("");
  const remove = useMutation(() => api("DELETE", repoPath(repository)));
  return (
    <section className="card settings-section settings-danger" aria-labelledby={id}>
      <h2 id={id}>Delete repository</h2>
      <p>Deleting a repository removes it, its tags and its history. It cannot be undone.</p>
      <button
        type="button"
        className="btn btn-danger"
        onClick={() => {
          setTyped("");
          remove.clear();
          setOpen(true);
        }}
      >
        Delete repository
      </button>
      <ConfirmDialog
        open={open}
        title="Delete repository"
        confirmLabel="Delete repository"
        busy={remove.busy || typed !== repository}
        onClose={() => setOpen(false)}
        onConfirm={async () => {
          if (typed !== repository) return;
          if ((await remove.run()) === undefined) return;
          setOpen(false);
          toast(`Deleted ${repository}`);
          navigate("/repository/");
        }}
        message={
          <>
            This deletes <strong>{repository}</strong> for good. Type its name to confirm.
          </>
        }
      >
        <TextField
          label="Repository name"
          value={typed}
          autoComplete="off"
          onChange={(e) => setTyped(e.target.value)}
        />
        <ErrorBanner error={remove.error} />
      </ConfirmDialog>
    </section>
  );
}
