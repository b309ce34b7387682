/**
 * Robot accounts with real clients: podman and skopeo log in with a robot's token, and with the one-hour
 * token a federated robot gets for an OIDC token of the test's own identity provider (OpenID
 * discovery and a JWKS served on loopback), then skopeo pushes and pulls where the robot was
 * granted write, and is refused where it was not. The identity provider is on loopback, so this
 * file starts its own registry with ALLOW_PRIVATE_OUTBOUND naming it; the suite's shared registry,
 * which allows no private host, refuses the same issuer without asking it (issue #12).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { login, registryHost, skopeoCopy, skopeoInspectRaw } from "./helpers/clients";
import { buildImageLayout, sha256 } from "./helpers/oci-layout";
import { apiCall } from "./helpers/api-calls";
import { connectWharf, startWharf, type RunningServer } from "./helpers/server";

const run =
  Math.random()
    .toString(36)
    .replace(/[^a-z]/g, "")
    .slice(0, 6) || "run";
let wharf: RunningServer;
let base: string;
let host: string;
/** Every path the identity provider was asked for. */
const idpRequests: string[] = [];
let tmp: string;
let layout: string;
let manifestDigest: string;
let idp: Server;
let issuer: string;
let signingKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

const adminCall = (method: string, pathname: string, body?: unknown) =>
  apiCall(base, wharf.adminToken, method, pathname, body);

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-robots-"));
  layout = path.join(tmp, "layout");
  manifestDigest = (await buildImageLayout(layout, "1", { layers: 1, layerSize: () => 4096 })).manifest.digest;

  const pair = await generateKeyPair("ES256");
  signingKey = pair.privateKey;
  const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: "e2e", alg: "ES256", use: "sig" }] };
  idp = createServer((req, res) => {
    idpRequests.push(req.url!);
    const body =
      req.url === "/.well-known/openid-configuration"
        ? { issuer, jwks_uri: `${issuer}/jwks` }
        : req.url === "/jwks"
          ? jwks
          : null;
    res.writeHead(body ? 200 : 404, { "Content-Type": "application/json" }).end(JSON.stringify(body ?? {}));
  });
  await new Promise<void>((resolve) => idp.listen(0, "127.0.0.1", resolve));
  const idpHost = `127.0.0.1:${(idp.address() as AddressInfo).port}`;
  issuer = `http://${idpHost}`;
  // This registry may reach the identity provider, and only it.
  wharf = await startWharf({ env: { ALLOW_PRIVATE_OUTBOUND: idpHost } });
  base = wharf.url;
  host = registryHost(base);

  // The owner pushes first: a repository exists before anyone can be granted a role on it.
  await login(host, { username: "$oauthtoken", password: wharf.adminToken }, path.join(tmp, "admin.json"));
  for (const repo of [`admin/robot-${run}`, `admin/closed-${run}`])
    await skopeoCopy(`oci:${layout}:1`, `docker://${host}/${repo}:1`);
});

afterAll(async () => {
  await wharf?.stop();
  idp?.close();
  await rm(tmp, { recursive: true, force: true });
});

/** Logs in as the robot, pushes and pulls where it may write, and fails to read the closed repository. */
async function robotPushAndPull(
  username: string,
  password: string,
  label: string,
  client: "podman" | "skopeo",
): Promise<void> {
  await login(host, { username, password }, path.join(tmp, `${label}.json`), client);
  const ref = `docker://${host}/admin/robot-${run}:${label}`;
  await skopeoCopy(`oci:${layout}:1`, ref);
  expect(sha256(await skopeoInspectRaw(ref))).toBe(manifestDigest);
  await skopeoCopy(ref, `oci:${path.join(tmp, label)}:1`);
  await expect(skopeoInspectRaw(`docker://${host}/admin/closed-${run}:1`)).rejects.toThrow(
    /unauthorized|denied|authentication required/i,
  );
}

describe("robot accounts with podman and skopeo", () => {
  it("log in with the robot token", async () => {
    const robot = await adminCall("PUT", `/user/robots/ci${run}`, { description: "e2e" });
    await adminCall("PUT", `/repository/admin/robot-${run}/permissions/user/admin+ci${run}`, { role: "write" });
    await robotPushAndPull(robot.name, robot.token, "token", "podman");
    await robotPushAndPull(robot.name, robot.token, "token-skopeo", "skopeo");
  });

  it("log in with a federated robot's one-hour token", async () => {
    const robot = await adminCall("PUT", `/user/robots/fed${run}`);
    await adminCall("PUT", `/repository/admin/robot-${run}/permissions/user/admin+fed${run}`, { role: "write" });
    await adminCall("POST", `/user/robots/fed${run}/federation`, [{ issuer, subject: "pipeline-7" }]);
    const oidc = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: "e2e" })
      .setIssuer(issuer)
      .setSubject("pipeline-7")
      .setAudience("wharf")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(signingKey);
    const res = await fetch(`${base}/oauth2/federation/robot/token`, {
      headers: { Authorization: `Basic ${btoa(`${robot.name}:${oidc}`)}` },
    });
    const answer = (await res.json()) as { token?: string; error?: string };
    expect(res.status, answer.error).toBe(200);
    await robotPushAndPull(robot.name, answer.token!, "federated", "podman");
    await robotPushAndPull(robot.name, answer.token!, "federated-skopeo", "skopeo");
    // The robot's own long-lived token is not needed, and an unlisted subject gets nothing.
    const stranger = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: "e2e" })
      .setIssuer(issuer)
      .setSubject("intruder")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(signingKey);
    const refused = await fetch(`${base}/oauth2/federation/robot/token`, {
      headers: { Authorization: `Basic ${btoa(`${robot.name}:${stranger}`)}` },
    });
    expect(refused.status).toBe(401);
  });

  it("a registry whose ALLOW_PRIVATE_OUTBOUND does not name the issuer refuses it without asking it", async () => {
    const shared = await connectWharf(inject("wharfUrl"), inject("wharfStateDir"));
    const call = (method: string, pathname: string, body?: unknown) =>
      apiCall(shared.url, shared.adminToken, method, pathname, body);
    const robot = await call("PUT", `/user/robots/fed${run}`);
    await call("POST", `/user/robots/fed${run}/federation`, [{ issuer, subject: "pipeline-7" }]);
    const oidc = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: "e2e" })
      .setIssuer(issuer)
      .setSubject("pipeline-7")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(signingKey);
    idpRequests.length = 0;
    const res = await fetch(`${shared.url}/oauth2/federation/robot/token`, {
      headers: { Authorization: `Basic ${btoa(`${robot.name}:${oidc}`)}` },
    });
    expect(res.status).toBe(401);
    // The same answer as for any token that is not proven: nothing about the issuer.
    expect(await res.json()).toEqual({ error: "The token could not be verified" });
    expect(idpRequests).toEqual([]);
  });

  it("refuse a wrong robot token at login", async () => {
    await expect(
      login(host, { username: `admin+ci${run}`, password: "A".repeat(64) }, path.join(tmp, "wrong.json")),
    ).rejects.toThrow(/exit/);
  });
});
