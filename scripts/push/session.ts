/**
 * The pusher's connection to one repository: where it is (`host[:port]/ns/repo:tag`), who is
 * asking (--username/--password, WHARF_USERNAME/WHARF_PASSWORD, or the containers auth file), and
 * the token flow of the registry's `WWW-Authenticate` challenge (distribution's token
 * authentication: Bearer realm, service, scope), renewed whenever the registry answers 401.
 */
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type Answer, type Body, exchange, header } from "./http.ts";

export interface Target {
  base: URL;
  repository: string;
  tag: string;
}

export class RefError extends Error {}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;

/** `host[:port]/ns/repo[:tag]`; http for a loopback host or with `plainHttp`, https otherwise. */
export function parseTarget(ref: string, plainHttp = false): Target {
  const bad = (why: string) =>
    new RefError(`bad reference ${JSON.stringify(ref)}: ${why} (expected host[:port]/namespace/repository:tag)`);
  const slash = ref.indexOf("/");
  if (slash <= 0) throw bad("no registry host");
  const host = ref.slice(0, slash);
  if (!/^[a-zA-Z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(host))
    throw bad(`${JSON.stringify(host)} is not a host[:port]`);
  let rest = ref.slice(slash + 1);
  if (rest.includes("@")) throw bad("push to a tag, not a digest");
  let tag = "latest";
  const colon = rest.lastIndexOf(":");
  if (colon !== -1) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  if (!TAG.test(tag)) throw bad(`${JSON.stringify(tag)} is not a tag`);
  const components = rest.split("/");
  if (components.length < 2) throw bad("a repository is namespace/name");
  const wrong = components.find((c) => !COMPONENT.test(c));
  if (wrong !== undefined) throw bad(`${JSON.stringify(wrong)} is not a repository name component`);
  const scheme = plainHttp || LOOPBACK.test(host) ? "http" : "https";
  return { base: new URL(`${scheme}://${host}`), repository: rest, tag };
}

export interface Credentials {
  username: string;
  password: string;
}

/** The first of: the options, the environment, the containers (or docker) auth file's entry for `host`. */
export async function findCredentials(host: string, given: Partial<Credentials>): Promise<Credentials | null> {
  if (given.username && given.password !== undefined) return given as Credentials;
  const { WHARF_USERNAME, WHARF_PASSWORD } = process.env;
  if (WHARF_USERNAME && WHARF_PASSWORD !== undefined) return { username: WHARF_USERNAME, password: WHARF_PASSWORD };
  const files = [
    process.env.REGISTRY_AUTH_FILE,
    process.env.XDG_RUNTIME_DIR && path.join(process.env.XDG_RUNTIME_DIR, "containers", "auth.json"),
    path.join(os.homedir(), ".config", "containers", "auth.json"),
    path.join(os.homedir(), ".docker", "config.json"),
  ].filter((f): f is string => Boolean(f));
  for (const file of files) {
    const auths = await readFile(file, "utf8").then(
      (text) => (JSON.parse(text) as { auths?: Record<string, { auth?: string }> }).auths ?? {},
      () => ({}) as Record<string, { auth?: string }>,
    );
    const encoded = auths[host]?.auth;
    if (!encoded) continue;
    const decoded = Buffer.from(encoded, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return null;
}

/** `Bearer realm="…",service="…"` as its parameters. */
function challengeOf(value: string): { scheme: string; params: Record<string, string> } {
  const space = value.indexOf(" ");
  const scheme = (space === -1 ? value : value.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of value.slice(space + 1).matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!.toLowerCase()] = m[2]!;
  return { scheme, params };
}

export class Session {
  #authorization: string | null = null;

  constructor(
    readonly target: Target,
    readonly credentials: Credentials | null,
  ) {}

  url(pathOrUrl: string): URL {
    return new URL(pathOrUrl, this.target.base);
  }

  /** One request, authenticated; on a 401 the challenge is answered and the request sent again once. */
  async send(method: string, url: URL, headers: Record<string, string> = {}, body?: Body): Promise<Answer> {
    for (let attempt = 0; ; attempt++) {
      const sent = this.#authorization ? { ...headers, Authorization: this.#authorization } : headers;
      const answer = await exchange(method, url, sent, body);
      if (answer.status !== 401 || attempt > 0) return answer;
      await this.#authenticate(header(answer, "WWW-Authenticate") ?? "");
    }
  }

  async #authenticate(challenge: string): Promise<void> {
    const { scheme, params } = challengeOf(challenge);
    const basic =
      this.credentials &&
      `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString("base64")}`;
    if (scheme === "basic") {
      if (!basic)
        throw new Error(
          "the registry asks for credentials: give --username/--password or WHARF_USERNAME/WHARF_PASSWORD",
        );
      this.#authorization = basic;
      return;
    }
    if (scheme !== "bearer" || !params.realm)
      throw new Error(`the registry's challenge is not understood: ${challenge || "(none)"}`);
    const tokenUrl = new URL(params.realm);
    if (params.service) tokenUrl.searchParams.set("service", params.service);
    tokenUrl.searchParams.set("scope", `repository:${this.target.repository}:pull,push`);
    const answer = await exchange("GET", tokenUrl, basic ? { Authorization: basic } : {});
    if (answer.status !== 200) {
      throw new Error(
        `login at ${tokenUrl.origin} failed: ${answer.status} ${answer.body.toString("utf8").slice(0, 200)}`,
      );
    }
    const { token, access_token } = JSON.parse(answer.body.toString("utf8")) as {
      token?: string;
      access_token?: string;
    };
    if (!(token ?? access_token)) throw new Error("the token service answered without a token");
    this.#authorization = `Bearer ${token ?? access_token}`;
  }
}
