/**
 * The curl examples of Quay's quota chapter ("Establishing quota for an organization with the Quay
 * API", "Rejecting pushes using quota limits"), run as written with the `curl` binary (and `jq`,
 * where the documentation pipes into it) against `npm start`, only the placeholders filled in, and
 * their answers checked against the documented output.
 *
 * Source (/work/shared/seeds): 003_3c33f0496aa7e411.txt ("003", a web page's text; 002 holds the same
 * chapter as a PDF's text, its commands broken across lines); each command names its line. Its
 * multi-line commands lost their line breaks (each "\ " was a "\" + newline): they are reassembled.
 * The documentation's commands name its own registry host
 * (`example-registry-quay-quay-enterprise.apps…`) and organization (`testorg`) and quota id (`1`):
 * this file writes `<quay-server.example.com>` for the host, as every seed test does, and fills in
 * the run's organization and quota id.
 *
 * Not run: the image pushes between the API calls (`podman pull ubuntu:18.04` and `nginx` come
 * from Docker Hub, out of reach here), and 13.4.2.3, a push refused past the Reject limit, which is
 * enforcement's (quota-enforce), not this API's: the repository listing is checked on repositories
 * created through the API, holding 0 bytes.
 */
import { beforeAll, describe, expect, inject, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { runSuffix, seedCommands } from "./helpers/seed-commands";
import { connectWharf } from "./helpers/server";

const base = inject("wharfUrl");
const run = runSuffix();
const DOCS_HOST = "example-registry-quay-quay-enterprise.apps.docs.gcp.quaydev.org";

let token: string;
const { mintToken, documented } = seedCommands(base, () => token);
let wharf: Awaited<ReturnType<typeof connectWharf>>;

const api = (method: string, pathname: string, body?: unknown) =>
  apiCall(base, wharf.adminToken, method, pathname, body);

/** The documentation's host written as every seed test writes it. */
const ours = (command: string) => command.replaceAll(DOCS_HOST, "<quay-server.example.com>");

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  const admin = await wharf.credentialsFor("admin");
  // Creating and changing a quota are a superuser's (Quay's `@require_scope(scopes.SUPERUSER)`).
  token = await mintToken(admin.username, admin.password, [
    "org:admin",
    "user:admin",
    "repo:admin",
    "repo:create",
    "super:user",
  ]);
});

describe("Quay's documented quota curl examples, unchanged", () => {
  const org = `quotadocs${run}`;
  const v = { "<orgname>": org, testorg: org };
  let quotaId: number;
  const listQuota = ours(
    `curl -k -X GET -H "Authorization: Bearer <token>" -H 'Content-Type: application/json' https://example-registry-quay-quay-enterprise.apps.docs.gcp.quaydev.org/api/v1/organization/testorg/quota | jq`,
  );

  beforeAll(async () => {
    await api("POST", "/organization/", { name: org });
  });

  it("13.4: sets a quota, lists it, and changes it", async () => {
    // 003:2523 (line breaks restored); the stray "limits" member is ignored, as Quay's schema does.
    const created = await documented(
      `curl -X POST "https://<quay-server.example.com>/api/v1/organization/<orgname>/quota" \\
 -H "Authorization: Bearer <access_token>" \\
 -H "Content-Type: application/json" \\
 -d '{ "limit_bytes": 10737418240, "limits": "10 Gi" }'`,
      v,
    );
    expect(JSON.parse(created)).toBe("Created");
    // 003:2528
    const listed = JSON.parse(await documented(listQuota, v));
    expect(listed).toEqual([
      {
        id: expect.any(Number),
        limit_bytes: 10737418240,
        limit: "10.0 GiB",
        default_config: false,
        limits: [],
        default_config_exists: false,
      },
    ]);
    quotaId = listed[0].id;
    // 003:2533 (line breaks restored), with the example output's 20 GiB.
    const changed = await documented(
      `curl -X PUT "https://<quay-server.example.com>/api/v1/organization/<orgname>/quota/<quota_id>" \\
 -H "Authorization: Bearer <access_token>" \\
 -H "Content-Type: application/json" \\
 -d '{ "limit_bytes": <limit_in_bytes> }'`,
      { ...v, "<quota_id>": String(quotaId), "<limit_in_bytes>": "21474836480" },
    );
    expect(JSON.parse(changed)).toEqual({
      id: quotaId,
      limit_bytes: 21474836480,
      limit: "20.0 GiB",
      default_config: false,
      limits: [],
      default_config_exists: false,
    });
  });

  it("13.4.1.2: quota_report on the organization's repositories and on the organization", async () => {
    for (const repository of ["ubuntu", "nginx"])
      await api("POST", "/repository", { namespace: org, repository, visibility: "private", description: "" });
    // 003:2545 (and 2572, the same command without jq)
    const listed = JSON.parse(
      await documented(
        ours(
          `curl -k -X GET -H "Authorization: Bearer <token>" -H 'Content-Type: application/json' 'https://example-registry-quay-quay-enterprise.apps.docs.gcp.quaydev.org/api/v1/repository?last_modified=true&namespace=testorg&popularity=true&public=true' | jq`,
        ),
        v,
      ),
    );
    expect(listed.repositories.map((r: Record<string, unknown>) => Object.keys(r))).toEqual(
      Array(2).fill([
        "namespace",
        "name",
        "description",
        "is_public",
        "kind",
        "state",
        "quota_report",
        "last_modified",
        "popularity",
        "is_starred",
      ]),
    );
    expect(listed.repositories).toEqual([
      expect.objectContaining({
        namespace: org,
        name: "ubuntu",
        // Created through the API with Quay's required description, not by a push (null).
        description: "",
        is_public: false,
        kind: "image",
        state: "NORMAL",
        quota_report: { quota_bytes: 0, configured_quota: 21474836480 },
        is_starred: false,
      }),
      expect.objectContaining({ name: "nginx", quota_report: { quota_bytes: 0, configured_quota: 21474836480 } }),
    ]);
    // 003:2576
    const view = JSON.parse(
      await documented(
        ours(
          `curl -k -X GET -H "Authorization: Bearer <token>" -H 'Content-Type: application/json' 'https://example-registry-quay-quay-enterprise.apps.docs.gcp.quaydev.org/api/v1/organization/testorg' | jq`,
        ),
        v,
      ),
    );
    expect(view).toMatchObject({
      name: org,
      quotas: [{ id: quotaId, limit_bytes: 21474836480, limits: [] }],
      quota_report: { quota_bytes: 0, configured_quota: 21474836480 },
    });
  });

  it("13.4.2.1-2: Reject and Warning limits, then the quota listing them", async () => {
    const limit = { ...v, "quota/1/limit": `quota/${quotaId}/limit` };
    // 003:2586, 003:2587
    for (const command of [
      `curl -k -X POST -H "Authorization: Bearer <token>" -H 'Content-Type: application/json' -d '{"type":"Reject","threshold_percent":80}' https://example-registry-quay-quay-enterprise.apps.docs.gcp.quaydev.org/api/v1/organization/testorg/quota/1/limit`,
      `curl -k -X POST -H "Authorization: Bearer <token>" -H 'Content-Type: application/json' -d '{"type":"Warning","threshold_percent":50}' https://example-registry-quay-quay-enterprise.apps.docs.gcp.quaydev.org/api/v1/organization/testorg/quota/1/limit`,
    ])
      expect(JSON.parse(await documented(ours(command), limit))).toBe("Created");
    // 003:2590. The documented output puts `default_config_exists` in an array element of its own,
    // which no version of Quay's quota_view writes; it is one of the quota's fields.
    const [quota] = JSON.parse(await documented(listQuota, v));
    expect(quota).toMatchObject({ id: quotaId, limit_bytes: 21474836480, default_config: false });
    expect(quota.default_config_exists).toBe(false);
    expect([...quota.limits].sort((a, b) => a.limit_percent - b.limit_percent)).toEqual([
      { id: expect.any(Number), type: "Warning", limit_percent: 50 },
      { id: expect.any(Number), type: "Reject", limit_percent: 80 },
    ]);
  });
});
