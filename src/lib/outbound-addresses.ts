/**
 * The rule of the outbound-request guard (ARCHITECTURE.md, "Outbound requests"): which hosts a
 * request made on a user's behalf (an OIDC issuer, later webhooks, proxy upstreams, mirrors) may
 * reach. Only http and https, and only public addresses and names: loopback, private, link-local
 * and other special-purpose addresses (IANA's IPv4 and IPv6 Special-Purpose Address Registries,
 * RFC 6890), IPv6 forms that carry such an IPv4 address, and names that never mean a public host
 * are refused unless ALLOW_PRIVATE_OUTBOUND allows them.
 *
 * Hosts are read as the WHATWG URL parser leaves them (`new URL(…).hostname`): IPv4 in dotted
 * decimal whatever the spelling (`0x7f.1`, `2130706433` and `0177.0.0.1` are all `127.0.0.1`),
 * IPv6 bracketed and compressed. Workers have no DNS API, so a name is judged by its spelling here;
 * `npm start` also judges what a name resolves to (scripts/outbound-service.ts, {@link
 * resolvedRefusal}). This module imports nothing, so Node runs it as it is.
 */

/** What ALLOW_PRIVATE_OUTBOUND allows beyond public hosts. */
export interface OutboundAllowance {
  /** `true`: every host (local development only). */
  readonly all: boolean;
  /** `host:port` entries, normalized as a URL's `hostname:port` (`[::1]:8443`, `127.0.0.1:80`). */
  readonly hostPorts: readonly string[];
  /** CIDRs (a bare address is a /32 or /128): addresses in them, on any port. */
  readonly ranges: readonly AddressRange[];
}

export const NO_PRIVATE_OUTBOUND: OutboundAllowance = Object.freeze({ all: false, hostPorts: [], ranges: [] });

export interface Address {
  version: 4 | 6;
  value: bigint;
}
interface AddressRange extends Address {
  bits: number;
}
interface SpecialRange extends AddressRange {
  reason: string;
  /** Where the IPv6 form carries an IPv4 address (its lowest bit's position): that address decides. */
  embedsIPv4At?: number;
}

const range = (cidr: string, reason: string, embedsIPv4At?: number): SpecialRange => ({
  ...parseCidr(cidr)!,
  reason,
  embedsIPv4At,
});

/** Most specific first: the first range that holds an address names it. */
const SPECIAL_RANGES: SpecialRange[] = [
  range("0.0.0.0/8", "unspecified (this network)"),
  range("10.0.0.0/8", "private (RFC 1918)"),
  range("100.64.0.0/10", "shared address space (CGNAT, RFC 6598)"),
  range("127.0.0.0/8", "loopback"),
  range("169.254.0.0/16", "link-local"),
  range("172.16.0.0/12", "private (RFC 1918)"),
  range("192.0.0.0/24", "reserved for protocol assignments"),
  range("192.0.2.0/24", "documentation"),
  range("192.88.99.0/24", "reserved (6to4 relay anycast)"),
  range("192.168.0.0/16", "private (RFC 1918)"),
  range("198.18.0.0/15", "benchmarking"),
  range("198.51.100.0/24", "documentation"),
  range("203.0.113.0/24", "documentation"),
  range("224.0.0.0/4", "multicast"),
  range("255.255.255.255/32", "broadcast"),
  range("240.0.0.0/4", "reserved"),
  range("::/128", "unspecified"),
  range("::1/128", "loopback"),
  range("::ffff:0:0/96", "IPv4-mapped", 0),
  range("::ffff:0:0:0/96", "IPv4-translated", 0),
  range("::/96", "IPv4-compatible", 0),
  range("64:ff9b::/96", "NAT64", 0),
  range("64:ff9b:1::/48", "local-use NAT64"),
  range("100::/64", "discard-only"),
  range("2001::/32", "Teredo tunnelling"),
  range("2001:db8::/32", "documentation"),
  range("2002::/16", "6to4", 80),
  range("fc00::/7", "unique local (private)"),
  range("fe80::/10", "link-local"),
  range("fec0::/10", "site-local (deprecated)"),
  range("ff00::/8", "multicast"),
];

/**
 * Names that never mean a public host: `localhost` and `*.localhost` (RFC 6761 §6.3), mDNS's
 * `.local` (RFC 6762), `.internal` (reserved for private use by ICANN, 2024; cloud metadata
 * services live there) and `.home.arpa` (RFC 8375).
 */
const LOCAL_NAME = /(^|\.)(localhost|local|internal|home\.arpa)$/;

/** Why `url` may not be fetched under `allowance`, or null when it may. */
export function urlRefusal(url: URL, allowance: OutboundAllowance): string | null {
  if (url.protocol !== "http:" && url.protocol !== "https:") return `the scheme ${url.protocol} is not http or https`;
  const reason = hostReason(url.hostname);
  if (reason === null || allowance.all) return null;
  const address = parseAddress(url.hostname);
  if (address && inRanges(address, allowance.ranges)) return null;
  if (
    allowance.hostPorts.includes(hostPort(url.hostname, url)) ||
    (address && allowance.hostPorts.includes(hostPort(formatAddress(address), url)))
  )
    return null;
  return `${url.hostname} is ${reason}`;
}

/**
 * Why `url`, whose host resolved to `address`, may not be fetched (null when it may): the address
 * must be public unless a CIDR holds it or a host:port entry names the URL's host or the address.
 */
export function resolvedRefusal(url: URL, address: string, allowance: OutboundAllowance): string | null {
  const parsed = parseAddress(address);
  if (!parsed) return `${url.hostname} resolves to ${address}, which is not an IP address`;
  const reason = addressReason(parsed);
  if (reason === null || allowance.all || inRanges(parsed, allowance.ranges)) return null;
  if (
    allowance.hostPorts.includes(hostPort(url.hostname, url)) ||
    allowance.hostPorts.includes(hostPort(formatAddress(parsed), url))
  )
    return null;
  return `${url.hostname} resolves to ${address}, which is ${reason}`;
}

/**
 * ALLOW_PRIVATE_OUTBOUND: empty (or `false`) allows nothing private; `true` allows everything;
 * otherwise entries separated by commas or spaces, each `host:port` (`127.0.0.1:8080`,
 * `[::1]:8443`, `idp.test:443`) or a CIDR (`10.0.0.0/8`, `fd00::/8`; a bare address is one host).
 * Throws, naming the entry, on anything else.
 */
export function parseOutboundAllowance(text: string): OutboundAllowance {
  const entries = text.split(/[\s,]+/).filter(Boolean);
  if (entries.length === 0 || (entries.length === 1 && entries[0] === "false")) return NO_PRIVATE_OUTBOUND;
  if (entries.length === 1 && entries[0] === "true") return { all: true, hostPorts: [], ranges: [] };
  const hostPorts: string[] = [];
  const ranges: AddressRange[] = [];
  for (const entry of entries) {
    const cidr = parseCidr(entry);
    const pair = cidr ? null : parseHostPort(entry);
    if (cidr) ranges.push(cidr);
    else if (pair) hostPorts.push(pair);
    else throw new Error(`ALLOW_PRIVATE_OUTBOUND: "${entry}" is neither host:port nor a CIDR (or a lone true/false)`);
  }
  return { all: false, hostPorts, ranges };
}

/** Why a URL's hostname is not public, or null. */
function hostReason(hostname: string): string | null {
  const address = parseAddress(hostname);
  if (address) return addressReason(address);
  const name = hostname.replace(/\.$/, "");
  if (LOCAL_NAME.test(name)) return "a local name";
  // A name without a dot is completed by the resolver's search list: an internal host, if any.
  if (!name.includes(".")) return "a single-label name";
  return null;
}

function addressReason(address: Address): string | null {
  const special = SPECIAL_RANGES.find((r) => inRange(address, r));
  if (!special) return null;
  if (special.embedsIPv4At === undefined) return special.reason;
  const embedded: Address = { version: 4, value: (address.value >> BigInt(special.embedsIPv4At)) & 0xffffffffn };
  const inner = addressReason(embedded);
  return inner && `${inner} (${special.reason} ${formatAddress(embedded)})`;
}

const inRange = (address: Address, r: AddressRange) => {
  const width = address.version === 4 ? 32 : 128;
  return address.version === r.version && address.value >> BigInt(width - r.bits) === r.value >> BigInt(width - r.bits);
};

/** Whether a CIDR holds `address`; an IPv4-mapped IPv6 address is also its IPv4 address. */
function inRanges(address: Address, ranges: readonly AddressRange[]): boolean {
  const mapped =
    address.version === 6 && address.value >> 32n === 0xffffn
      ? { version: 4 as const, value: address.value & 0xffffffffn }
      : null;
  return ranges.some((r) => inRange(address, r) || (mapped !== null && inRange(mapped, r)));
}

/** `host:port` with the URL's port, or its scheme's default one. */
const hostPort = (host: string, url: URL) => `${host}:${url.port || (url.protocol === "https:" ? "443" : "80")}`;

/** The address as a URL's hostname writes it (IPv4-mapped IPv6 as its IPv4 address). */
export function formatAddress(address: Address): string {
  if (address.version === 4 || address.value >> 32n === 0xffffn) {
    const v = Number(address.value & 0xffffffffn);
    return [24, 16, 8, 0].map((shift) => (v >>> shift) & 0xff).join(".");
  }
  const groups = Array.from({ length: 8 }, (_, i) => ((address.value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  return new URL(`http://[${groups.join(":")}]/`).hostname;
}

/** An entry `host:port`, normalized as a URL would write the host; null when it is not one. */
function parseHostPort(entry: string): string | null {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(entry);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) return null;
  if (!URL.canParse(`http://${match[1]}/`)) return null;
  const url = new URL(`http://${match[1]}:${match[2]}/`);
  const address = parseAddress(url.hostname);
  return `${address ? formatAddress(address) : url.hostname}:${Number(match[2])}`;
}

function parseCidr(text: string): AddressRange | null {
  const match = /^([0-9a-fA-F:.]+)(?:\/(\d{1,3}))?$/.exec(text);
  const address = match ? parseAddress(match[1]!) : null;
  if (!match || !address) return null;
  const width = address.version === 4 ? 32 : 128;
  const bits = match[2] === undefined ? width : Number(match[2]);
  return bits <= width ? { ...address, bits } : null;
}

/** A literal IPv4 (dotted decimal) or IPv6 address, bracketed or not; null for anything else. */
export function parseAddress(text: string): Address | null {
  if (/^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$/.test(text)) {
    const parts = text.split(".").map(Number);
    if (parts.some((p) => p > 255)) return null;
    return { version: 4, value: BigInt(parts.reduce((acc, p) => acc * 256 + p, 0)) };
  }
  const v6 = /^\[(.*)\]$/.exec(text)?.[1] ?? text;
  if (!/^[0-9a-fA-F:.]+$/.test(v6)) return null;
  const halves = v6.split("::");
  if (halves.length > 2) return null;
  const side = (part: string) => (part === "" ? [] : part.split(":"));
  const head = side(halves[0]!);
  const tail = halves.length === 2 ? side(halves[1]!) : [];
  // The last 32 bits may be written as an IPv4 address (RFC 4291 §2.2).
  const end = halves.length === 2 ? tail : head;
  if (end.length > 0 && end[end.length - 1]!.includes(".")) {
    const ipv4 = parseAddress(end.pop()!);
    if (ipv4?.version !== 4) return null;
    end.push((ipv4.value >> 16n).toString(16), (ipv4.value & 0xffffn).toString(16));
  }
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...Array<string>(missing).fill("0"), ...tail];
  if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  return { version: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}
