/**
 * The client address that per-address limits count by. Cloudflare sets `CF-Connecting-IP` on every
 * request a Worker receives (replacing any a client sent). Locally, `npm start` serves the Worker
 * on its own socket with no such header: every client without one shares the key {@link LOCAL_CLIENT}
 * (all are on this machine), and a local client could name any address; that is harmless there.
 */

/** What stands for the address when the request carries none. */
export const LOCAL_CLIENT = "local";

/** The key of the request's client address. */
export function clientAddressOf(request: Request): string {
  return clientAddressKey(request.headers.get("CF-Connecting-IP"));
}

/**
 * `CF-Connecting-IP` as a key: IPv4 as written, IPv6 by its /64 (one subscriber usually holds a
 * whole /64, so counting single IPv6 addresses would give a guesser 2^64 fresh counters),
 * IPv4-mapped IPv6 as its IPv4. Anything else is kept as sent, cut to 64 characters.
 */
export function clientAddressKey(header: string | null | undefined): string {
  const text = header?.trim() ?? "";
  if (text === "") return LOCAL_CLIENT;
  if (isIpv4(text)) return text;
  const groups = ipv6Groups(text);
  if (!groups) return text.slice(0, 64);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join(".");
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(":")}::/64`;
}

function isIpv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** The eight 16-bit groups of an IPv6 address (RFC 4291 §2.2 text forms), or null. */
function ipv6Groups(text: string): number[] | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return null;
  let body = text;
  const tail: number[] = [];
  if (text.includes(".")) {
    // A trailing dotted IPv4 fills the last two groups (`::ffff:192.0.2.1`).
    const lastColon = text.lastIndexOf(":");
    const v4 = text.slice(lastColon + 1);
    if (lastColon < 0 || !isIpv4(v4)) return null;
    const [a, b, c, d] = v4.split(".").map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    const prefix = text.slice(0, lastColon + 1);
    body = prefix.endsWith("::") ? prefix : prefix.slice(0, -1);
  }
  const halves = body.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? Number.parseInt(g, 16) : NaN)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const given = head.length + rest.length + tail.length;
  if ([...head, ...rest].some(Number.isNaN)) return null;
  if (halves.length === 1 ? given !== 8 : given > 7) return null;
  return [...head, ...new Array<number>(8 - given).fill(0), ...rest, ...tail];
}
