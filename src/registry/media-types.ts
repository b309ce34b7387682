/** Media types from the OCI image-spec v1.1 and Docker's image manifest v2 schema 2. */
export const MediaType = {
  OciManifest: "application/vnd.oci.image.manifest.v1+json",
  OciIndex: "application/vnd.oci.image.index.v1+json",
  OciEmpty: "application/vnd.oci.empty.v1+json",
  OciConfig: "application/vnd.oci.image.config.v1+json",
  DockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  DockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  DockerConfig: "application/vnd.docker.container.image.v1+json",
  DockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
  DockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
} as const;

export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaType.OciManifest,
  MediaType.OciIndex,
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
];

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaType.OciIndex || mediaType === MediaType.DockerManifestList;
}

/**
 * Layers that image-spec calls non-distributable (and Docker "foreign") may live elsewhere;
 * distribution does not require them in the repository, and neither do we.
 */
export function isForeignLayer(mediaType: string): boolean {
  return (
    mediaType.startsWith("application/vnd.oci.image.layer.nondistributable.") ||
    mediaType === "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
  );
}

/** The OCI empty descriptor's content `{}` (image-spec "Guidance for an Empty Descriptor"). */
export const EMPTY_JSON_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
export const EMPTY_JSON_BYTES = new TextEncoder().encode("{}");

/** Strips parameters: the spec says Content-Type parameters on manifest PUT are ignored. */
export function bareMediaType(header: string | null | undefined): string {
  return (header ?? "").split(";")[0]!.trim().toLowerCase();
}

/**
 * Parses an Accept header into its media types (q=0 entries removed). An empty list means the
 * client expressed no preference.
 */
export function acceptedMediaTypes(accept: string | null | undefined): string[] {
  if (!accept) return [];
  return accept
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part && !/;\s*q=0(?:\.0*)?\s*(?:;|$)/.test(part))
    .map((part) => bareMediaType(part));
}
