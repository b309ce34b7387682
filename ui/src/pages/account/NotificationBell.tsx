/**
 * The bell in the header: how many in-app notifications (Quay's `quay_notification` method) the
 * signed-in user has not dismissed, and a popover listing them. Quay keeps one flag per
 * notification, `dismissed`: marking one read dismisses it (`PUT /api/v1/user/notifications/{id}`).
 * The list is read when the bell mounts, every minute while the page is visible, and on opening.
 */
import { useCallback, useEffect, useId, useRef, useState } from "react";
import { api, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { ErrorBanner } from "../../components/feedback";
import { formatDate, formatRelative } from "../../components/format";
import { Link, useLocation } from "../../router";
import "./account.css";
import { describeNotification, notificationLink, type UserNotification } from "./notificationText";

const REFRESH_MS = 60_000;
/** How many the popover lists; beyond that the count reads "N+" (Quay's `additional`). */
const PAGE = 20;

export default function NotificationBell() {
  const notes = useApi<{ notifications: UserNotification[]; additional: boolean }>("/user/notifications", {
    limit: PAGE,
  });
  const { reload } = notes;
  const [open, setOpen] = useState(false);
  const [place, setPlace] = useState<{ top: number; right: number }>({ top: 0, right: 0 });
  const button = useRef<HTMLButtonElement>(null);
  const popover = useRef<HTMLDivElement>(null);
  const popoverId = useId();
  const { pathname } = useLocation();

  // Another screen (back button, a link elsewhere) closes the popover.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on each change of screen only.
  useEffect(() => setOpen(false), [pathname]);

  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") reload();
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);

  const close = useCallback((returnFocus: boolean) => {
    setOpen(false);
    if (returnFocus) button.current?.focus();
  }, []);

  // Escape closes and gives focus back to the bell; a click elsewhere closes.
  useEffect(() => {
    if (!open) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") {
        event.preventDefault();
        close(true);
      }
    };
    const onPointer = (event: PointerEvent) => {
      const target = event.target as Node;
      if (!popover.current?.contains(target) && !button.current?.contains(target)) close(false);
    };
    // The popover is fixed: it follows the bell when the page scrolls or the window resizes.
    const follow = () => setPlace(placeUnder(button.current));
    document.addEventListener("keydown", onKey);
    document.addEventListener("pointerdown", onPointer);
    window.addEventListener("scroll", follow, { passive: true });
    window.addEventListener("resize", follow);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("pointerdown", onPointer);
      window.removeEventListener("scroll", follow);
      window.removeEventListener("resize", follow);
    };
  }, [open, close]);

  const dismiss = useMutation(async (ids: string[]) => {
    for (const id of ids) await api("PUT", `/user/notifications/${seg(id)}`, { body: { dismissed: true } });
    return true;
  });
  const markRead = async (ids: string[]) => {
    if (!(await dismiss.run(ids))) return;
    notes.set(
      (current) => current && { ...current, notifications: current.notifications.filter((n) => !ids.includes(n.id)) },
    );
    reload();
    popover.current?.focus();
  };

  const list = notes.data?.notifications ?? [];
  const count = list.length;
  const countText = notes.data?.additional ? `${count}+` : String(count);
  const label = count ? `Notifications, ${countText} unread` : "Notifications, none unread";
  return (
    <div className="bell">
      <button
        ref={button}
        type="button"
        className="bell-button"
        aria-label={label}
        aria-expanded={open}
        aria-controls={open ? popoverId : undefined}
        onClick={() => {
          if (!open) {
            reload();
            setPlace(placeUnder(button.current));
          }
          setOpen(!open);
        }}
      >
        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
          <path
            fill="currentColor"
            d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z"
          />
        </svg>
        {count ? (
          <span className="bell-count" aria-hidden="true">
            {countText}
          </span>
        ) : null}
      </button>
      {open ? (
        <div
          ref={popover}
          id={popoverId}
          className="bell-popover"
          style={{ top: place.top, right: place.right }}
          role="dialog"
          aria-label="Notifications"
          tabIndex={-1}
        >
          <div className="bell-head">
            <h2>Notifications</h2>
            {count > 1 ? (
              <button
                type="button"
                className="btn-plain"
                disabled={dismiss.busy}
                onClick={() => markRead(list.map((n) => n.id))}
              >
                Mark all read
              </button>
            ) : null}
          </div>
          <ErrorBanner error={notes.error ?? dismiss.error} />
          {notes.data && !count ? <p className="bell-empty">No unread notifications.</p> : null}
          {count ? (
            <ul className="bell-list">
              {list.map((note) => (
                <NotificationItem
                  key={note.id}
                  note={note}
                  busy={dismiss.busy}
                  onRead={() => markRead([note.id])}
                  onFollow={() => close(false)}
                />
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

/**
 * Where the popover goes: just below the bell, its right edge under the bell's but kept on
 * screen (on a phone the header wraps and the bell is not at the edge).
 */
function placeUnder(bell: HTMLElement | null): { top: number; right: number } {
  if (!bell) return { top: 56, right: 12 };
  const rect = bell.getBoundingClientRect();
  const width = Math.min(384, window.innerWidth - 24);
  const right = Math.max(12, Math.min(window.innerWidth - rect.right, window.innerWidth - width - 12));
  return { top: rect.bottom + 6, right };
}

function NotificationItem({
  note,
  busy,
  onRead,
  onFollow,
}: {
  note: UserNotification;
  busy: boolean;
  onRead: () => void;
  onFollow: () => void;
}) {
  const text = describeNotification(note);
  const to = notificationLink(note);
  return (
    <li className="bell-item">
      <div className="bell-text">
        {to ? (
          <Link to={to} onClick={onFollow}>
            {text}
          </Link>
        ) : (
          <span>{text}</span>
        )}
        <time dateTime={note.created} title={formatDate(note.created)}>
          {formatRelative(note.created)}
        </time>
      </div>
      <button type="button" className="btn" disabled={busy} aria-label={`Mark read: ${text}`} onClick={onRead}>
        Mark read
      </button>
    </li>
  );
}
