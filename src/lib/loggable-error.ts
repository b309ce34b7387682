/**
 * An error as a log line may carry it. drizzle's query errors read "Failed query: <sql>\nparams:
 * <every bound value>": the values of an insert or a lookup include password and token hashes,
 * sealed secrets, email addresses and whatever a caller sent. Logs keep the statement and the
 * database's own reason (the error's `cause`, which `String(err)` alone drops) and withhold the
 * values (docs/threat-model.md, "Secrets in logs").
 */

const WITHHELD = "\nparams: (withheld)";

/** The error's message, its query parameters withheld, with its causes' messages appended. */
export function loggableError(err: unknown, depth = 0): string {
  const text = String(err).replace(/\nparams: [\s\S]*$/, WITHHELD);
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause === undefined || depth >= 3 ? text : `${text} (cause: ${loggableError(cause, depth + 1)})`;
}

/** The error's stack, its query parameters withheld. */
export function loggableStack(err: unknown): string | undefined {
  const stack = (err as Error | null)?.stack;
  return stack?.replace(/\nparams: [\s\S]*?(?=\n\s+at |$)/, WITHHELD);
}
