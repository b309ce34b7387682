/**
 * The curl examples of Quay's documentation for tags, labels, tag expiration, tag history, deletion
 * and restoration, run as written with the `curl` binary against `npm start`, only the placeholders
 * filled in, and their answers checked against the documented output: the same keys and value
 * types, per-run values (digests, times, ids) by pattern or against what this run pushed.
 * (Auto-prune's examples: seed-examples-autoprune.test.ts.)
 *
 * Source (/work/shared/seeds): 002_4f8f4aa6821a0fec.txt ("002", a PDF's text); each command names
 * its line. Reassembled as the documentation means them: 002 wraps URLs mid-host ("https://<quay-"
 * + newline + "server.example.com>…") and mid-query, and ends some lines with "\" and spaces.
 * Everything else is as written; doc bugs mended are named beside the command.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { login, registryHost, skopeoCopy } from "./helpers/clients";
import { buildLabelledLayout } from "./helpers/labelled-image";
import { MediaTypes, type BuiltImage } from "./helpers/oci-layout";
import { QUAY_DATE, runSuffix, seedCommands } from "./helpers/seed-commands";
import { connectWharf } from "./helpers/server";

const base = inject("wharfUrl");
const host = registryHost(base);
const run = runSuffix();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The token the commands carry: the admin's, or another user's where a section needs one. */
let token: string;
let adminToken: string;
const { mintToken, documented } = seedCommands(base, () => token);
let wharf: Awaited<ReturnType<typeof connectWharf>>;
let tmp: string;

/** The documentation's `quayadmin/busybox`, here an organization's repository. */
const org = `tagdocs${run}`;
const repository = `${org}/busybox`;
/** The two images of the examples: X carries busybox's two labels (002:2077), Y none. */
let x: BuiltImage;
let y: BuiltImage;
const LABELS = {
  "org.opencontainers.image.url": "https://example.com/docker-library/busybox",
  "org.opencontainers.image.version": "1.36.1-glibc",
};

const api = (method: string, pathname: string, body?: unknown) =>
  apiCall(base, wharf.adminToken, method, pathname, body);
const values = () => ({ "<namespace>": org, "<repository_name>": "busybox", "<repository>": repository });
/**
 * Quay's tag `size` (`manifest_layers_size`): the compressed size of an image's layers, its config
 * not counted (issue #14; the config was counted before).
 */
const sizeOf = (image: BuiltImage) => image.layers.reduce((sum, l) => sum + l.size, 0);

/**
 * A tag history row in Quay's JSON (002:1838): `end_ts` and `expiration` only on a row that ends.
 * Wharf adds `immutable`, as Quay does with FEATURE_IMMUTABLE_TAGS.
 */
type Expected = [name: string, image: "x" | "y", reversion: boolean, ends: boolean];
const row = ([name, image, reversion, ends]: Expected) => ({
  name,
  reversion,
  start_ts: expect.any(Number),
  ...(ends ? { end_ts: expect.any(Number) } : {}),
  manifest_digest: (image === "x" ? x : y).manifest.digest,
  is_manifest_list: false,
  size: sizeOf(image === "x" ? x : y),
  last_modified: expect.stringMatching(QUAY_DATE),
  ...(ends ? { expiration: expect.stringMatching(QUAY_DATE) } : {}),
  immutable: false,
});
/** The tag list JSON (002:1838): rows newest first, one page. */
function expectTagList(json: any, rows: Expected[]): void {
  expect(json).toEqual({ tags: rows.map(row), page: 1, has_additional: false });
  for (const r of json.tags) {
    expect(Number.isInteger(r.start_ts)).toBe(true);
    if (r.end_ts !== undefined)
      expect(r.expiration).toBe(new Date(r.end_ts * 1000).toUTCString().replace("GMT", "-0000"));
  }
}

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  const admin = await wharf.credentialsFor("admin");
  adminToken = await mintToken(admin.username, admin.password, [
    "org:admin",
    "user:admin",
    "repo:admin",
    "repo:create",
  ]);
  token = adminToken;
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-seed-tags-"));
  const images = await buildLabelledLayout(path.join(tmp, "layout"), [
    { tag: "x", labels: LABELS },
    { tag: "y", layers: 1 },
  ]);
  [x, y] = [images.get("x")!, images.get("y")!];
  // The prerequisite "You have pushed an image tag": X as `example` and `test`, Y as `sample_tag`.
  await api("POST", "/organization/", { name: org });
  await login(host, { username: "$oauthtoken", password: wharf.adminToken }, path.join(tmp, "auth.json"));
  for (const [image, tag] of [
    ["x", "example"],
    ["x", "test"],
    ["y", "sample_tag"],
  ]) {
    await skopeoCopy(`oci:${path.join(tmp, "layout")}:${image}`, `docker://${host}/${repository}:${tag}`);
  }
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/**
 * 002:1936 and 002:2490 print the same restore command. Its host is bare (`quay-server.example.com`,
 * no scheme: curl uses http) and its repository a literal (`quayadmin/busybox`): both are filled in
 * like placeholders. Doc bug mended: the body's `<manifest_digest>` stands unquoted where JSON needs
 * a string, so it is filled with the quoted digest.
 */
const RESTORE_TEST = `curl -X POST \\
  -H "Authorization: Bearer <bearer_token>" \\
  -H "Content-Type: application/json" \\
  --data '{
    "manifest_digest": <manifest_digest>
  }' \\
  quay-server.example.com/api/v1/repository/quayadmin/busybox/tag/test/restore`;
const restoreValues = () => ({
  "quay-server.example.com": host,
  "quayadmin/busybox": repository,
  "<manifest_digest>": JSON.stringify(x.manifest.digest),
});

describe("Quay's documented tag curl examples, unchanged", () => {
  it("8.2 tag information: the repository with its tags, and the tag list", async () => {
    // 002:1794. The PDF breaks the URL after its "?" and ends lines with "\" and two spaces.
    const view = JSON.parse(
      await documented(
        `curl -X GET \\
-H "Authorization: Bearer <bearer_token>" \\
-H "Accept: application/json" \\
https://<quay-server.example.com>/api/v1/repository/<namespace>/<repository_name>?includeTags=true`,
        values(),
      ),
    );
    const tagOf = (name: string, image: BuiltImage) => ({
      name,
      size: sizeOf(image),
      last_modified: expect.stringMatching(QUAY_DATE),
      manifest_digest: image.manifest.digest,
    });
    expect(view).toEqual({
      namespace: org,
      name: "busybox",
      kind: "image",
      description: null,
      is_public: false,
      is_organization: true,
      is_starred: false,
      status_token: expect.stringMatching(UUID),
      trust_enabled: false,
      tag_expiration_s: 1209600,
      is_free_account: true,
      state: "NORMAL",
      tags: { example: tagOf("example", x), test: tagOf("test", x), sample_tag: tagOf("sample_tag", y) },
      can_write: true,
      can_admin: true,
    });

    // 002:1816
    const list = await documented(
      `curl -X GET \\
  -H "Authorization: Bearer <bearer_token>" \\
  -H "Accept: application/json" \\
  https://<quay-server.example.com>/api/v1/repository/<namespace>/<repository_name>/tag/`,
      values(),
    );
    expectTagList(JSON.parse(list), [
      ["sample_tag", "y", false, false],
      ["test", "x", false, false],
      ["example", "x", false, false],
    ]);
  });

  it("8.4 a new tag, moved; a tag restored to its previous image; the list", async () => {
    // 002:1917 (URL wrapped mid-host), creating `test-two` on Y, then moving it to X.
    const put = `curl -X PUT \\
  -H "Authorization: Bearer <bearer_token>" \\
  -H "Content-Type: application/json" \\
  --data '{
    "manifest_digest": "<manifest_digest>"
  }' \\
  https://<quay-server.example.com>/api/v1/repository/<namespace>/<repository_name>/tag/<tag>`;
    expect(
      JSON.parse(await documented(put, { ...values(), "<tag>": "test-two", "<manifest_digest>": y.manifest.digest })),
    ).toBe("Updated");
    expect(
      JSON.parse(await documented(put, { ...values(), "<tag>": "test-two", "<manifest_digest>": x.manifest.digest })),
    ).toBe("Updated");

    // "Restore a repository tag to its previous image": `test` is first moved away from X.
    await api("PUT", `/repository/${repository}/tag/test`, { manifest_digest: y.manifest.digest });
    // 002:1936 (RESTORE_TEST says what is filled in and mended).
    const restored = await documented(RESTORE_TEST, restoreValues());
    expect(JSON.parse(restored)).toEqual({});

    // 002:1954 (URL wrapped mid-host; no trailing slash, as documented)
    const list = await documented(
      `curl -X GET \\
-H "Authorization: Bearer <bearer_token>" \\
-H "Accept: application/json" \\
https://<quay-server.example.com>/api/v1/repository/<namespace>/<repository_name>/tag`,
      values(),
    );
    expectTagList(JSON.parse(list), [
      ["test", "x", true, false],
      ["test", "y", false, true],
      ["test-two", "x", false, false],
      ["test-two", "y", false, true],
      ["sample_tag", "y", false, false],
      ["test", "x", false, true],
      ["example", "x", false, false],
    ]);
  });

  it("8.6 labels: the manifest, its labels from the image, one label, add one, delete it", async () => {
    const labelValues = { ...values(), "<manifestref>": x.manifest.digest };
    // 002:2062 (no output documented: Quay's manifest JSON, `_manifest_dict`)
    const manifest = JSON.parse(
      await documented(
        `curl -X GET \\
  -H "Authorization: Bearer <bearer_token>" \\
  -H "Accept: application/json" \\
  https://<quay-server.example.com>/api/v1/repository/<repository>/manifest/<manifestref>`,
        labelValues,
      ),
    );
    expect(manifest).toEqual({
      digest: x.manifest.digest,
      is_manifest_list: false,
      manifest_data: expect.any(String),
      config_media_type: MediaTypes.config,
      layers_compressed_size: x.layers.reduce((sum, l) => sum + l.size, 0),
      layers: x.layers.map((layer, index) => ({
        index,
        compressed_size: layer.size,
        is_remote: false,
        urls: null,
        command: [`/bin/sh -c #(nop) ADD layer ${index}`],
        comment: null,
        author: null,
        blob_digest: layer.digest,
        created_datetime: "Tue, 14 May 2024 14:48:51 -0000",
      })),
    });
    expect(JSON.parse(manifest.manifest_data).config.digest).toBe(x.config.digest);

    // 002:2071
    const listLabels = `curl -X GET \\
  -H "Authorization: Bearer <bearer_token>" \\
  -H "Accept: application/json" \\
  https://<quay-server.example.com>/api/v1/repository/<repository>/manifest/<manifestref>/labels`;
    const fromImage = Object.entries(LABELS).map(([key, value]) => ({
      id: expect.stringMatching(UUID),
      key,
      value,
      source_type: "manifest",
      media_type: "text/plain",
    }));
    const listed = JSON.parse(await documented(listLabels, labelValues));
    expect(listed).toEqual({ labels: fromImage });

    // 002:2086
    const one = await documented(
      `curl -X GET \\
  -H "Authorization: Bearer <bearer_token>" \\
  -H "Accept: application/json" \\
  https://<quay-server.example.com>/api/v1/repository/<repository>/manifest/<manifestref>/labels/<label_id>`,
      { ...labelValues, "<label_id>": listed.labels[0].id },
    );
    expect(JSON.parse(one)).toEqual(listed.labels[0]);

    // 002:2107 (URL wrapped mid-host), with the documented output's key and value.
    const added = JSON.parse(
      await documented(
        `curl -X POST \\
  -H "Authorization: Bearer <bearer_token>" \\
  -H "Content-Type: application/json" \\
  --data '{
    "key": "<key>",
    "value": "<value>",
    "media_type": "<media_type>"
  }' \\
  https://<quay-server.example.com>/api/v1/repository/<repository>/manifest/<manifestref>/labels`,
        { ...labelValues, "<key>": "example-key", "<value>": "example-value", "<media_type>": "text/plain" },
      ),
    );
    expect(added).toEqual({
      label: {
        id: expect.stringMatching(UUID),
        key: "example-key",
        value: "example-value",
        source_type: "api",
        media_type: "text/plain",
      },
    });
    expect(JSON.parse(await documented(listLabels, labelValues)).labels).toEqual([...listed.labels, added.label]);

    // 002:2136 (URL wrapped mid-host): no output; "use one of the commands above" to check.
    const deleted = await documented(
      `curl -X DELETE \\
  -H "Authorization: Bearer <bearer_token>" \\
  https://<quay-server.example.com>/api/v1/repository/<repository>/manifest/<manifestref>/labels/<labelid>`,
      { ...labelValues, "<labelid>": added.label.id },
    );
    expect(deleted).toBe("");
    expect(JSON.parse(await documented(listLabels, labelValues))).toEqual(listed);
  });

  it("8.7.3 tag expiration by the API", async () => {
    const expiration = Math.floor(Date.now() / 1000) + 86_400;
    // 002:2227 (URL wrapped mid-host). Two doc bugs mended: the code block, broken in two by the
    // PDF, lost the `expiration` field the text says to pass (Quay's ChangeTag takes a unix time),
    // restored where the break is; and `}'\` lacks the space before the "\", which would glue
    // the URL onto the body and leave curl without one.
    const updated = await documented(
      `curl -X PUT \\
  -H "Authorization: Bearer <bearer_token>" \\
  -H "Content-Type: application/json" \\
  --data '{
"expiration": <expiration>,
"manifest_digest": "<manifest_digest>"
}' \\
https://<quay-server.example.com>/api/v1/repository/<namespace>/<repository_name>/tag/<tag>`,
      {
        ...values(),
        "<expiration>": String(expiration),
        "<manifest_digest>": y.manifest.digest,
        "<tag>": "sample_tag",
      },
    );
    expect(JSON.parse(updated)).toBe("Updated");
    const [current] = (await api("GET", `/repository/${repository}/tag/?specificTag=sample_tag`)).tags;
    expect(current).toEqual({ ...row(["sample_tag", "y", false, true]), end_ts: expiration });
  });

  it("8.10 tag history: active tags, one page; one tag", async () => {
    // 002:2303, its query wrapped after the "?" inside the quotes.
    const active = await documented(
      `curl -X GET \\
  -H "Authorization: Bearer <bearer_token>" \\
  -H "Accept: application/json" \\
  "https://<quay-server.example.com>/api/v1/repository/<namespace>/<repository>/tag/?onlyActiveTags=true&page=1&limit=10"`,
      { ...values(), "<repository>": "busybox" },
    );
    // `sample_tag` expires tomorrow: alive, with its end shown.
    expectTagList(JSON.parse(active), [
      ["test", "x", true, false],
      ["test-two", "x", false, false],
      ["sample_tag", "y", false, true],
      ["example", "x", false, false],
    ]);

    // 002:2328: the quoted URL starts on the next line and wraps after the "?"; the repository
    // is written literally (`quayadmin/busybox`) and filled in like a placeholder.
    const one = await documented(
      `curl -X GET -H "Authorization: Bearer <bearer_token>" -H "Accept: application/json" "<quay-server.example.com>/api/v1/repository/quayadmin/busybox/tag/?onlyActiveTags=true&page=1&limit=20&specificTag=test-two"`,
      { "quayadmin/busybox": repository },
    );
    expectTagList(JSON.parse(one), [["test-two", "x", false, false]]);
  });

  it("8.12 delete a tag, then the list", async () => {
    // 002:2386 (URL wrapped mid-host): no output.
    const deleted = await documented(
      `curl -X DELETE \\
  -H "Authorization: Bearer <bearer_token>" \\
  https://<quay-server.example.com>/api/v1/repository/<namespace>/<repository_name>/tag/<tag>`,
      { ...values(), "<tag>": "test" },
    );
    expect(deleted).toBe("");

    // 002:2397 (URL wrapped mid-host)
    const list = await documented(
      `curl -X GET \\
  -H "Authorization: Bearer <bearer_token>" \\
  -H "Accept: application/json" \\
  https://<quay-server.example.com>/api/v1/repository/<namespace>/<repository_name>/tag`,
      values(),
    );
    expectTagList(JSON.parse(list), [
      ["test", "x", true, true],
      ["test", "y", false, true],
      ["test-two", "x", false, false],
      ["test-two", "y", false, true],
      ["sample_tag", "y", false, true],
      ["test", "x", false, true],
      ["example", "x", false, false],
    ]);
  });

  it("8.14 restore the deleted tag, then the list", async () => {
    // 002:2490, the same command as 002:1936.
    const restored = await documented(RESTORE_TEST, restoreValues());
    expect(JSON.parse(restored)).toEqual({});

    // 002:2508 (URL wrapped mid-host)
    const list = await documented(
      `curl -X GET \\
  -H "Authorization: Bearer <bearer_token>" \\
  -H "Accept: application/json" \\
  https://<quay-server.example.com>/api/v1/repository/<namespace>/<repository_name>/tag`,
      values(),
    );
    expectTagList(JSON.parse(list), [
      ["test", "x", true, false],
      ["test", "x", true, true],
      ["test", "y", false, true],
      ["test-two", "x", false, false],
      ["test-two", "y", false, true],
      ["sample_tag", "y", false, true],
      ["test", "x", false, true],
      ["example", "x", false, false],
    ]);
  });
});
