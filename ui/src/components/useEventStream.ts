/**
 * The live event stream (README "Live event stream"): `EventSource` on an `/api/v1/…/events` path,
 * which sends the session cookie by itself. Each registry event arrives as a named SSE event (its
 * kind: `push_repo`, `create_tag`…); `reset` means the stream lost its place and whatever the
 * screen shows must be read again. EventSource reconnects on its own (the server sends `retry:`)
 * and resumes with `Last-Event-ID`; the stream is closed when the component unmounts.
 */
import { useEffect, useRef } from "react";

/** An event of docs/events.md as the stream sends it. */
export interface RegistryEvent {
  id: string;
  kind: string;
  at: number;
  namespace: string;
  repository: { id: number; name: string } | null;
  actor: { kind: string; name?: string } | null;
  data: Record<string, unknown>;
}

export interface EventStreamOptions {
  /** The event kinds to listen to (SSE event names). */
  kinds: readonly string[];
  /** Called for each event of those kinds. */
  onEvent: (event: RegistryEvent) => void;
  /** Called after a `reset` (events were missed): read the screen's data again. */
  onReset?: () => void;
}

/**
 * Subscribes to `/api/v1{path}` while mounted (null: not yet). The callbacks may change on every
 * render without reopening the stream.
 */
export function useEventStream(path: string | null, options: EventStreamOptions): void {
  const latest = useRef(options);
  latest.current = options;
  const kinds = options.kinds.join(",");

  useEffect(() => {
    if (path === null || typeof EventSource === "undefined") return;
    const source = new EventSource(`/api/v1${path}`, { withCredentials: true });
    const deliver = (message: MessageEvent<string>) => {
      let event: RegistryEvent;
      try {
        event = JSON.parse(message.data) as RegistryEvent;
      } catch {
        return; // Not an event of ours (a comment line never reaches here; this is defence only).
      }
      latest.current.onEvent(event);
    };
    const reset = () => latest.current.onReset?.();
    const names = kinds.split(",").filter(Boolean);
    for (const name of names) source.addEventListener(name, deliver as EventListener);
    source.addEventListener("reset", reset);
    return () => {
      for (const name of names) source.removeEventListener(name, deliver as EventListener);
      source.removeEventListener("reset", reset);
      source.close();
    };
  }, [path, kinds]);
}
