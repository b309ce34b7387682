/**
 * Pulls from a namespace whose registry core is on a shard (docs/sharding-the-registry-core.md,
 * Stage 2): tag listings, manifests and their bytes read through `c.var.core`, a session on that
 * shard (a replica at the token's bookmark for a pull-only token), the directory through
 * `c.var.db` on DB (src/middleware/db-session.ts); /v2/auth signs the shard's bookmark. Manifests
 * are seeded on the shard (the manifest commit is not routed there here); the namespaces are
 * placed by test/workers/helpers/core-shard.ts.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { signRegistryToken } from "../../../src/identity/registry-tokens";
import { tags } from "../../../src/db/schema";
import { basic, db, makeUser, tokenFor as oauthToken, pushImageWith, v2Token } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { laggingShard, type Placed, placedPair, repositoryNamed, seedManifest } from "../helpers/core-shard";
import { observedEnv } from "../helpers/observed-env";
import { call } from "../helpers/pull-cache";
import {
  BASE,
  bodyBytes,
  errorCode,
  OCI_MANIFEST,
  pushBlob,
  registryToken,
  request,
  subjectNamed,
} from "../helpers/registry";

let admin: string;
let placed: { one: Placed; two: Placed };

beforeAll(async () => {
  admin = await initializeAdmin();
  placed = await placedPair(admin, "pull");
});

describe("pulls of a namespace whose core is on a shard", () => {
  it("list tags and serve manifests from the shard, to a pusher and to a pull-only token", async () => {
    const { name: ns, shard } = placed.two;
    const name = `${ns}/pulled`;
    await pushBlob(name, `make it ${crypto.randomUUID()}`);
    const repository = await repositoryNamed(name);
    const seeded = await seedManifest(shard, repository.id, "v1");

    const pullOnly = await registryToken([{ type: "repository", name, actions: ["pull"] }], ns);
    for (const token of [undefined, pullOnly]) {
      const list = await request("GET", `/v2/${name}/tags/list`, { token });
      expect(await list.json()).toEqual({ name, tags: ["v1"] });
      for (const reference of ["v1", seeded.digest]) {
        const got = await request("GET", `/v2/${name}/manifests/${reference}`, {
          token,
          headers: { Accept: OCI_MANIFEST },
        });
        expect(got.status).toBe(200);
        expect(got.headers.get("Docker-Content-Digest")).toBe(seeded.digest);
        expect(new TextDecoder().decode(await bodyBytes(got))).toBe(seeded.body);
      }
    }
    // DB holds no tag of it: the listing read the shard.
    expect(await db().select().from(tags).where(eq(tags.repositoryId, repository.id)).all()).toEqual([]);
    // A repository with no core row yet lists no tags; one that does not exist is unknown (DB).
    const made = await api("POST", "/repository", {
      token: await oauthToken(ns),
      body: { namespace: ns, repository: "empty", visibility: "private", description: "" },
    });
    expect(made.status).toBe(201);
    expect(await (await request("GET", `/v2/${ns}/empty/tags/list`)).json()).toEqual({ name: `${ns}/empty`, tags: [] });
    expect(await errorCode(await request("GET", `/v2/${ns}/nothing/tags/list`))).toBe("NAME_UNKNOWN");
    expect(await errorCode(await request("GET", `/v2/${name}/manifests/v2`))).toBe("MANIFEST_UNKNOWN");
    expect(await errorCode(await request("GET", `/v2/${ns}/nothing/manifests/v1`))).toBe("NAME_UNKNOWN");
  });

  it("asks DB nothing on a pull-only manifest GET: a DB session any replica may answer, the core read on the shard", async () => {
    const { name: ns, shard } = placed.two;
    const name = `${ns}/quiet`;
    await pushBlob(name, `make it ${crypto.randomUUID()}`);
    const seeded = await seedManifest(shard, (await repositoryNamed(name)).id, "v1");
    const observed = observedEnv();
    const token = await registryToken([{ type: "repository", name, actions: ["pull"] }], ns);
    const res = await call(observed, "GET", `/v2/${name}/manifests/v1`, token, { Accept: OCI_MANIFEST });
    expect(res.status).toBe(200);
    expect(new TextDecoder().decode(res.body)).toBe(seeded.body);
    expect(res.d1).toEqual([]);
    expect(observed.sessions).toEqual(["first-unconstrained"]);
  });

  it("costs no more D1 on a shard than in DB: one statement for a tag, none by digest or for a blob once warm", async () => {
    const { name: ns } = placed.one;
    const name = `${ns}/counted`;
    const pusher = await registryToken([{ type: "repository", name, actions: ["pull", "push"] }], ns);
    const pushed = await pushImageWith(pusher, name, "v1");
    expect(pushed.status).toBe(201);
    const digest = pushed.headers.get("Docker-Content-Digest")!;
    const observed = observedEnv();
    const token = await registryToken([{ type: "repository", name, actions: ["pull"] }], ns);
    const accept = { Accept: OCI_MANIFEST };
    const cold = await call(observed, "GET", `/v2/${name}/manifests/${digest}`, token, accept);
    expect(cold.status).toBe(200);
    const layer = (JSON.parse(new TextDecoder().decode(cold.body)) as { layers: { digest: string }[] }).layers[0]!
      .digest;
    expect((await call(observed, "HEAD", `/v2/${name}/blobs/${layer}`, token)).status).toBe(200);
    // Warm: the manifest and the blob link are facts (src/registry/pull-cache.ts), the directory row kept.
    for (const [method, path] of [
      ["GET", `/v2/${name}/manifests/${digest}`],
      ["HEAD", `/v2/${name}/blobs/${layer}`],
    ] as const) {
      const warm = await call(observed, method, path, token, accept);
      expect(warm.status).toBe(200);
      expect([...warm.d1, ...observed.shardD1]).toEqual([]);
    }
    // A tag is always asked: one statement, on the core's shard; DB is asked nothing.
    const byTag = await call(observed, "GET", `/v2/${name}/manifests/v1`, token, accept);
    expect(byTag.status).toBe(200);
    expect(byTag.d1).toEqual([]);
    expect(observed.shardD1).toHaveLength(1);
    expect(observed.shardD1[0]!.startsWith(`s${placed.one.shard}: `)).toBe(true);
  });

  it("asks both primaries again when the shard's replica misses: no false 404 from a lagging shard", async () => {
    const { name: ns, password, shard } = placed.two;
    const name = `${ns}/lagging`;
    await pushBlob(name, `make it ${crypto.randomUUID()}`);
    const seeded = await seedManifest(shard, (await repositoryNamed(name)).id, "v1");
    const { token } = await v2Token(basic(ns, password), `repository:${name}:pull`);
    const bookmark = String(decodeJwt(token).bm).replace(/^s\d+:/, "");
    const observed = observedEnv();
    const lagging = laggingShard(shard, observed.env);
    observed.env = lagging.env;
    const res = await call(observed, "GET", `/v2/${name}/manifests/v1`, token, { Accept: OCI_MANIFEST });
    expect(res.status).toBe(200);
    expect(new TextDecoder().decode(res.body)).toBe(seeded.body);
    // The shard at the token's bookmark, then its primary; DB any replica, then its primary (the
    // miss asks DB whether the repository exists before the retry).
    expect(lagging.sessions).toEqual([bookmark, "first-primary"]);
    expect(observed.sessions).toEqual(["first-unconstrained", "first-primary"]);
  });

  it("reads the primary of a database whose bookmark the token does not carry", async () => {
    const { name: ns, shard } = placed.two;
    const name = `${ns}/foreign`;
    await pushBlob(name, `make it ${crypto.randomUUID()}`);
    await seedManifest(shard, (await repositoryNamed(name)).id, "v1");
    const observed = observedEnv();
    const watched = laggingShard(shard, observed.env, false);
    observed.env = watched.env;
    // A bookmark of DB's (the core placed since the token was minted) says nothing of the shard.
    const subject = await subjectNamed(ns);
    const access = [{ type: "repository" as const, name, actions: ["pull"] }];
    const { token } = await signRegistryToken(env, new URL(BASE).host, { subject, access, bookmark: "0000-db" });
    const res = await call(observed, "GET", `/v2/${name}/manifests/v1`, token, { Accept: OCI_MANIFEST });
    expect(res.status).toBe(200);
    expect(watched.sessions).toEqual(["first-primary"]);
  });

  it("gets from /v2/auth the bookmark of the core's shard, which a pull then reads at", async () => {
    const { name: ns, password, shard } = placed.two;
    const name = `${ns}/bookmarked`;
    await pushBlob(name, `make it ${crypto.randomUUID()}`);
    await seedManifest(shard, (await repositoryNamed(name)).id, "v1");
    const { token } = await v2Token(basic(ns, password), `repository:${name}:pull`);
    expect(decodeJwt(token).bm).toMatch(new RegExp(`^s${shard}:[0-9A-Za-z._:-]+$`));
    const got = await request("GET", `/v2/${name}/manifests/v1`, { token, headers: { Accept: OCI_MANIFEST } });
    expect(got.status).toBe(200);

    // A namespace whose core is in DB keeps DB's bookmark as D1 wrote it.
    const inDb = await makeUser(admin, "coredbauth");
    const dbToken = (await v2Token(basic("coredbauth", inDb), "repository:coredbauth/app:pull")).token;
    expect(decodeJwt(dbToken).bm).toMatch(/^[0-9a-f]/);
  });
});
