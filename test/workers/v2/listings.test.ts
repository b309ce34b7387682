import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "../../../src/db/client";
import { users } from "../../../src/db/schema";
import {
  BASE,
  EMPTY_DIGEST,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_LAYER,
  OCI_MANIFEST,
  errorCode,
  manifestDescriptor,
  pushBlob,
  pushDescriptor,
  pushImage,
  pushManifest,
  registryToken,
  request,
  sha256,
  uniqueName,
} from "../helpers/registry";

interface TagList {
  name: string;
  tags: string[];
}

/** Pushes one image and tags it with every name in `tags`. */
async function repoWithTags(tags: string[]): Promise<string> {
  const name = uniqueName("tags");
  const [first, ...rest] = tags;
  const { manifest } = await pushImage(name, first!);
  for (const tag of rest) await pushManifest(name, tag, manifest, OCI_MANIFEST);
  return name;
}

/** The target of a `Link: <…>; rel="next"` header, or null. */
function nextOf(res: Response): string | null {
  const link = res.headers.get("Link");
  if (link === null) return null;
  const match = /^<([^>]+)>; rel="next"$/.exec(link);
  expect(match, link).not.toBeNull();
  return match![1]!;
}

describe("GET /v2/:name/tags/list", () => {
  it("lists the alive tags in lexical order", async () => {
    const name = await repoWithTags(["v2", "latest", "A", "v10", "1.0", "gone"]);
    expect((await request("DELETE", `/v2/${name}/manifests/gone`)).status).toBe(202);
    const res = await request("GET", `/v2/${name}/tags/list`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(res.headers.get("Link")).toBeNull();
    expect(await res.json()).toEqual({ name, tags: ["1.0", "A", "latest", "v10", "v2"] });
  });

  it("lists a tag once after it moved", async () => {
    const name = uniqueName("tags");
    await pushImage(name, "moving");
    await pushImage(name, "moving");
    expect(((await (await request("GET", `/v2/${name}/tags/list`)).json()) as TagList).tags).toEqual(["moving"]);
  });

  it("pages with n and last and links the next page", async () => {
    const name = await repoWithTags(["e", "d", "c", "b", "a"]);
    const first = await request("GET", `/v2/${name}/tags/list?n=2`);
    expect(first.status).toBe(200);
    expect(((await first.json()) as TagList).tags).toEqual(["a", "b"]);
    expect(first.headers.get("Link")).toBe(`</v2/${name}/tags/list?n=2&last=b>; rel="next"`);

    const seen: string[] = ["a", "b"];
    let next = nextOf(first);
    let pages = 1;
    while (next !== null) {
      const res = await request("GET", next);
      expect(res.status).toBe(200);
      const page = ((await res.json()) as TagList).tags;
      expect(page.length).toBeLessThanOrEqual(2);
      seen.push(...page);
      next = nextOf(res);
      pages++;
      expect(pages).toBeLessThan(10);
    }
    expect(seen).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("links no next page when the last page is exactly full", async () => {
    const name = await repoWithTags(["a", "b", "c", "d"]);
    const res = await request("GET", `/v2/${name}/tags/list?n=2&last=b`);
    expect(((await res.json()) as TagList).tags).toEqual(["c", "d"]);
    expect(res.headers.get("Link")).toBeNull();
    const all = await request("GET", `/v2/${name}/tags/list?n=4`);
    expect(((await all.json()) as TagList).tags).toEqual(["a", "b", "c", "d"]);
    expect(all.headers.get("Link")).toBeNull();
  });

  it("answers the tags after `last`, with or without n", async () => {
    const name = await repoWithTags(["a", "b", "c", "d"]);
    const after = await request("GET", `/v2/${name}/tags/list?last=b`);
    expect(((await after.json()) as TagList).tags).toEqual(["c", "d"]);
    const between = await request("GET", `/v2/${name}/tags/list?n=1&last=bb`);
    expect(((await between.json()) as TagList).tags).toEqual(["c"]);
    expect(between.headers.get("Link")).toBe(`</v2/${name}/tags/list?n=1&last=c>; rel="next"`);
    const past = await request("GET", `/v2/${name}/tags/list?n=5&last=z`);
    expect(((await past.json()) as TagList).tags).toEqual([]);
    expect(past.headers.get("Link")).toBeNull();
  });

  it("answers n=0 with an empty list and no Link", async () => {
    const name = await repoWithTags(["a", "b"]);
    const res = await request("GET", `/v2/${name}/tags/list?n=0`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name, tags: [] });
    expect(res.headers.get("Link")).toBeNull();
  });

  it("answers 400 PAGINATION_NUMBER_INVALID to a negative or non-numeric n", async () => {
    const name = await repoWithTags(["a"]);
    for (const n of ["-1", "abc", "1.5", "0x10", "1e1", "%202"]) {
      const res = await request("GET", `/v2/${name}/tags/list?n=${n}`);
      expect(res.status, `n=${n}`).toBe(400);
      expect(await errorCode(res), `n=${n}`).toBe("PAGINATION_NUMBER_INVALID");
    }
  });

  it("treats an empty n as absent", async () => {
    const name = await repoWithTags(["a", "b"]);
    const res = await request("GET", `/v2/${name}/tags/list?n=`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name, tags: ["a", "b"] });
  });

  it("answers an empty list for a repository with blobs but no tags", async () => {
    const name = uniqueName("tags");
    await pushBlob(name, "just a blob");
    expect(await (await request("GET", `/v2/${name}/tags/list`)).json()).toEqual({ name, tags: [] });
  });

  it("answers 404 NAME_UNKNOWN for an unknown repository and 400 NAME_INVALID for a bad name", async () => {
    const res = await request("GET", `/v2/${uniqueName("none")}/tags/list`);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("NAME_UNKNOWN");
    const bad = await request("GET", `/v2/Bad/tags/list`);
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe("NAME_INVALID");
  });
});

describe("GET /v2/_catalog", () => {
  /** The catalog as seen by the user `owner` (who owns the namespace `owner`). */
  async function catalog(query: string, owner = "tester"): Promise<{ res: Response; repositories: string[] }> {
    await database(env.DB).insert(users).values({ username: owner, email: null }).onConflictDoNothing();
    const token = await registryToken([{ type: "registry", name: "catalog", actions: ["*"] }], owner);
    const res = await request("GET", `/v2/_catalog${query}`, { token });
    expect(res.status).toBe(200);
    return { res, repositories: ((await res.json()) as { repositories: string[] }).repositories };
  }

  it("lists repositories in lexical order, including nested names", async () => {
    const prefix = `cat${crypto.randomUUID().slice(0, 8)}`;
    const names = [`${prefix}/b`, `${prefix}/a/nested/deep`, `${prefix}/c`, `${prefix}/a`];
    for (const name of names) await pushBlob(name, name);
    const { repositories } = await catalog("?n=1000", prefix);
    expect(repositories).toEqual([...repositories].sort());
    expect(repositories.filter((r) => r.startsWith(`${prefix}/`))).toEqual([...names].sort());
  });

  it("pages with n and last and links the next page", async () => {
    const prefix = `cat${crypto.randomUUID().slice(0, 8)}`;
    for (const suffix of ["a", "b", "c", "d"]) await pushBlob(`${prefix}/${suffix}`, suffix);
    const { res, repositories } = await catalog(`?n=2&last=${prefix}/a`, prefix);
    expect(repositories).toEqual([`${prefix}/b`, `${prefix}/c`]);
    const next = nextOf(res);
    expect(next).not.toBeNull();
    const url = new URL(next!, BASE);
    expect(url.pathname).toBe("/v2/_catalog");
    expect(url.searchParams.get("n")).toBe("2");
    expect(url.searchParams.get("last")).toBe(`${prefix}/c`);
    const following = await catalog(`${url.search}`, prefix);
    expect(following.repositories[0]).toBe(`${prefix}/d`);
  });

  it("links no next page after the last repository", async () => {
    // `z…` sorts after every other name the tests create.
    const prefix = `zzzzzzzz${crypto.randomUUID().slice(0, 8)}`;
    for (const suffix of ["a", "b"]) await pushBlob(`${prefix}/${suffix}`, suffix);
    const { res, repositories } = await catalog(`?n=2&last=${prefix}`, prefix);
    expect(repositories).toEqual([`${prefix}/a`, `${prefix}/b`]);
    expect(res.headers.get("Link")).toBeNull();
  });

  it("answers n=0 with an empty list and no Link", async () => {
    const name = uniqueName("cat");
    await pushBlob(name, "x");
    const { res, repositories } = await catalog("?n=0", name.split("/")[0]);
    expect(repositories).toEqual([]);
    expect(res.headers.get("Link")).toBeNull();
  });

  it("answers no Link on the last page", async () => {
    const { res, repositories } = await catalog(`?n=5&last=${"z".repeat(50)}`);
    expect(repositories).toEqual([]);
    expect(res.headers.get("Link")).toBeNull();
  });

  it("answers 400 PAGINATION_NUMBER_INVALID to a bad n", async () => {
    for (const n of ["-5", "many"]) {
      const res = await request("GET", `/v2/_catalog?n=${n}`);
      expect(res.status).toBe(400);
      expect(await errorCode(res)).toBe("PAGINATION_NUMBER_INVALID");
    }
  });
});

describe("GET /v2/:name/referrers/:digest", () => {
  interface Index {
    schemaVersion: number;
    mediaType: string;
    manifests: Record<string, unknown>[];
  }

  async function referrers(name: string, subject: string, query = ""): Promise<{ res: Response; index: Index }> {
    const res = await request("GET", `/v2/${name}/referrers/${subject}${query}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe(OCI_INDEX);
    return { res, index: (await res.json()) as Index };
  }

  /** A subject image and three referrers: an artifact, an image without artifactType, an index. */
  async function withReferrers() {
    const name = uniqueName("ref");
    const subject = await pushImage(name, "app");
    const subjectDescriptor = await manifestDescriptor(subject.manifest, OCI_MANIFEST);
    const empty = { mediaType: OCI_EMPTY, digest: EMPTY_DIGEST, size: 2 };
    const sigLayer = await pushDescriptor(name, "application/vnd.example.sig", `sig ${crypto.randomUUID()}`);
    const signature = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: "application/vnd.example.signature",
      config: empty,
      layers: [sigLayer],
      subject: subjectDescriptor,
      annotations: { "org.opencontainers.image.created": "2024-01-01T00:00:00Z", signer: "alice" },
    });
    const config = await pushDescriptor(
      name,
      "application/vnd.example.sbom.config.v1+json",
      `{"id":"${crypto.randomUUID()}"}`,
    );
    const sbomLayer = await pushDescriptor(name, OCI_LAYER, `sbom ${crypto.randomUUID()}`);
    const sbom = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config,
      layers: [sbomLayer],
      subject: subjectDescriptor,
    });
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      artifactType: "application/vnd.example.bundle",
      manifests: [],
      subject: subjectDescriptor,
    });
    for (const [body, type] of [
      [signature, OCI_MANIFEST],
      [sbom, OCI_MANIFEST],
      [index, OCI_INDEX],
    ] as const) {
      await pushManifest(name, await sha256(body), body, type);
    }
    const expected = [
      {
        ...(await manifestDescriptor(signature, OCI_MANIFEST)),
        artifactType: "application/vnd.example.signature",
        annotations: JSON.parse(signature).annotations,
      },
      {
        ...(await manifestDescriptor(sbom, OCI_MANIFEST)),
        artifactType: "application/vnd.example.sbom.config.v1+json",
      },
      { ...(await manifestDescriptor(index, OCI_INDEX)), artifactType: "application/vnd.example.bundle" },
    ].sort((a, b) => a.digest.localeCompare(b.digest));
    return { name, subject, expected };
  }

  it("answers an empty OCI index for an unknown subject or repository", async () => {
    const name = uniqueName("ref");
    await pushImage(name, "app");
    const unknown = await sha256(`no subject ${crypto.randomUUID()}`);
    for (const repo of [name, uniqueName("none")]) {
      const { res, index } = await referrers(repo, unknown);
      expect(index).toEqual({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
      expect(res.headers.get("OCI-Filters-Applied")).toBeNull();
    }
  });

  it("lists referrer descriptors with mediaType, digest, size, artifactType and annotations", async () => {
    const { name, subject, expected } = await withReferrers();
    const { res, index } = await referrers(name, subject.digest);
    expect(index.schemaVersion).toBe(2);
    expect(index.mediaType).toBe(OCI_INDEX);
    expect([...index.manifests].sort((a, b) => String(a.digest).localeCompare(String(b.digest)))).toEqual(expected);
    expect(res.headers.get("OCI-Filters-Applied")).toBeNull();
  });

  it("filters by artifactType and says so in OCI-Filters-Applied", async () => {
    const { name, subject, expected } = await withReferrers();
    const { res, index } = await referrers(name, subject.digest, "?artifactType=application/vnd.example.signature");
    expect(res.headers.get("OCI-Filters-Applied")).toBe("artifactType");
    expect(index.manifests).toEqual(expected.filter((d) => d.artifactType === "application/vnd.example.signature"));
    const none = await referrers(name, subject.digest, "?artifactType=application/vnd.example.none");
    expect(none.res.headers.get("OCI-Filters-Applied")).toBe("artifactType");
    expect(none.index.manifests).toEqual([]);
  });

  it("does not list referrers pushed to another repository", async () => {
    const { name, subject } = await withReferrers();
    const other = uniqueName("ref");
    for (const digest of [subject.config, ...subject.layers]) {
      expect((await request("POST", `/v2/${other}/blobs/uploads/?mount=${digest}&from=${name}`)).status).toBe(201);
    }
    await pushManifest(other, "app", subject.manifest, OCI_MANIFEST);
    const { index } = await referrers(other, subject.digest);
    expect(index.manifests).toEqual([]);
  });

  it("stops listing a referrer deleted by digest", async () => {
    const { name, subject, expected } = await withReferrers();
    const [gone, ...kept] = expected;
    expect((await request("DELETE", `/v2/${name}/manifests/${gone!.digest}`)).status).toBe(202);
    const { index } = await referrers(name, subject.digest);
    expect([...index.manifests].sort((a, b) => String(a.digest).localeCompare(String(b.digest)))).toEqual(kept);
  });

  it("answers 400 DIGEST_INVALID to a malformed digest", async () => {
    const name = uniqueName("ref");
    await pushImage(name, "app");
    for (const digest of ["sha256:abc", "latest"]) {
      const res = await request("GET", `/v2/${name}/referrers/${digest}`);
      expect(res.status, digest).toBe(400);
      expect(await errorCode(res), digest).toBe("DIGEST_INVALID");
    }
  });
});
