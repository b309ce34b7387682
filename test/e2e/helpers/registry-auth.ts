/**
 * The client side of Docker token authentication, as podman and skopeo do it, for raw-HTTP tests
 * and the bench: for each request, the scope its path needs, a token for it from the registry's
 * `/v2/auth` (Basic credentials of the repository namespace's owner), cached until shortly before
 * it expires, sent as `Authorization: Bearer`. Tokens are fetched before the request, so streamed
 * bodies never need replaying.
 */

export interface Credentials {
  username: string;
  password: string;
}

/** The repository a /v2 path names (greedy, as the registry's routes), or null. */
export function repositoryOf(pathname: string): string | null {
  return (
    pathname.match(
      /^\/v2\/(.+)\/(?:blobs\/uploads\/?[^/]*|blobs\/[^/]+|manifests\/[^/]+|tags\/list|referrers\/[^/]+)$/,
    )?.[1] ?? null
  );
}

export class RegistryLogin {
  readonly #tokens = new Map<string, { token: string; until: number }>();

  constructor(
    readonly origin: string,
    /** Credentials of the user owning `namespace` (the first path component of a repository). */
    readonly credentialsFor: (namespace: string) => Promise<Credentials>,
  ) {}

  /**
   * A registry token for `scopes`, logged in as the owner of `namespace`; anonymous when the
   * namespace cannot be a username (a malformed name, which the registry must refuse as such).
   */
  async token(namespace: string, scopes: string[]): Promise<string> {
    const key = `${namespace} ${scopes.join(" ")}`;
    const cached = this.#tokens.get(key);
    if (cached && cached.until > Date.now()) return cached.token;
    const valid = namespace.length >= 2 && namespace.length <= 255 && /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(namespace);
    const headers: Record<string, string> = {};
    if (valid) {
      const { username, password } = await this.credentialsFor(namespace);
      headers.Authorization = `Basic ${btoa(`${username}:${password}`)}`;
    }
    const query = scopes.map((s) => `scope=${encodeURIComponent(s)}`).join("&");
    const res = await fetch(
      `${this.origin}/v2/auth?service=${encodeURIComponent(new URL(this.origin).host)}&${query}`,
      { headers },
    );
    if (res.status !== 200)
      throw new Error(`token for ${namespace} (${scopes.join(" ")}): ${res.status} ${await res.text()}`);
    const { token, expires_in } = (await res.json()) as { token: string; expires_in: number };
    // Renew a minute early: a long request must not outlive its token.
    this.#tokens.set(key, { token, until: Date.now() + (expires_in - 60) * 1000 });
    return token;
  }

  /**
   * The Authorization header for a request to `url`: `actions` (every one by default) on the
   * repository it names (plus pull on a mount's `from`); `_catalog` as the owner of `as`; other paths any token.
   */
  async authorization(url: string, as = "admin", actions = "pull,push,delete"): Promise<string> {
    const parsed = new URL(url, this.origin);
    const repository = repositoryOf(parsed.pathname);
    const scopes: string[] = [];
    let namespace = as;
    if (repository) {
      namespace = repository.split("/")[0]!;
      scopes.push(`repository:${repository}:${actions}`);
      const from = parsed.searchParams.get("from");
      if (from) scopes.push(`repository:${from}:pull`);
    } else if (parsed.pathname.startsWith("/v2/_catalog")) {
      scopes.push("registry:catalog:*");
    }
    return `Bearer ${await this.token(namespace, scopes)}`;
  }

  /** `fetch` with the token a logged-in client would send; an explicit Authorization header wins. */
  readonly fetch = async (input: string | URL, init: RequestInit & { as?: string } = {}): Promise<Response> => {
    const url = new URL(String(input), this.origin);
    const headers = new Headers(init.headers);
    if (!headers.has("Authorization") && url.pathname.startsWith("/v2") && !url.pathname.startsWith("/v2/auth")) {
      headers.set("Authorization", await this.authorization(url.href, init.as));
    }
    const { as: _as, ...rest } = init;
    return fetch(url, { ...rest, headers });
  };
}
