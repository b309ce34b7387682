/**
 * The client address that per-address limits count by. Cloudflare sets `CF-Connecting-IP` on every
 * request a Worker receives (replacing any a client sent). Locally, `npm start` serves the Worker
 * on its own socket with no such header: every client without one shares the key {@link LOCAL_CLIENT}
 * (all are on this machine), and a local client could name any address; that is harmless there.
 */
import { formatAddress, parseAddress } from "./outbound-addresses";

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
  const address = parseAddress(text);
  if (!address) return text.slice(0, 64);
  // formatAddress writes IPv4 and IPv4-mapped IPv6 as dotted IPv4.
  if (address.version === 4 || address.value >> 32n === 0xffffn) return formatAddress(address);
  const prefix = Array.from({ length: 4 }, (_, i) => ((address.value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  return `${prefix.join(":")}::/64`;
}

/** The most of a `User-Agent` that events and pull records keep (a header may be kilobytes long). */
export const USER_AGENT_CHARS = 256;

/**
 * The client's `User-Agent` as Quay's `push_repo` and `pull_repo` entries record it (`user-agent`),
 * cut to {@link USER_AGENT_CHARS}; null when the request sends none.
 */
export function userAgentOf(request: Request): string | null {
  const text = request.headers.get("User-Agent")?.trim();
  return text ? text.slice(0, USER_AGENT_CHARS) : null;
}

/**
 * The client's address as events record it (src/events/envelope.ts): `CF-Connecting-IP` in its
 * canonical form, the whole address (not the /64 that limits count by). Null when the request
 * carries none (`npm start`) or it is not an address.
 */
export function clientIpOf(request: Request): string | null {
  const text = request.headers.get("CF-Connecting-IP")?.trim();
  const address = text ? parseAddress(text) : null;
  // formatAddress writes IPv6 as a URL's hostname does, in brackets; an address record has none.
  return address ? formatAddress(address).replace(/^\[(.*)\]$/, "$1") : null;
}
