/**
 * A mirror's `external_reference`: `<registry host[:port]>/<repository path>`, as skopeo reads a
 * `docker://` reference without its tag (Quay's examples: `quay.io/coreos/etcd`,
 * `registry.redhat.io/quay/quay-rhel8`). Quay checks it with `validate_external_registry_reference`
 * (util/security/ssrf.py) at write time; Wharf checks its shape here and leaves the address check
 * to the outbound guard at each request (src/lib/outbound.ts), where DNS answers are known.
 */
const HOST =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::[0-9]{1,5})?$|^\[[0-9a-f:.]+\](?::[0-9]{1,5})?$/i;
/** Distribution's repository name grammar (`path-component` joined by `/`). */
const PATH = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

export interface ExternalReference {
  host: string;
  repository: string;
}

/** The reference's registry and repository, or why it is refused. */
export function parseExternalReference(reference: string): ExternalReference | { problem: string } {
  const refused = { problem: `Invalid external registry reference: ${reference.slice(0, 256)}` };
  if (reference.length > 512) return refused;
  const slash = reference.indexOf("/");
  if (slash <= 0) return refused;
  const host = reference.slice(0, slash);
  const repository = reference.slice(slash + 1);
  const port = /:(\d+)$/.exec(host)?.[1];
  if (!HOST.test(host) || (port !== undefined && (Number(port) < 1 || Number(port) > 65535))) return refused;
  // A tag or digest belongs to the rule, not the reference (skopeo lists the repository's tags).
  if (!PATH.test(repository) || repository.length > 255) return refused;
  return { host: host.toLowerCase(), repository };
}
