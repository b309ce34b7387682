/**
 * The README's table of the log kinds Wharf records (between the `log-kinds` markers) is the
 * catalogue's logged kinds plus `pull_repo`, no more and no fewer; and every kind the table marks
 * "yes" has its entry asserted by one of the action-log test files.
 */
import { describe, expect, it } from "vitest";
import readme from "../../../README.md?raw";
import accountTests from "./logged-account-kinds.test.ts?raw";
import tokenTests from "./logged-token-kinds.test.ts?raw";
import identityTests from "./logged-identity-kinds.test.ts?raw";
import repositoryTests from "./logged-repository-kinds.test.ts?raw";
import apiTests from "../api/action-logs.test.ts?raw";
import exportTests from "../api/log-export-rules.test.ts?raw";
import namespaceNotificationTests from "../api/namespace-notifications.test.ts?raw";
import quotaTests from "./logged-quota-kinds.test.ts?raw";
import mirrorSyncTests from "../mirror/sync.test.ts?raw";
import orgMirrorApiTests from "../mirror/org-mirror-api.test.ts?raw";
import orgMirrorSyncTests from "../mirror/org-sync.test.ts?raw";
import externalLoginTests from "../api/external-login.test.ts?raw";
import connectorTests from "../connector/superuser-connectors.test.ts?raw";
import triggerTests from "../triggers/logged-kinds.test.ts?raw";
import buildTests from "../builds/build-action-logs.test.ts?raw";
import metricsTokenTests from "../metrics/metrics.test.ts?raw";
import fairUseTests from "../fairuse/fair-use-routes.test.ts?raw";
import { CATALOGUE, type EventKind } from "../../../src/events/catalogue";
import { isLogged } from "../../../src/events/logs-metadata";

function table(): { kinds: string[]; tested: string[] } {
  const start = readme.indexOf("<!-- log-kinds:start -->");
  const end = readme.indexOf("<!-- log-kinds:end -->");
  if (start < 0 || end < start) throw new Error("README: the log-kinds markers are missing");
  const rows = readme
    .slice(start, end)
    .split("\n")
    .filter((line) => line.startsWith("| `"));
  const kinds: string[] = [];
  const tested: string[] = [];
  for (const row of rows) {
    const cells = row.split(" | ");
    const names = [...cells[0]!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
    kinds.push(...names);
    if (row.trimEnd().endsWith("| yes |")) tested.push(...names);
  }
  return { kinds, tested };
}

describe("README's log kinds", () => {
  it("lists every logged kind of the catalogue, and pull_repo, once", () => {
    const logged = (Object.keys(CATALOGUE) as EventKind[]).filter(isLogged);
    const { kinds } = table();
    expect([...kinds].sort()).toEqual([...logged, "pull_repo"].sort());
  });

  it("a kind marked tested is asserted by an action-log test", () => {
    const sources =
      identityTests +
      repositoryTests +
      accountTests +
      tokenTests +
      apiTests +
      exportTests +
      namespaceNotificationTests +
      quotaTests +
      mirrorSyncTests +
      orgMirrorApiTests +
      orgMirrorSyncTests +
      externalLoginTests +
      connectorTests +
      triggerTests +
      buildTests +
      metricsTokenTests +
      fairUseTests;
    for (const kind of table().tested) expect(sources, kind).toContain(`"${kind}"`);
  });
});
