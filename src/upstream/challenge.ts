/**
 * What a registry's 401 asks for: the `WWW-Authenticate` challenges of RFC 7235 §4.1, read as
 * Docker's token authentication specification uses them (`Bearer realm="…",service="…",scope="…"`)
 * or as plain HTTP Basic (RFC 7617). A header may carry several challenges, and several headers
 * arrive joined by ", ", so the parser reads auth-params (token or quoted-string values) and starts
 * a new challenge at each bare scheme token.
 */

export type Challenge =
  | { scheme: "bearer"; realm: string; service?: string; scope?: string }
  | { scheme: "basic"; realm?: string };

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;

/** The challenge Wharf answers, Bearer before Basic; null when the header names neither usably. */
export function parseChallenge(header: string | null): Challenge | null {
  if (!header) return null;
  const challenges = parseChallenges(header);
  const bearer = challenges.find((c) => c.scheme === "bearer" && c.params.realm);
  if (bearer) {
    const { realm, service, scope } = bearer.params;
    return { scheme: "bearer", realm: realm!, service, scope };
  }
  const basic = challenges.find((c) => c.scheme === "basic");
  return basic ? { scheme: "basic", realm: basic.params.realm } : null;
}

interface RawChallenge {
  scheme: string;
  params: Record<string, string | undefined>;
}

/** Every challenge of the header, schemes lower-cased, parameter names lower-cased. */
export function parseChallenges(header: string): RawChallenge[] {
  const challenges: RawChallenge[] = [];
  let rest = header;
  let current: RawChallenge | null = null;
  const skip = (pattern: RegExp) => {
    rest = rest.replace(pattern, "");
  };
  while (rest.length > 0) {
    skip(/^[\s,]+/);
    const token = TOKEN.exec(rest)?.[0];
    if (!token) {
      // Not a token: a token68 or garbage; skip to the next comma.
      if (rest.length === 0) break;
      skip(/^[^,]*/);
      continue;
    }
    const afterToken = rest.slice(token.length);
    const param = /^\s*=\s*/.exec(afterToken);
    if (param && current) {
      rest = afterToken.slice(param[0].length);
      current.params[token.toLowerCase()] = readValue();
      continue;
    }
    // A scheme (maybe followed by a token68, which Wharf has no use for).
    current = { scheme: token.toLowerCase(), params: {} };
    challenges.push(current);
    rest = afterToken;
    skip(/^\s+[A-Za-z0-9._~+/-]+=*\s*(?=,|$)/);
  }
  return challenges;

  function readValue(): string {
    if (rest.startsWith('"')) {
      let value = "";
      let i = 1;
      for (; i < rest.length && rest[i] !== '"'; i++) {
        if (rest[i] === "\\" && i + 1 < rest.length) i++;
        value += rest[i];
      }
      rest = rest.slice(i + 1);
      return value;
    }
    const token = TOKEN.exec(rest)?.[0] ?? "";
    rest = rest.slice(token.length);
    return token;
  }
}
