/**
 * A tag's actions, Quay's kebab menu: add a tag on the same manifest (a name already in use
 * moves that tag here, as Quay's "Add new tag" does), change or clear the expiration, make it
 * immutable or mutable again (administrators), delete it (kept in the tag history, restorable
 * within the time-machine window). Each is `PUT|DELETE /api/v1/repository/{repository}/tag/{tag}`.
 */
import { useEffect, useRef, useState } from "react";
import { api, repoPath, seg } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { ErrorBanner, useToast } from "../../components/feedback";
import { TextField } from "../../components/fields";
import { formatDate, shortDigest, toDate } from "../../components/format";
import { ConfirmDialog, Modal } from "../../components/Modal";
import type { Tag } from "./tag-types";
import type { Repository } from "./types";

type Dialog = "add" | "expiration" | "delete" | null;

/** `YYYY-MM-DDTHH:MM` in local time, what <input type="datetime-local"> reads and writes. */
function localInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function TagActions({
  tag,
  repo,
  repository,
  tags,
  done,
}: {
  tag: Tag;
  repo: Repository;
  repository: string;
  /** The tags on screen, to say when a new name moves an existing tag. */
  tags: Tag[];
  /** Called after a change: the list is read again. */
  done: () => void;
}) {
  const toast = useToast();
  const [menu, setMenu] = useState(false);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [newName, setNewName] = useState("");
  const [expires, setExpires] = useState("");
  const menuRef = useRef<HTMLDivElement>(null);
  const tagPath = (name: string) => `${repoPath(repository)}/tag/${seg(name)}`;
  const change = useMutation((name: string, body: Record<string, unknown>) => api("PUT", tagPath(name), { body }));
  const remove = useMutation(() => api("DELETE", tagPath(tag.name)));

  // The menu closes on Escape and on a click elsewhere.
  useEffect(() => {
    if (!menu) return;
    const close = (event: Event) => {
      if (event instanceof KeyboardEvent ? event.key === "Escape" : !menuRef.current?.contains(event.target as Node))
        setMenu(false);
    };
    document.addEventListener("mousedown", close);
    document.addEventListener("keydown", close);
    return () => {
      document.removeEventListener("mousedown", close);
      document.removeEventListener("keydown", close);
    };
  }, [menu]);

  if (!repo.can_write && !repo.can_admin) return null;

  const open = (which: Dialog) => {
    setMenu(false);
    change.clear();
    remove.clear();
    if (which === "add") setNewName("");
    if (which === "expiration") {
      const current = toDate(tag.expiration ?? null);
      setExpires(localInput(current ?? new Date(Date.now() + 7 * 86_400_000)));
    }
    setDialog(which);
  };
  const finish = (message: string) => {
    setDialog(null);
    toast(message);
    done();
  };

  const moved = tags.find((t) => t.name === newName.trim() && t.name !== tag.name);
  const addTag = async () => {
    const name = newName.trim();
    if ((await change.run(name, { manifest_digest: tag.manifest_digest })) === undefined) return;
    finish(moved ? `Tag ${name} moved to ${shortDigest(tag.manifest_digest)}` : `Tag ${name} added`);
  };
  const setExpiration = async (clear: boolean) => {
    const when = clear ? null : Math.floor(new Date(expires).getTime() / 1000);
    if (when !== null && Number.isNaN(when)) return;
    if ((await change.run(tag.name, { expiration: when })) === undefined) return;
    finish(clear ? `Tag ${tag.name} no longer expires` : `Tag ${tag.name} expires ${formatDate(when)}`);
  };
  const toggleImmutable = async () => {
    setMenu(false);
    const immutable = !tag.immutable;
    try {
      await api("PUT", tagPath(tag.name), { body: { immutable } });
    } catch (err) {
      toast((err as Error).message, "error");
      return;
    }
    finish(immutable ? `Tag ${tag.name} is immutable` : `Tag ${tag.name} is mutable again`);
  };
  const deleteTag = async () => {
    if ((await remove.run()) === undefined) return;
    finish(`Tag ${tag.name} deleted`);
  };

  return (
    <div className="tag-actions" ref={menuRef}>
      <button
        type="button"
        className="btn-icon"
        aria-expanded={menu}
        aria-label={`Actions for tag ${tag.name}`}
        onClick={() => setMenu(!menu)}
      >
        ⋮
      </button>
      {menu ? (
        <ul className="menu tag-menu">
          {repo.can_write ? (
            <>
              <MenuItem onClick={() => open("add")}>Add new tag</MenuItem>
              <MenuItem onClick={() => open("expiration")}>Change expiration</MenuItem>
            </>
          ) : null}
          {repo.can_admin ? (
            <MenuItem onClick={toggleImmutable}>{tag.immutable ? "Make mutable" : "Make immutable"}</MenuItem>
          ) : null}
          {repo.can_write ? <MenuItem onClick={() => open("delete")}>Delete tag</MenuItem> : null}
        </ul>
      ) : null}

      <Modal
        title={`Add a tag to ${shortDigest(tag.manifest_digest)}`}
        open={dialog === "add"}
        onClose={() => setDialog(null)}
        footer={
          <>
            <button type="button" className="btn" onClick={() => setDialog(null)}>
              Cancel
            </button>
            <button
              type="button"
              className="btn btn-primary"
              disabled={change.busy || !newName.trim()}
              onClick={addTag}
            >
              {moved ? "Move tag" : "Create tag"}
            </button>
          </>
        }
      >
        <ErrorBanner error={change.error} />
        <TextField
          label="New tag name"
          value={newName}
          maxLength={128}
          autoFocus
          onChange={(e) => setNewName(e.target.value)}
          onKeyDown={(e) => e.key === "Enter" && newName.trim() && addTag()}
        />
        {moved ? (
          <p className="banner banner-warning">
            Tag {moved.name} now points at {shortDigest(moved.manifest_digest)}: it will move to{" "}
            {shortDigest(tag.manifest_digest)} (the old one stays in the tag history).
          </p>
        ) : null}
      </Modal>

      <Modal
        title={`Expiration of ${tag.name}`}
        open={dialog === "expiration"}
        onClose={() => setDialog(null)}
        footer={
          <>
            {tag.expiration ? (
              <button type="button" className="btn" disabled={change.busy} onClick={() => setExpiration(true)}>
                Clear expiration
              </button>
            ) : null}
            <button type="button" className="btn" onClick={() => setDialog(null)}>
              Cancel
            </button>
            <button
              type="button"
              className="btn btn-primary"
              disabled={change.busy || !expires}
              onClick={() => setExpiration(false)}
            >
              Set expiration
            </button>
          </>
        }
      >
        <ErrorBanner error={change.error} />
        <p>
          {tag.expiration ? `Now expires ${formatDate(tag.expiration)}.` : "Now it never expires."} When a tag expires
          it leaves the repository and stays restorable in the tag history for the time-machine window.
        </p>
        <TextField
          label="Expires at"
          type="datetime-local"
          value={expires}
          onChange={(e) => setExpires(e.target.value)}
        />
      </Modal>

      <ConfirmDialog
        open={dialog === "delete"}
        title={`Delete tag ${tag.name}?`}
        message={`The tag ${tag.name} leaves the repository; the image stays restorable from the tag history within the time-machine window.`}
        confirmLabel="Delete tag"
        busy={remove.busy}
        onConfirm={deleteTag}
        onClose={() => setDialog(null)}
      >
        <ErrorBanner error={remove.error} />
      </ConfirmDialog>
    </div>
  );
}

function MenuItem({ onClick, children }: { onClick: () => void; children: React.ReactNode }) {
  return (
    <li>
      <button type="button" className="btn-plain" onClick={onClick}>
        {children}
      </button>
    </li>
  );
}
