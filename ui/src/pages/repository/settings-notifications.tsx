/**
 * A repository's notifications (`GET|POST|DELETE …/notification/`), as Quay's "Events and
 * notifications": each with its event, method and target, its failures (Quay disables one after
 * three failed deliveries; "Reset failures" is `POST …/notification/{uuid}`), a test delivery
 * (`POST …/{uuid}/test`) and deletion after a confirmation.
 */
import { useId, useState } from "react";
import { api, repoPath, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { ConfirmDialog, Modal } from "../../components/Modal";
import { EVENTS, labelOf, METHODS, NotificationForm } from "./notification-form";
import type { RepositoryTabProps } from "./types";

interface Notification {
  uuid: string;
  title: string | null;
  event: string;
  method: string;
  config: Record<string, unknown>;
  event_config: Record<string, unknown>;
  number_of_failures: number;
}

/** Quay disables a notification after this many failed deliveries. */
const MAX_FAILURES = 3;

/** Where a notification goes, in words (never rendered as HTML). */
function targetOf(n: Notification): string {
  const c = n.config;
  if (n.method === "email") return String(c.email ?? "");
  if (n.method === "slack" || n.method === "webhook") return String(c.url ?? "");
  const target = c.target as { kind?: string; name?: string } | undefined;
  return target?.name ? `${target.kind} ${target.name}` : "";
}

export function NotificationsSection({ repo, repository }: RepositoryTabProps) {
  const id = useId();
  const toast = useToast();
  const base = `${repoPath(repository)}/notification/`;
  const list = useApi<{ notifications: Notification[] }>(base);
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Notification | null>(null);
  const act = useMutation(async (n: Notification, action: "test" | "reset" | "delete") => {
    const path = `${base}${seg(n.uuid)}`;
    if (action === "test") return api("POST", `${path}/test`);
    if (action === "reset") return api("POST", path);
    return api("DELETE", path);
  });
  const run = async (n: Notification, action: "test" | "reset" | "delete") => {
    if ((await act.run(n, action)) === undefined) return false;
    toast(
      action === "test"
        ? "Test notification queued"
        : action === "reset"
          ? "Failures reset: the notification is enabled"
          : "Notification deleted",
    );
    if (action !== "test") list.reload();
    return true;
  };
  const notifications = list.data?.notifications ?? [];

  return (
    <section className="card settings-section" aria-labelledby={id}>
      <h2 id={id}>Events and notifications</h2>
      <ErrorBanner error={list.error} />
      <ErrorBanner error={act.error} />
      {list.loading && !list.data ? <Spinner label="Loading notifications" /> : null}
      {list.data && notifications.length === 0 ? (
        <EmptyState title="No notifications">
          <p>Get told when images are pushed, tags expire or mirrors sync.</p>
        </EmptyState>
      ) : null}
      {notifications.length ? (
        <div className="table-wrap">
          <table className="data">
            <caption className="visually-hidden">Notifications</caption>
            <thead>
              <tr>
                <th scope="col">Title</th>
                <th scope="col">Event</th>
                <th scope="col">Notification</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {notifications.map((n) => {
                const name = n.title || labelOf(EVENTS, n.event);
                const disabled = n.number_of_failures >= MAX_FAILURES;
                return (
                  <tr key={n.uuid}>
                    <td>{n.title || "(untitled)"}</td>
                    <td>
                      {labelOf(EVENTS, n.event)}
                      {n.event === "repo_image_expiry" ? ` (${String(n.event_config.days ?? "")} days before)` : ""}
                    </td>
                    <td>
                      {labelOf(METHODS, n.method)}
                      <br />
                      <span className="hint">{targetOf(n)}</span>
                    </td>
                    <td>
                      {disabled ? (
                        <span className="badge badge-warning">Disabled after {n.number_of_failures} failures</span>
                      ) : n.number_of_failures > 0 ? (
                        `${n.number_of_failures} failed deliveries`
                      ) : (
                        "Enabled"
                      )}
                    </td>
                    <td>
                      <button
                        type="button"
                        className="btn-plain"
                        aria-label={`Test ${name}`}
                        onClick={() => run(n, "test")}
                      >
                        Test
                      </button>
                      {n.number_of_failures > 0 ? (
                        <button
                          type="button"
                          className="btn-plain"
                          aria-label={`Reset the failures of ${name}`}
                          onClick={() => run(n, "reset")}
                        >
                          Reset failures
                        </button>
                      ) : null}
                      <button
                        type="button"
                        className="btn-plain"
                        aria-label={`Delete ${name}`}
                        onClick={() => {
                          act.clear();
                          setDeleting(n);
                        }}
                      >
                        Delete
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
        Create notification
      </button>
      <Modal title="Create notification" open={creating} onClose={() => setCreating(false)}>
        <NotificationForm
          repository={repository}
          isOrganization={repo.is_organization !== false}
          onCreated={() => {
            setCreating(false);
            toast("Notification created");
            list.reload();
          }}
        />
      </Modal>
      <ConfirmDialog
        open={deleting !== null}
        title="Delete notification"
        busy={act.busy}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (deleting && (await run(deleting, "delete"))) setDeleting(null);
        }}
        message={
          <>
            Delete the notification <strong>{deleting ? deleting.title || labelOf(EVENTS, deleting.event) : ""}</strong>
            ?
          </>
        }
      />
    </section>
  );
}
