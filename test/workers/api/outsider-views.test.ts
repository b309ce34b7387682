/**
 * What an outsider (anonymous, or any signed-in stranger) can read about a person from the views
 * issue #14 added for everyone: `GET /api/v1/entities/{prefix}` (every person, ten at a time),
 * `GET /api/v1/users/{username}` and the namespaces of `GET /api/v1/find/*`. Never their email,
 * nor a value derived from it alone that confirms a guessed address (an unsalted hash).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../../src/lib/encoding";
import { makeUser, pushAs, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";

const EMAIL = "carol.secret@example.com";
let stranger: string;

beforeAll(async () => {
  const admin = await initializeAdmin();
  await api("POST", "/superuser/users", { token: admin, body: { username: "carol", email: EMAIL } });
  await makeUser(admin, "stranger");
  stranger = await tokenFor("stranger");
  await pushAs("carol", "carol/public-app");
  await api("POST", "/repository/carol/public-app/changevisibility", {
    token: await tokenFor("carol"),
    body: { visibility: "public" },
  });
});

/** Every string anywhere in `value`. */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === "object") return Object.values(value).flatMap(strings);
  return [];
}

describe("a person as outsiders see them", () => {
  it("carries neither the email nor an unsalted hash of it", async () => {
    const guesses = [EMAIL, await sha256Hex(EMAIL)];
    for (const token of [undefined, stranger]) {
      for (const path of ["/entities/car", "/users/carol", "/find/all?query=carol", "/find/repositories?query=carol"]) {
        const res = await api("GET", path, { token });
        expect(res.status, path).toBe(200);
        expect(JSON.stringify(res.json), path).toContain("carol");
        for (const guess of guesses)
          expect(strings(res.json), `${path} ${token ? "stranger" : "anonymous"}`).not.toContain(guess);
      }
    }
  });
});
