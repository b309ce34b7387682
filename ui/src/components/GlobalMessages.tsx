/**
 * The messages superusers post for everyone (Quay's global messages, `GET /api/v1/messages`, open
 * to anyone), as banners above every screen. The content is shown as text, never as HTML: a
 * `text/markdown` message keeps its line breaks but is not rendered.
 */
import { useApi } from "../api/hooks";
import { useSession } from "../session";
import "./global-messages.css";

export interface GlobalMessage {
  uuid: string;
  content: string;
  media_type: string;
  severity: "info" | "warning" | "error";
}

const BANNER: Record<string, string> = {
  info: "banner banner-info",
  warning: "banner banner-warning",
  error: "banner banner-error",
};

const SEVERITY: Record<string, string> = { info: "Notice", warning: "Warning", error: "Important" };

export function GlobalMessageBanner({ message }: { message: GlobalMessage }) {
  return (
    <div className={`${BANNER[message.severity] ?? BANNER.info} global-message`} data-severity={message.severity}>
      <strong>{SEVERITY[message.severity] ?? SEVERITY.info}: </strong>
      <span className="global-message-text">{message.content}</span>
    </div>
  );
}

export function GlobalMessages() {
  // A registry that cannot answer shows no messages rather than an error above every screen.
  const messages = useApi<{ messages: GlobalMessage[] }>("/messages");
  const { config } = useSession();
  const list = messages.data?.messages ?? [];
  const readOnly = config.registry_state === "readonly";
  if (list.length === 0 && !readOnly) return null;
  const title = String(config.config?.REGISTRY_TITLE_SHORT ?? "The registry");
  return (
    <section className="global-messages" aria-label="Messages from the registry's administrators">
      {readOnly && (
        // Quay's banner for REGISTRY_STATE=readonly (its `registry_state` in /config).
        <div className="banner banner-warning global-message" data-severity="readonly" role="status">
          <strong>Read-only: </strong>
          <span className="global-message-text">
            {title} is currently in read-only mode. Pulls and other read-only operations will succeed but all other
            changes are currently disabled.
          </span>
        </div>
      )}
      {list.map((message) => (
        <GlobalMessageBanner key={message.uuid} message={message} />
      ))}
    </section>
  );
}
