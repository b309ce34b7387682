/**
 * The README's catalogue of Quay's operations ("Quay's API, operation by operation", between the
 * `quay-operations` markers) and Wharf's discovery document are one list: every row marked
 * `implemented` is served with that operationId, verb and path, every served operation is a row
 * marked `implemented`, and Quay's internal and superuser operations are shown only with
 * `internal=true`, as Quay's discovery shows its `@internal_only` ones.
 */
import { describe, expect, it } from "vitest";
import readme from "../../../README.md?raw";
import { api } from "../helpers/api";

interface Row {
  line: string;
  file: string;
  nickname: string;
  verb: string;
  path: string;
  guards: string;
  wharf: string;
}

const VERBS = new Set(["GET", "POST", "PUT", "DELETE"]);
const WHARF_ANSWER = /^(implemented|#1[4-9]|#2[01]|left out: \S.*|remaining)$/;

/** The table between the markers: one row per line, six cells, the Wharf column last. */
function catalogue(text: string): { rows: Row[]; malformed: string[]; summary: string } {
  const start = text.indexOf("<!-- quay-operations:start -->");
  const end = text.indexOf("<!-- quay-operations:end -->");
  if (start < 0 || end < start) throw new Error("README: the quay-operations markers are missing");
  const section = text.slice(start, end);
  const rows: Row[] = [];
  const malformed: string[] = [];
  for (const line of section.split("\n")) {
    if (!line.startsWith("|") || /^\|\s*(Quay file|-)/.test(line)) continue;
    const cells = line
      .split("|")
      .slice(1, -1)
      .map((cell) => cell.trim());
    const [file = "", nickname = "", verb = "", path = "", guards = "", wharf = ""] = cells;
    const row = { line, file, nickname, verb, path, guards, wharf };
    const wellFormed =
      cells.length === 6 &&
      /^[\w.()]+$/.test(file) &&
      /^[a-zA-Z]+$/.test(nickname) &&
      VERBS.has(verb) &&
      /^\/api\/v1\/\S*$/.test(path) &&
      WHARF_ANSWER.test(wharf);
    if (wellFormed) rows.push(row);
    else malformed.push(line);
  }
  return { rows, malformed, summary: section };
}

/** Same operation whatever the parameters are named, with or without a trailing slash. */
const samePath = (path: string) => path.replace(/\{[^}]+\}/g, "{}").replace(/\/+$/, "");
const operationKey = (verb: string, path: string) => `${verb} ${samePath(path)}`;

interface Served {
  operationId: string;
  verb: string;
  path: string;
}

function served(document: { paths: Record<string, Record<string, unknown>> }): Served[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).flatMap(([verb, operation]) =>
      VERBS.has(verb.toUpperCase()) && operation && typeof operation === "object"
        ? [{ operationId: (operation as { operationId: string }).operationId, verb: verb.toUpperCase(), path }]
        : [],
    ),
  );
}

const isInternal = (row: Row) => /\b(internal|superuser)\b/.test(row.guards);

describe("README's catalogue of Quay's operations", () => {
  const { rows, malformed, summary } = catalogue(readme);

  it("has only well-formed rows, each nickname once", () => {
    expect(malformed).toEqual([]);
    expect(rows.length).toBeGreaterThan(280);
    const seen = new Set<string>();
    const repeated = rows.filter((row) => seen.size === seen.add(row.nickname).size).map((row) => row.nickname);
    expect(repeated).toEqual([]);
  });

  it("states the counts of its own table", () => {
    const quay = rows.filter((row) => row.file !== "(Wharf)");
    const implemented = quay.filter((row) => row.wharf === "implemented").length;
    const stated = /\*\*(\d+)\s+operations\*\*:\s+(\d+)\s+implemented;/.exec(summary);
    expect(stated?.slice(1).map(Number), "the summary's **N operations**: M implemented;").toEqual([
      quay.length,
      implemented,
    ]);
  });

  it("marks implemented exactly what Wharf's discovery document serves, with the same verb and path", async () => {
    const res = await api("GET", "/discovery?internal=true");
    expect(res.status).toBe(200);
    const operations = served(res.json);
    const byId = new Map(operations.map((op) => [op.operationId, op]));
    const byNickname = new Map(rows.map((row) => [row.nickname, row]));

    // (a) Implemented in the table, so served: same operationId, verb and path.
    const missing = rows
      .filter((row) => row.wharf === "implemented")
      .filter((row) => {
        const op = byId.get(row.nickname);
        return !op || operationKey(op.verb, op.path) !== operationKey(row.verb, row.path);
      })
      .map((row) => `${row.nickname} ${row.verb} ${row.path}`);
    expect(missing, "rows marked implemented that discovery does not serve so").toEqual([]);

    // (b) Served, so in the table and marked implemented (the list cannot drift).
    const unlisted = operations
      .filter((op) => byNickname.get(op.operationId)?.wharf !== "implemented")
      .map((op) => `${op.operationId} ${op.verb} ${op.path}`);
    expect(unlisted, "served operations the table does not mark implemented").toEqual([]);
  });

  it("shows the internal and superuser rows only with internal=true, the others always", async () => {
    const plain = served((await api("GET", "/discovery")).json);
    const shown = new Set(plain.map((op) => op.operationId));
    const implemented = rows.filter((row) => row.wharf === "implemented");
    expect(implemented.filter((row) => isInternal(row) && shown.has(row.nickname)).map((row) => row.nickname)).toEqual(
      [],
    );
    expect(
      implemented.filter((row) => !isInternal(row) && !shown.has(row.nickname)).map((row) => row.nickname),
    ).toEqual([]);
  });
});

describe("the catalogue's parser", () => {
  const table = (...lines: string[]) =>
    [
      "<!-- quay-operations:start -->",
      "| Quay file | nickname | verb | path | guards | Wharf |",
      "| --- | --- | --- | --- | --- | --- |",
      ...lines,
      "<!-- quay-operations:end -->",
    ].join("\n");

  it("refuses a row with a wrong cell count, verb, path or Wharf answer", () => {
    const { rows, malformed } = catalogue(
      table(
        "| repository.py | getRepo | GET | /api/v1/repository/{repository} |  | implemented |",
        "| repository.py | getRepo | FETCH | /api/v1/repository/{repository} |  | implemented |",
        "| repository.py | getRepo | GET | /repository/{repository} |  | implemented |",
        "| repository.py | getRepo | GET | /api/v1/repository/{repository} |  | done |",
        "| repository.py | getRepo | GET | /api/v1/repository/{repository} | implemented |",
        "| billing.py | listPlans | GET | /api/v1/plans/ | show_if BILLING | left out: |",
      ),
    );
    expect(rows.map((row) => row.nickname)).toEqual(["getRepo"]);
    expect(malformed).toHaveLength(5);
  });

  it("accepts the issue numbers and the reasons", () => {
    const { rows, malformed } = catalogue(
      table(
        "| logs.py | listRepoLogs | GET | /api/v1/repository/{repository}/logs |  | #15 |",
        "| billing.py | listPlans | GET | /api/v1/plans/ | show_if BILLING | left out: billing |",
        "| superuser.py | x | POST | /api/v1/superusers/users/{username}/sendrecovery | internal; superuser | remaining |",
      ),
    );
    expect(malformed).toEqual([]);
    expect(rows.map((row) => row.wharf)).toEqual(["#15", "left out: billing", "remaining"]);
    expect(rows.map(isInternal)).toEqual([false, false, true]);
  });

  it("compares paths whatever the parameters are named, with or without a trailing slash", () => {
    expect(operationKey("GET", "/api/v1/user/robots/{robot_shortname}")).toBe(
      operationKey("GET", "/api/v1/user/robots/{shortname}"),
    );
    expect(operationKey("GET", "/api/v1/repository/{repository}/tag/")).toBe(
      operationKey("GET", "/api/v1/repository/{repository}/tag"),
    );
    expect(operationKey("GET", "/api/v1/user/robots")).not.toBe(operationKey("PUT", "/api/v1/user/robots"));
  });
});
