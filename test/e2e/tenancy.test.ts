/**
 * Quay's tenancy with real clients: an organization with a team and a robot. The robot pushes with
 * skopeo where its team's grant or its own grant allows and is refused elsewhere; anonymous podman
 * pulls a public repository and is refused a private one.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { login, Podman, registryHost, skopeoCopy, skopeoInspectRaw } from "./helpers/clients";
import { buildImageLayout, sha256 } from "./helpers/oci-layout";
import { apiCall } from "./helpers/api-calls";
import { connectWharf } from "./helpers/server";

const base = inject("wharfUrl");
const host = registryHost(base);
const run =
  Math.random()
    .toString(36)
    .replace(/[^a-z]/g, "")
    .slice(0, 6) || "run";
const org = `tenancy${run}`;
let wharf: Awaited<ReturnType<typeof connectWharf>>;
let tmp: string;
let layout: string;
let manifestDigest: string;
let robotToken: string;

const adminCall = (method: string, pathname: string, body?: unknown) =>
  apiCall(base, wharf.adminToken, method, pathname, body);

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-tenancy-"));
  layout = path.join(tmp, "layout");
  manifestDigest = (await buildImageLayout(layout, "1", { layers: 1, layerSize: () => 4096 })).manifest.digest;

  // Set up through the API only, as a Quay script would.
  await adminCall("POST", "/organization/", { name: org });
  for (const name of ["by-team", "by-grant", "closed", "open"]) {
    await adminCall("POST", "/repository", {
      namespace: org,
      repository: name,
      visibility: name === "open" ? "public" : "private",
      description: "e2e",
    });
  }
  robotToken = (await adminCall("PUT", `/organization/${org}/robots/deployer`)).token;
  await adminCall("PUT", `/organization/${org}/team/deployers`, { role: "member", description: "ships things" });
  await adminCall("PUT", `/organization/${org}/team/deployers/members/${org}+deployer`);
  await adminCall("PUT", `/repository/${org}/by-team/permissions/team/deployers`, { role: "write" });
  await adminCall("PUT", `/repository/${org}/by-grant/permissions/user/${org}+deployer`, { role: "write" });

  // The organization's admin seeds the two repositories others pull.
  await login(host, { username: "$oauthtoken", password: wharf.adminToken }, path.join(tmp, "admin.json"));
  for (const name of ["closed", "open"]) await skopeoCopy(`oci:${layout}:1`, `docker://${host}/${org}/${name}:1`);
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("an organization with a team and a robot", () => {
  it("lets the robot push and pull through its team's grant and its own grant, and nowhere else", async () => {
    await login(host, { username: `${org}+deployer`, password: robotToken }, path.join(tmp, "robot.json"));
    for (const name of ["by-team", "by-grant"]) {
      const ref = `docker://${host}/${org}/${name}:1`;
      await skopeoCopy(`oci:${layout}:1`, ref);
      expect(sha256(await skopeoInspectRaw(ref))).toBe(manifestDigest);
    }
    await expect(skopeoCopy(`oci:${layout}:1`, `docker://${host}/${org}/closed:2`)).rejects.toThrow(
      /unauthorized|denied|authentication required/i,
    );
    await expect(skopeoInspectRaw(`docker://${host}/${org}/closed:1`)).rejects.toThrow(
      /unauthorized|denied|authentication required/i,
    );
    // Nor may it create a repository: robots of a member team cannot.
    await expect(skopeoCopy(`oci:${layout}:1`, `docker://${host}/${org}/new-${run}:1`)).rejects.toThrow(
      /unauthorized|denied|authentication required/i,
    );
  });

  it("lets anonymous podman pull the public repository and refuses it the private one", async () => {
    const anonymous = path.join(tmp, "anonymous.json");
    await writeFile(anonymous, JSON.stringify({ auths: {} }));
    process.env.REGISTRY_AUTH_FILE = anonymous;
    const podman = await Podman.create();
    try {
      expect(await podman.pull(`${host}/${org}/open:1`)).toMatch(/^[0-9a-f]{64}$/);
      await expect(podman.pull(`${host}/${org}/closed:1`)).rejects.toThrow(
        /unauthorized|denied|authentication required/i,
      );
    } finally {
      await podman.dispose();
    }
  });
});
