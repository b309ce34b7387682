/** Errors as logs carry them (src/lib/loggable-error.ts): a query's bound values never reach a log line. */
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { loggableError, loggableStack } from "../../src/lib/loggable-error";

describe("loggable errors", () => {
  it("withhold a failed query's parameters, keep its statement and D1's reason", async () => {
    const secret = "pbkdf2_sha256$600000$c2FsdA$aGFzaA-of-a-password";
    let caught: unknown;
    try {
      // A LIKE pattern over D1's 50-byte limit fails the statement, as a long search term did.
      await database(env.DB).run(sql`select 1 where ${secret} like ${"%".repeat(60)}`);
    } catch (err) {
      caught = err;
    }
    expect(String(caught)).toContain(secret);
    const line = loggableError(caught);
    expect(line).not.toContain(secret);
    expect(line).toContain("params: (withheld)");
    expect(line).toMatch(/select 1 where/);
    expect(line).toMatch(/LIKE or GLOB pattern too complex/);
    const stack = loggableStack(caught)!;
    expect(stack).not.toContain(secret);
    expect(stack).toMatch(/\n\s+at /);
  });

  it("leave other errors as they are", () => {
    expect(loggableError(new Error("plain failure"))).toBe("Error: plain failure");
    expect(loggableError("a string")).toBe("a string");
    expect(loggableError(null)).toBe("null");
    expect(loggableStack(undefined)).toBeUndefined();
  });
});
