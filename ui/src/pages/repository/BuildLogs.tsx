/**
 * A build's live log (Quay's build logs view): `GET …/build/{uuid}/logs?start=N` every 2 seconds
 * while the build runs, each answer's lines appended (Quay's `{start, total, logs}`; a page short of
 * the total is followed at once by the next), and one last read once it ended. Lines are text, never HTML: a Dockerfile's `RUN echo '<script>'` shows as
 * written. Phase lines head their section; commands and errors stand out. "Download logs" saves
 * the lines read as a text file.
 */
import { useEffect, useRef, useState } from "react";
import { api, type ApiFailure } from "../../api/client";
import { ErrorBanner } from "../../components/feedback";
import { type BuildLogEntry, type BuildLogPage, phaseLabel } from "./build-types";

export const LOG_POLL_MS = 2000;

/** A log line as a person reads it (phase lines name the phase). */
export function lineText(entry: BuildLogEntry): string {
  const message = typeof entry.message === "string" ? entry.message : "";
  if (entry.type === "phase") return message ? phaseLabel(message) : "";
  return message;
}

/** The log as a text file: one line per entry, phases marked. */
export function logText(entries: BuildLogEntry[]): string {
  return `${entries.map((e) => (e.type === "phase" ? `== ${lineText(e)} ==` : lineText(e))).join("\n")}\n`;
}

export function BuildLogs({ base, uuid, running }: { base: string; uuid: string; running: boolean }) {
  const [entries, setEntries] = useState<BuildLogEntry[]>([]);
  const [error, setError] = useState<ApiFailure | undefined>(undefined);
  const next = useRef(0);
  const follow = useRef(true);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const controller = new AbortController();
    const read = async () => {
      try {
        const page = await api<BuildLogPage>("GET", `${base}/logs`, {
          query: { start: next.current },
          signal: controller.signal,
        });
        const lines = Array.isArray(page?.logs) ? page.logs : [];
        if (stopped) return;
        const start = typeof page?.start === "number" ? page.start : next.current;
        // Only what is new: an answer that starts before what was read overlaps it.
        const fresh = lines.slice(Math.max(0, next.current - start));
        next.current = start + lines.length;
        if (fresh.length) setEntries((all) => [...all, ...fresh]);
        setError(undefined);
        // An answer is a page (Quay's logs come 1,000 lines at a time): read on at once to the total.
        if (!stopped && lines.length > 0 && typeof page?.total === "number" && next.current < page.total) {
          timer = setTimeout(read, 0);
          return;
        }
      } catch (err) {
        if ((err as Error).name === "AbortError") return;
        setError(err as ApiFailure);
      }
      if (!stopped && running) timer = setTimeout(read, LOG_POLL_MS);
    };
    read();
    return () => {
      stopped = true;
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [base, running]);

  // Keep the newest line in view while the reader is at the bottom (scrolling up stops following).
  useEffect(() => {
    const el = box.current;
    if (el && follow.current && entries.length) el.scrollTop = el.scrollHeight;
  }, [entries]);

  const download = () => {
    const url = URL.createObjectURL(new Blob([logText(entries)], { type: "text/plain" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `build-${uuid}.log`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  return (
    <section className="build-logs-section" aria-labelledby="build-logs-heading">
      <div className="section-head">
        <h2 id="build-logs-heading">Build logs</h2>
        <button type="button" className="btn" onClick={download} disabled={entries.length === 0}>
          Download logs
        </button>
      </div>
      <ErrorBanner error={error} />
      <div
        ref={box}
        className="build-log"
        role="log"
        aria-label="Build log"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the log scrolls, and a keyboard user must be able to scroll it (axe's scrollable-region-focusable).
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          follow.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {entries.length === 0 ? (
          <p className="hint">{running ? "Waiting for the builder’s first line…" : "This build wrote no log."}</p>
        ) : (
          entries.map((entry, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: log lines only ever append, so the index is the line's identity.
            <div key={i} className={`log-line log-${entry.type ?? "text"}`}>
              {lineText(entry)}
            </div>
          ))
        )}
      </div>
    </section>
  );
}
