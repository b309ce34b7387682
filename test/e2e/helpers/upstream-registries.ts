/**
 * Upstream registries on loopback for the proxy-cache and mirroring tests (issue #16: "the
 * upstream in tests is a real registry on loopback"):
 * - Debian's `docker-registry`, open or behind HTTP Basic ({@link startDistributionUpstream});
 * - a second Wharf, which demands Docker's token dance ({@link startWharfUpstream});
 * - {@link putTestImage}: a generated image pushed there under chosen tags with skopeo;
 * - {@link startCountingProxy}: a loopback HTTP proxy in front of an upstream that counts the
 *   requests per path and can be stopped and started again, to count upstream fetches and to
 *   make the upstream go away.
 * Wharf reaches these only when its ALLOW_PRIVATE_OUTBOUND names them ({@link allowOutboundTo}).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type net from "node:net";
import os from "node:os";
import path from "node:path";
import { registryHost, skopeoCopy } from "./clients";
import {
  type BuiltImage,
  type BuiltIndex,
  buildImageLayout,
  buildMultiArchLayout,
  type ImageOptions,
} from "./oci-layout";
import { type ReferenceRegistry, startReferenceRegistry } from "./reference-registry";
import type { Credentials } from "./registry-auth";
import { freePort, type RunningServer, startWharf } from "./server";

/** A registry tests can push to and Wharf can pull from. */
export interface Upstream {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>`: the host an UpstreamConfig names (with `insecure`: plain http). */
  host: string;
  /** The account that may push (and pull), when the registry wants one. */
  credentials?: Credentials;
  stop(): Promise<void>;
}

/** Debian's docker-registry; with `auth: "htpasswd"`, one account with a random password (HTTP Basic). */
export async function startDistributionUpstream(
  options: { auth?: "none" | "htpasswd" } = {},
): Promise<Upstream & { registry: ReferenceRegistry }> {
  const credentials =
    options.auth === "htpasswd"
      ? { username: "upstream", password: `pw-${randomBytes(9).toString("hex")}` }
      : undefined;
  const registry = await startReferenceRegistry({ htpasswd: credentials });
  return { url: registry.url, host: registryHost(registry.url), credentials, registry, stop: () => registry.stop() };
}

/**
 * A second Wharf, started as `npm start` with its own port and state directory, and a user of
 * `namespace` with a password: its repositories are private, so a pull needs Docker's token dance
 * (401 with a Bearer challenge, a token from its /v2/auth with Basic credentials).
 */
export async function startWharfUpstream(
  namespace = "upstream",
): Promise<Upstream & { server: RunningServer; credentials: Credentials }> {
  const server = await startWharf();
  const credentials = await server.credentialsFor(namespace);
  return { url: server.url, host: registryHost(server.url), credentials, server, stop: () => server.stop() };
}

/**
 * Pushes a freshly generated image (random layers, so every call has new digests) to
 * `upstream` as `repository` under each of `tags`, with skopeo from an OCI layout, the
 * upstream's credentials in an auth file (never on a command line). `multiArch`: a linux/amd64 +
 * linux/arm64 index with its children.
 */
export async function putTestImage(
  upstream: Pick<Upstream, "url" | "credentials">,
  repository: string,
  tags: string[],
  options: ImageOptions & { multiArch?: boolean } = {},
): Promise<{ digest: string; image: BuiltImage | BuiltIndex }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "wharf-upstream-image-"));
  try {
    const layout = path.join(dir, "layout");
    const image = options.multiArch
      ? await buildMultiArchLayout(layout, "image")
      : await buildImageLayout(layout, "image", options);
    const authFile = path.join(dir, "auth.json");
    const host = registryHost(upstream.url);
    const { username, password } = upstream.credentials ?? { username: "", password: "" };
    const auths = upstream.credentials
      ? { [host]: { auth: Buffer.from(`${username}:${password}`).toString("base64") } }
      : {};
    await writeFile(authFile, JSON.stringify({ auths }), { mode: 0o600 });
    for (const tag of tags)
      await skopeoCopy(`oci:${layout}:image`, `docker://${host}/${repository}:${tag}`, {
        all: options.multiArch,
        env: { REGISTRY_AUTH_FILE: authFile },
      });
    const digest = "index" in image ? image.index.digest : image.manifest.digest;
    return { digest, image };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** ALLOW_PRIVATE_OUTBOUND naming these upstreams (host:port entries), for a Wharf that must reach them. */
export function allowOutboundTo(...upstreams: Array<Pick<Upstream, "host">>): string {
  return upstreams.map((u) => u.host).join(",");
}

export interface SeenRequest {
  method: string;
  /** The path and query as the client sent them. */
  path: string;
  status: number | null;
}

export interface CountingProxy {
  url: string;
  host: string;
  readonly requests: readonly SeenRequest[];
  /** Requests by `method` for `path` (its path without the query; a trailing `*` matches a prefix). */
  count(method: string, path: string): number;
  /** Forgets the requests seen so far. */
  reset(): void;
  /** Answers every request with `status` (a failing upstream) until called with null. */
  failWith(status: number | null): void;
  /** Closes the port and every open connection: the upstream is unreachable (connection refused). */
  stop(): Promise<void>;
  /** Listens on the same port again. */
  start(): Promise<void>;
  /** Stops for good. */
  close(): Promise<void>;
}

/**
 * An HTTP proxy on a free loopback port that forwards every request to `target` (its Host header
 * kept, so a registry's token realm and Locations name the proxy and come back through it) and
 * records each one, streaming bodies both ways. `port`: a port chosen beforehand (the bench lets it
 * through the ALLOW_PRIVATE_OUTBOUND of a Wharf started before the proxy).
 */
export async function startCountingProxy(target: string, options: { port?: number } = {}): Promise<CountingProxy> {
  const port = options.port ?? (await freePort());
  const upstream = new URL(target);
  const requests: SeenRequest[] = [];
  const sockets = new Set<net.Socket>();
  let failure: number | null = null;

  const server = http.createServer((req, res) => {
    const seen: SeenRequest = { method: req.method ?? "GET", path: req.url ?? "/", status: null };
    requests.push(seen);
    if (failure !== null) {
      seen.status = failure;
      res.writeHead(failure, { "Content-Type": "text/plain" }).end("upstream failure (counting proxy)");
      req.resume();
      return;
    }
    const forwarded = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        seen.status = answer.statusCode ?? null;
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
      },
    );
    forwarded.on("error", (err) => {
      if (!res.headersSent) res.writeHead(502, { "Content-Type": "text/plain" }).end(`proxy: ${err.message}`);
      else res.destroy(err);
    });
    req.pipe(forwarded);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
  await listen();

  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    host: registryHost(url),
    requests,
    count(method, pathname) {
      const prefix = pathname.endsWith("*") ? pathname.slice(0, -1) : null;
      return requests.filter((r) => {
        const at = r.path.split("?")[0]!;
        return r.method === method && (prefix === null ? at === pathname : at.startsWith(prefix));
      }).length;
    },
    reset: () => void requests.splice(0),
    failWith(status) {
      failure = status;
    },
    stop,
    start: listen,
    close: stop,
  };
}
