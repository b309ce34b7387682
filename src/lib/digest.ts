/**
 * A content address: `sha256:<64 hex>`, the only digest algorithm Wharf stores. Below the domain,
 * so the storage key layout (src/storage/keys.ts) can name content by it; the grammar that checks
 * a digest a client sends is src/registry/reference.ts.
 */
export type Digest = `sha256:${string}`;

export function digestHex(digest: Digest): string {
  return digest.slice("sha256:".length);
}

export function sha256Digest(hex: string): Digest {
  return `sha256:${hex}`;
}
