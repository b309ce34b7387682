/**
 * The connector's rules, tested without an edge: Quay's Dockerfile and context paths, archives
 * that try to write outside the build directory, the address check that keeps build sources off
 * the operator's own network, git URL forms, the backoff's bounds, the command line, a failed
 * tool's message.
 */
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isPrivateAddress } from "../../../connector/src/build/address-check";
import { checkEntries, unpackSource } from "../../../connector/src/build/archive";
import { dockerfileInSource, resolveBuildPaths } from "../../../connector/src/build/context";
import { gitHost } from "../../../connector/src/build/git";
import { Backoff } from "../../../connector/src/backoff";
import { failureMessage } from "../../../connector/src/child";
import { parseOptions } from "../../../connector/src/options";
import { run } from "../helpers/clients";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-connector-units-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("Quay's context rules", () => {
  it("reads build_subdir as the Dockerfile or its directory, dockerfile_path as the file", () => {
    const rules = (build_subdir: string, dockerfile_path?: string) => ({ build_subdir, context: "", dockerfile_path });
    expect(dockerfileInSource(rules(""))).toBe("Dockerfile");
    expect(dockerfileInSource(rules("/"))).toBe("Dockerfile");
    expect(dockerfileInSource(rules("/Dockerfile"))).toBe("Dockerfile");
    expect(dockerfileInSource(rules("/somepath"))).toBe("somepath/Dockerfile");
    expect(dockerfileInSource(rules("/somepath/"))).toBe("somepath/Dockerfile");
    expect(dockerfileInSource(rules("/somepath/server.Dockerfile"))).toBe("somepath/server.Dockerfile");
    expect(dockerfileInSource(rules("", "sub/Dockerfile.prod"))).toBe("sub/Dockerfile.prod");
    expect(dockerfileInSource(rules("", "../../etc/Dockerfile"))).toBe("etc/Dockerfile");
  });

  it("resolves the context (the Dockerfile's directory by default) inside the tree only", async () => {
    const root = await mkdtemp(path.join(tmp, "tree-"));
    await mkdir(path.join(root, "app", "docker"), { recursive: true });
    await writeFile(path.join(root, "app", "docker", "Dockerfile"), "FROM scratch\n");
    await writeFile(path.join(os.tmpdir(), `outside-${path.basename(root)}`), "FROM scratch\n");
    await symlink(os.tmpdir(), path.join(root, "escape"));
    const real = await import("node:fs/promises").then((fs) => fs.realpath(root));

    expect(await resolveBuildPaths(root, { build_subdir: "app/docker", context: "" })).toEqual({
      context: path.join(real, "app", "docker"),
      dockerfile: path.join(real, "app", "docker", "Dockerfile"),
    });
    expect(
      await resolveBuildPaths(root, { build_subdir: "", context: "/app", dockerfile_path: "docker/Dockerfile" }),
    ).toEqual({
      context: path.join(real, "app"),
      dockerfile: path.join(real, "app", "docker", "Dockerfile"),
    });
    await expect(resolveBuildPaths(root, { build_subdir: "", context: "" })).rejects.toThrow(
      /no Dockerfile at \/Dockerfile/,
    );
    await expect(
      resolveBuildPaths(root, {
        build_subdir: "",
        context: "/",
        dockerfile_path: `escape/outside-${path.basename(root)}`,
      }),
    ).rejects.toThrow(/no Dockerfile/);
    await expect(
      resolveBuildPaths(root, {
        build_subdir: "",
        context: "",
        dockerfile_path: `escape/outside-${path.basename(root)}`,
      }),
    ).rejects.toThrow(/the build context \/escape is outside the build's source/);
    await expect(resolveBuildPaths(root, { build_subdir: "app/docker", context: "escape" })).rejects.toThrow(
      /the build context \/escape is outside the build's source/,
    );
  });
});

describe("archives", () => {
  it("refuses absolute paths, .. and paths through the archive's own links", () => {
    expect(() => checkEntries([{ name: "/etc/passwd", type: "file" }])).toThrow(/absolute/);
    expect(() => checkEntries([{ name: "a/../../x", type: "file" }])).toThrow(/leaves its directory/);
    expect(() =>
      checkEntries([
        { name: "link", type: "symlink" },
        { name: "link/cron.d/evil", type: "file" },
      ]),
    ).toThrow(/goes through a link/);
    expect(() =>
      checkEntries([
        { name: "./", type: "dir" },
        { name: "./Dockerfile", type: "file" },
        { name: "./link", type: "symlink" },
      ]),
    ).not.toThrow();
  });

  it("extracts a tar whose links stay inside, and refuses one that writes through a link, writing nothing", async () => {
    const src = await mkdtemp(path.join(tmp, "src-"));
    const outside = await mkdtemp(path.join(tmp, "outside-"));
    await writeFile(path.join(src, "Dockerfile"), "FROM scratch\n");
    await symlink(outside, path.join(src, "link"));
    const good = path.join(tmp, "good.tar");
    await run("tar", ["-cf", good, "-C", src, "Dockerfile", "link"]);
    const into = await mkdtemp(path.join(tmp, "into-"));
    expect(await unpackSource(good, into, new AbortController().signal)).toBe("tar");
    expect((await readdir(into)).sort()).toEqual(["Dockerfile", "link"]);

    await writeFile(path.join(src, "evil"), "owned\n");
    const bad = path.join(tmp, "bad.tar");
    await run("tar", ["-cf", bad, "-C", src, "link"]);
    await run("tar", ["-rf", bad, "-C", src, "--transform", "s,^evil,link/evil,", "evil"]);
    const into2 = await mkdtemp(path.join(tmp, "into-"));
    await expect(unpackSource(bad, into2, new AbortController().signal)).rejects.toThrow(/goes through a link/);
    expect(await readdir(outside)).toEqual([]);
    expect(await readdir(into2)).toEqual([]);
  });

  it("extracts a zip, its symlinks listed as links", async () => {
    const src = await mkdtemp(path.join(tmp, "zsrc-"));
    await mkdir(path.join(src, "sub"));
    await writeFile(path.join(src, "sub", "Dockerfile"), "FROM scratch\n");
    await symlink("Dockerfile", path.join(src, "sub", "alias"));
    const zip = path.join(tmp, "context.zip");
    await run("zip", ["-q", "-r", "--symlinks", zip, "sub"], { cwd: src });
    const into = await mkdtemp(path.join(tmp, "into-"));
    expect(await unpackSource(zip, into, new AbortController().signal)).toBe("zip");
    expect((await readdir(path.join(into, "sub"))).sort()).toEqual(["Dockerfile", "alias"]);
  });

  it("takes a file that is no archive as the Dockerfile", async () => {
    const file = path.join(tmp, "upload");
    await writeFile(file, "FROM scratch\nCOPY a /a\n");
    const into = await mkdtemp(path.join(tmp, "into-"));
    expect(await unpackSource(file, into, new AbortController().signal)).toBe("dockerfile");
    expect(await readdir(into)).toEqual(["Dockerfile"]);
  });
});

describe("sources off the operator's network", () => {
  it("knows loopback, private, link-local and unique-local addresses", () => {
    for (const a of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "::1",
      "fd00::1",
      "fe80::1",
      "::ffff:10.0.0.1",
      "0.0.0.0",
      "100.64.0.1",
    ])
      expect(isPrivateAddress(a), a).toBe(true);
    for (const a of ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1"])
      expect(isPrivateAddress(a), a).toBe(false);
  });

  it("accepts https, http, git and ssh git URLs and nothing else", () => {
    expect(gitHost("https://git.example.com/a/b.git")).toEqual({ host: "git.example.com", ssh: false });
    expect(gitHost("git@git.example.com:a/b.git")).toEqual({ host: "git.example.com", ssh: true });
    expect(gitHost("ssh://git@git.example.com:2222/a/b.git")).toEqual({ host: "git.example.com", ssh: true });
    expect(gitHost("git://git.example.com/a/b.git")).toEqual({ host: "git.example.com", ssh: false });
    expect(gitHost("ext::sh -c touch% /tmp/pwned")).toBeNull();
    expect(gitHost("file:///etc")).toBeNull();
    expect(gitHost("/srv/repo.git")).toBeNull();
  });
});

describe("backoff", () => {
  it("doubles from 1 s, draws from the upper half, caps at 60 s, and starts over after a success", () => {
    const low = new Backoff(1000, 60_000, () => 0);
    const high = new Backoff(1000, 60_000, () => 1);
    expect(Array.from({ length: 8 }, () => low.next())).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    expect(Array.from({ length: 8 }, () => high.next())).toEqual([
      1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000,
    ]);
    high.reset();
    expect(high.next()).toBe(1000);
  });
});

describe("the command line", () => {
  it("takes the edge and token from flags or the environment, and refuses what cannot work", () => {
    const ok = parseOptions(["--clair", "http://clair:6060", "--concurrency", "2"], {
      WHARF_EDGE: "https://registry.example",
      WHARF_CONNECTOR_TOKEN: "wharfc_x",
      CLAIR_PSK: "c2VjcmV0",
    });
    expect(ok).toMatchObject({
      options: { edge: "https://registry.example", token: "wharfc_x", clairPsk: "c2VjcmV0", concurrency: 2 },
    });
    expect(parseOptions([], {})).toEqual({ error: "--edge (or WHARF_EDGE) is required" });
    expect(parseOptions(["--edge", "http://registry.example", "--token", "t"], {})).toMatchObject({
      error: expect.stringMatching(/must be https/),
    });
    expect(parseOptions(["--edge", "http://127.0.0.1:1", "--token", "t"], {})).toHaveProperty("options");
    expect(parseOptions(["--edge", "https://e", "--token", "t", "--builder", "docker"], {})).toMatchObject({
      error: expect.stringMatching(/--builder/),
    });
    expect(parseOptions(["--bogus"], {})).toHaveProperty("error");
    expect(parseOptions(["--help"], {})).toEqual({ help: true });
  });
});

describe("a failed tool's message", () => {
  const result = (stderrTail: string, code = 125) => ({ code, signal: null, stdout: "", stderrTail });

  it("is the last error line, with the causes buildah lists after an error ending in a colon", () => {
    const pull = [
      "STEP 1/2: FROM registry.example/org/base:main",
      "Error: creating build container: initializing source docker://registry.example/org/base:main: reading manifest main in registry.example/org/base: errors:",
      "denied: requested access to the resource is denied",
      "unauthorized: authentication required",
      "",
    ].join("\n");
    expect(failureMessage("buildah bud", result(pull))).toBe(
      "buildah bud: Error: creating build container: initializing source docker://registry.example/org/base:main: " +
        "reading manifest main in registry.example/org/base: errors: denied: requested access to the resource is denied " +
        "unauthorized: authentication required",
    );
    expect(failureMessage("git fetch", result("remote: nope\nfatal: couldn't find remote ref main\nhint: x"))).toBe(
      "git fetch: fatal: couldn't find remote ref main",
    );
    expect(failureMessage("tool", result("only this\n"))).toBe("tool: only this");
    expect(failureMessage("tool", result("", 3))).toBe("tool failed (exit status 3)");
  });
});
