/**
 * Posting and deleting the messages every user sees (Quay's `createGlobalMessage`,
 * `deleteGlobalMessage`): content, severity and media type, as Quay's superuser panel offers them.
 */
import { useState } from "react";
import { api, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { SelectField } from "../../components/fields";
import { GlobalMessageBanner } from "../../components/GlobalMessages";
import { ConfirmDialog } from "../../components/Modal";
import type { GlobalMessage } from "./types";

const SEVERITIES = [
  { value: "info", label: "Information" },
  { value: "warning", label: "Warning" },
  { value: "error", label: "Error" },
];
const MEDIA_TYPES = [
  { value: "text/plain", label: "Plain text" },
  { value: "text/markdown", label: "Markdown" },
];

export function GlobalMessagesAdmin() {
  const messages = useApi<{ messages: GlobalMessage[] }>("/messages");
  const toast = useToast();
  const [content, setContent] = useState("");
  const [severity, setSeverity] = useState("info");
  const [mediaType, setMediaType] = useState("text/plain");
  const [deleting, setDeleting] = useState<GlobalMessage | null>(null);
  const create = useMutation(() =>
    api("POST", "/messages", { body: { message: { content: content.trim(), severity, media_type: mediaType } } }),
  );
  const remove = useMutation((uuid: string) => api("DELETE", `/message/${seg(uuid)}`));
  const list = messages.data?.messages ?? [];

  return (
    <section className="card" aria-labelledby="su-messages-title">
      <h2 id="su-messages-title">Global messages</h2>
      <p className="hint">Shown as a banner above every screen, to everyone, signed in or not.</p>
      <ErrorBanner error={messages.error} />
      {messages.loading && !messages.data ? <Spinner label="Loading messages" /> : null}
      {messages.data && list.length === 0 ? <EmptyState title="No messages posted" /> : null}
      {list.length ? (
        <ul className="su-messages">
          {list.map((message) => (
            <li key={message.uuid}>
              <GlobalMessageBanner message={message} />
              <button
                type="button"
                className="btn"
                aria-label={`Delete message: ${message.content.slice(0, 60)}`}
                onClick={() => setDeleting(message)}
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <form
        className="su-message-form"
        onSubmit={async (event) => {
          event.preventDefault();
          if ((await create.run()) !== undefined) {
            toast("Message posted");
            setContent("");
            messages.reload();
          }
        }}
      >
        <div className="field">
          <label htmlFor="su-message-content">New message</label>
          <textarea
            id="su-message-content"
            rows={3}
            required
            maxLength={65536}
            value={content}
            onChange={(e) => setContent(e.target.value)}
          />
        </div>
        <div className="toolbar">
          <SelectField
            label="Severity"
            options={SEVERITIES}
            value={severity}
            onChange={(e) => setSeverity(e.target.value)}
          />
          <SelectField
            label="Format"
            options={MEDIA_TYPES}
            value={mediaType}
            onChange={(e) => setMediaType(e.target.value)}
          />
          <button type="submit" className="btn btn-primary" disabled={create.busy || !content.trim()}>
            {create.busy ? "Posting…" : "Post message"}
          </button>
        </div>
        <ErrorBanner error={create.error} />
      </form>
      {deleting ? (
        <ConfirmDialog
          open
          title="Delete this message?"
          message={deleting.content}
          busy={remove.busy}
          onClose={() => {
            remove.clear();
            setDeleting(null);
          }}
          onConfirm={async () => {
            if ((await remove.run(deleting.uuid)) !== undefined) {
              toast("Message deleted");
              setDeleting(null);
              messages.reload();
            }
          }}
        >
          <ErrorBanner error={remove.error} />
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
