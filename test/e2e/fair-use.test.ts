/**
 * Fair use on loopback (issue #19's acceptance): a registry started with a namespace request
 * budget (FAIR_USE_NAMESPACE_REQUESTS_PER_MINUTE, through npm start's environment) and two tenants
 * pulling at once. The noisy one hammers its namespace and meets 429 TOOMANYREQUESTS with
 * Retry-After; the quiet one, pulling in the same period, meets none. Counts are asserted, not
 * latency (the bench reports the quiet tenant's latency).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registryHost } from "./helpers/clients";
import { pushOneLayerImage } from "./helpers/one-layer-image";
import { type RunningServer, startWharf } from "./helpers/server";

const BUDGET = 40;
let wharf: RunningServer;

beforeAll(async () => {
  wharf = await startWharf({ env: { FAIR_USE_NAMESPACE_REQUESTS_PER_MINUTE: String(BUDGET) } });
  for (const tenant of ["noisy", "quiet"])
    await pushOneLayerImage(
      wharf.url,
      registryHost(wharf.url),
      await wharf.credentialsFor(tenant),
      `${tenant}/app`,
      "1",
    );
}, 120_000);

afterAll(async () => {
  await wharf?.stop();
});

const pull = (tenant: string) =>
  wharf.login.fetch(`/v2/${tenant}/app/manifests/1`, {
    headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
  });

describe("a noisy tenant beside a quiet one", () => {
  it("gets 429s for its namespace while the quiet tenant's pulls in the same period get none", async () => {
    const noisy: Response[] = [];
    const quiet: Response[] = [];
    // Ten rounds: the noisy tenant sends 20 pulls at once, the quiet one 2, interleaved.
    for (let round = 0; round < 10; round++) {
      const [n, q] = await Promise.all([
        Promise.all(Array.from({ length: 20 }, () => pull("noisy"))),
        Promise.all(Array.from({ length: 2 }, () => pull("quiet"))),
      ]);
      noisy.push(...n);
      quiet.push(...q);
    }
    const statuses = (answers: Response[]) => answers.map((r) => r.status);
    const count = (answers: Response[], status: number) => statuses(answers).filter((s) => s === status).length;

    // The noisy tenant spent the rest of its burst (its push took a few) and was refused the rest.
    expect(count(noisy, 200) + count(noisy, 429)).toBe(200);
    expect(count(noisy, 200)).toBeLessThanOrEqual(BUDGET);
    expect(count(noisy, 429)).toBeGreaterThanOrEqual(200 - BUDGET);
    const refused = noisy.find((r) => r.status === 429)!;
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get("Retry-After"))).toBeLessThanOrEqual(60);
    expect(((await refused.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe("TOOMANYREQUESTS");
    // The quiet tenant: every pull answered.
    expect(statuses(quiet)).toEqual(Array(20).fill(200));
    await Promise.all([...noisy, ...quiet].filter((r) => !r.bodyUsed).map((r) => r.arrayBuffer()));
  });
});
