/**
 * What Wharf asks of another registry: the proxy cache (a pull miss, src/proxy/) and repository
 * mirroring (a sync, src/mirror/) read upstream manifests, blobs and tag lists through this one
 * interface. Its implementation speaks the Distribution API (OCI distribution-spec v1.1 "Pull"
 * and "Content discovery") with Docker's token authentication, and sends every request through
 * the outbound guard (src/lib/outbound.ts), so an upstream on a private address is refused unless
 * ALLOW_PRIVATE_OUTBOUND allows it.
 */
import type { Digest } from "../lib/digest";

/** Where the upstream is and how to reach it; credentials already unsealed. */
export interface UpstreamConfig {
  /**
   * The registry's host, with a port when not the default: `docker.io`, `quay.io`,
   * `127.0.0.1:5000`. `docker.io` means Docker Hub's API host and its `library/` convention.
   */
  host: string;
  /** Plain `http://` instead of `https://` (Quay's `insecure`; a Worker cannot skip TLS verification). */
  insecure: boolean;
  credentials?: { username: string; password: string };
}

/** Why the upstream gave no usable answer. `unauthorized`: credentials refused or needed. */
export type UpstreamFailure = "unreachable" | "unauthorized" | "refused" | "protocol" | "timeout" | "too-large";

/** An upstream failure; the message is for logs and operators, never a user's probe of the network. */
export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamFailure,
    message: string,
  ) {
    super(message);
    this.name = "UpstreamError";
  }
}

/** A manifest as the upstream describes it: the digest is the one it sent, checked against the bytes when read. */
export interface UpstreamManifest {
  digest: Digest;
  mediaType: string;
  size: number;
}

export interface UpstreamBlob {
  /** The whole blob's size (Content-Length, or the Content-Range total of a range). */
  size: number;
  /** The bytes as the upstream sends them; the caller verifies the digest while it reads. */
  body: ReadableStream<Uint8Array>;
}

export interface UpstreamRegistry {
  /**
   * `GET /v2/`: "valid" when the credentials given were accepted, "anonymous" when none were given
   * and the registry answers anonymously (a token included). Throws {@link UpstreamError}.
   */
  ping(): Promise<"valid" | "anonymous">;
  /**
   * `HEAD` of a manifest by tag or digest, with `accept` (or the image and index types Wharf
   * serves) as Accept; null when the upstream answers 404. Throws {@link UpstreamError}.
   */
  headManifest(repository: string, reference: string, accept?: string): Promise<UpstreamManifest | null>;
  /** The manifest and its bytes (checked against its digest); null on 404. */
  getManifest(
    repository: string,
    reference: string,
    accept?: string,
  ): Promise<(UpstreamManifest & { bytes: Uint8Array }) | null>;
  /**
   * A blob's bytes, following the upstream's redirect to its storage (each hop through the guard,
   * credentials only to the registry's own origin); null on 404.
   */
  getBlob(repository: string, digest: Digest): Promise<UpstreamBlob | null>;
  /** Every tag of a repository, following `Link` pagination to the end; null on 404. */
  listTags(repository: string): Promise<string[] | null>;
}
