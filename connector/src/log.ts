/** The connector's own log: one line per event on stderr, with the time, for an operator's journal. */

export function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} wharf-connector: ${message}\n`);
}

/** A short, single-line description of an error for a log line or a failure message. */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Why a fetch failed: undici's "fetch failed" hides the reason (ECONNREFUSED, a TLS error) in its cause. */
export function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return [cause?.code, cause?.message, (err as Error).message].find((s) => typeof s === "string" && s) ?? String(err);
}
