/**
 * Organization mirroring end to end (issue #16): a second Wharf on loopback is the `quay` source
 * (it speaks Quay's `/api/v1/repository?namespace=…`); images are pushed to an organization there
 * with skopeo; an organization of `npm start` mirrors it, configured through Quay's API with an
 * OAuth token of the source (`$oauthtoken`: a Bearer for the listing, Basic for the token dance of
 * each repository mirror). Sync-now runs the discovery in the queue consumer; the repositories the
 * filters match appear in the organization in state MIRROR and their tags sync; a second sync adds
 * a new repository and leaves the others.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { type RunningServer, startWharf } from "./helpers/server";
import { allowOutboundTo, putTestImage, startWharfUpstream } from "./helpers/upstream-registries";

const SOURCE_ORG = "projectquay";
const ORG = "mirrored";
let source: Awaited<ReturnType<typeof startWharfUpstream>>;
let wharf: RunningServer;

const api = (method: string, pathname: string, body?: unknown) =>
  apiCall(wharf.url, wharf.adminToken, method, pathname, body);
const sourceApi = (method: string, pathname: string, body?: unknown) =>
  apiCall(source.url, source.server.adminToken, method, pathname, body);

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: timed out\n${wharf.output()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function tags(repository: string): Promise<Record<string, string>> {
  const listed = await api("GET", `/repository/${ORG}/${repository}/tag/?onlyActiveTags=true`);
  return Object.fromEntries(
    listed.tags.map((t: { name: string; manifest_digest: string }) => [t.name, t.manifest_digest]),
  );
}

/** Sync-now, then the discovery's end status. */
async function discover(): Promise<string> {
  await api("POST", `/organization/${ORG}/mirror/sync-now`);
  return until("discovery", async () => {
    const status = (await api("GET", `/organization/${ORG}/mirror`)).sync_status as string;
    return status === "SYNC_NOW" || status === "SYNCING" ? undefined : status;
  });
}

/** Waits until the repository's tags are `expected` (its repository mirror synced them). */
const synced = (repository: string, expected: Record<string, string>) =>
  until(`tags of ${repository}`, async () => {
    const now = await tags(repository);
    const sorted = (tagged: Record<string, string>) => JSON.stringify(Object.entries(tagged).sort());
    return sorted(now) === sorted(expected) ? now : undefined;
  });

beforeAll(async () => {
  source = await startWharfUpstream("upstream");
  // The source's organization; its pusher `upstream` an owner.
  await sourceApi("POST", "/organization/", { name: SOURCE_ORG, email: "projectquay@example.com" });
  await sourceApi("PUT", `/organization/${SOURCE_ORG}/team/owners/members/upstream`);
  wharf = await startWharf({ env: { ALLOW_PRIVATE_OUTBOUND: allowOutboundTo(source) } });
  await api("POST", "/organization/", { name: ORG, email: "mirrored@example.com" });
  await api("PUT", `/organization/${ORG}/robots/syncbot`, {});
});

afterAll(async () => {
  await wharf?.stop();
  await source?.stop();
});

describe("an organization mirroring a second Wharf's organization", () => {
  const digests: Record<string, string> = {};

  it("verifies the connection, discovers the repositories the filters match, and their tags sync", async () => {
    digests.one = (await putTestImage(source, `${SOURCE_ORG}/app-one`, ["v1", "latest"])).digest;
    digests.two = (await putTestImage(source, `${SOURCE_ORG}/app-two`, ["2.0"])).digest;
    await putTestImage(source, `${SOURCE_ORG}/skipped`, ["x"]);
    await api("POST", `/organization/${ORG}/mirror`, {
      external_registry_type: "quay",
      external_registry_url: source.url,
      external_namespace: SOURCE_ORG,
      robot_username: `${ORG}+syncbot`,
      visibility: "private",
      sync_interval: 86400,
      sync_start_date: "2099-01-01T00:00:00Z",
      external_registry_username: "$oauthtoken",
      external_registry_password: source.server.adminToken,
      repository_filters: ["app-*"],
    });
    const view = await api("GET", `/organization/${ORG}/mirror`);
    expect(view.has_external_registry_password).toBe(true);
    expect(JSON.stringify(view)).not.toContain(source.server.adminToken);
    expect(await api("POST", `/organization/${ORG}/mirror/verify`)).toEqual({
      success: true,
      message: "Connection successful",
    });

    expect(await discover()).toBe("SUCCESS");
    const listed = await api("GET", `/organization/${ORG}/mirror/repositories`);
    expect(
      listed.repositories.map((r: { name: string; quay_repository: string }) => [r.name, r.quay_repository]),
    ).toEqual([
      ["app-one", `${ORG}/app-one`],
      ["app-two", `${ORG}/app-two`],
    ]);
    expect((await api("GET", `/repository/${ORG}/app-one`)).state).toBe("MIRROR");
    await expect(api("GET", `/repository/${ORG}/skipped`)).rejects.toThrow(/404/);
    await synced("app-one", { latest: digests.one!, v1: digests.one! });
    await synced("app-two", { "2.0": digests.two! });
  });

  it("a second discovery adds the new repository and leaves the others", async () => {
    const before = await api("GET", `/repository/${ORG}/app-one/mirror`);
    digests.three = (await putTestImage(source, `${SOURCE_ORG}/app-three`, ["v3"])).digest;
    expect(await discover()).toBe("SUCCESS");
    await synced("app-three", { v3: digests.three! });
    const listed = await api("GET", `/organization/${ORG}/mirror/repositories`);
    expect(listed.total).toBe(3);
    const after = await api("GET", `/repository/${ORG}/app-one/mirror`);
    expect(after.external_reference).toBe(before.external_reference);
    expect(await tags("app-one")).toEqual({ latest: digests.one!, v1: digests.one! });
  });
});
