/**
 * The registry's own absolute URLs: the token challenge's realm, the token audience (`service`),
 * API error types, the OpenAPI `servers` entry, the OAuth local handler. Quay builds them from
 * SERVER_HOSTNAME and PREFERRED_URL_SCHEME; without those settings Wharf uses the request's
 * scheme and host, but only a syntactically valid host[:port]. workerd makes `request.url` by
 * pasting the Host header after `http://`, so a hostile Host reaches the Worker as written:
 * `a",error="x` survives the URL parser (a quote is no forbidden host code point) and was
 * reflected into WWW-Authenticate, and `a/v2/_catalog?` even moves the path the router sees.
 */

export interface PublicUrlSettings {
  /** Quay's SERVER_HOSTNAME (host[:port], already validated); empty: the request's host. */
  serverHostname: string;
  /** Quay's PREFERRED_URL_SCHEME; empty: the request's scheme. */
  preferredScheme: "" | "http" | "https";
}

export interface PublicOrigin {
  /** `scheme://host[:port]`, without a default port. */
  origin: string;
  /** `host[:port]` as in `origin`: the registry's name for clients and the token audience. */
  host: string;
}

/** A DNS label (RFC 1123 §2.1; the underscore tolerated, as resolvers and Docker do). */
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * `text` as an RFC 3986 §3.2.2 authority `host[:port]`, lower-cased, or null. The host is an
 * IPv4 address, a bracketed IPv6 address, or a registered name limited to DNS's letters, digits,
 * hyphens and dots (RFC 3986's reg-name also allows sub-delims such as `,` `=` `'` and
 * percent-encodings, which no name a client resolves holds and which were the injection). A name
 * whose last label is a number is taken for IPv4 by the WHATWG URL parser (`1.2.3` is 1.2.0.3),
 * so it must then be a plain dotted quad. Ports are 1 to 5 digits up to 65535.
 */
export function parseAuthority(text: string): string | null {
  const match = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d{1,5}))?$/.exec(text);
  if (!match) return null;
  const host = match[1]!.toLowerCase();
  const port = match[2];
  if (port !== undefined && Number(port) > 65535) return null;
  if (host.startsWith("[")) {
    if (!/^\[[0-9a-f:.]+\]$/.test(host)) return null;
    try {
      new URL(`http://${host}/`);
    } catch {
      return null;
    }
  } else {
    if (host.length === 0 || host.length > 253) return null;
    const labels = host.split(".");
    if (!labels.every((label) => LABEL.test(label))) return null;
    const last = labels[labels.length - 1]!;
    if ((/^\d+$/.test(last) || /^0x/.test(last)) && !IPV4.test(host)) return null;
  }
  return port === undefined ? host : `${host}:${port}`;
}

/**
 * The origin and host the registry names itself by for this request, or null when the request's
 * host is not a valid authority (RFC 9112 §3.2: such a request gets a 400). `hostHeader` is the
 * Host header when the request has one: it is checked too, since workerd may have split a
 * hostile one into a harmless-looking URL host and a path (`Host: a/b` gives `http://a/b/…`).
 */
export function publicOrigin(
  requestUrl: string,
  hostHeader: string | undefined,
  settings: PublicUrlSettings,
): PublicOrigin | null {
  const schemeEnd = requestUrl.indexOf("://");
  if (schemeEnd < 0) return null;
  const rest = requestUrl.slice(schemeEnd + 3);
  const authorityEnd = rest.search(/[/?#]/);
  const requestHost = parseAuthority(authorityEnd < 0 ? rest : rest.slice(0, authorityEnd));
  if (requestHost === null || (hostHeader !== undefined && parseAuthority(hostHeader) === null)) return null;
  const requestScheme = requestUrl.slice(0, schemeEnd).toLowerCase() === "https" ? "https" : "http";
  const url = new URL(`${settings.preferredScheme || requestScheme}://${settings.serverHostname || requestHost}/`);
  return { origin: url.origin, host: url.host };
}
