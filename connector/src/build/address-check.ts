/**
 * A build's source URL is chosen by a user of the edge, but fetched from inside the operator's
 * network: without a check, `archive_url: http://10.0.0.5/secret` would pull an internal page into
 * a build context and push it to the user's repository. Sources on loopback, private, link-local
 * or unique-local addresses are refused unless the operator allows them (--allow-private-sources).
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { JobFailure } from "../connector";

export async function checkSourceHost(hostname: string, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  const host = hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch (err) {
    throw new JobFailure(`the source's host ${host} could not be resolved: ${(err as Error).message}`, true);
  }
  const blocked = addresses.find(isPrivateAddress);
  if (blocked)
    throw new JobFailure(
      `the source's host ${host} is a private address (${blocked}); this connector does not fetch from its own network`,
      false,
    );
}

export function isPrivateAddress(address: string): boolean {
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  if (isIP(v4) === 4) {
    const [a = 0, b = 0] = v4.split(".").map(Number);
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      a >= 224
    );
  }
  const v6 = address.toLowerCase();
  return v6 === "::" || v6 === "::1" || /^f[cd]/.test(v6) || /^fe[89ab]/.test(v6) || v6.startsWith("ff");
}
