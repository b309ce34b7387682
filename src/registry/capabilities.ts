/**
 * What this registry supports, as Quay's `GET /api/v1/registry/capabilities` tells clients
 * (endpoints/api/capabilities.py `RegistryCapabilities`): sparse manifests and the architectures
 * repository mirroring can filter on. Read from what Wharf does, never assumed.
 */
/**
 * Quay's `sparse_manifests` follows FEATURE_SPARSE_INDEX: an index may be pushed without some of
 * its children (those of SPARSE_INDEX_REQUIRED_ARCHS excepted). Wharf has no such setting: every
 * push of an index requires each child manifest in the repository (MANIFEST_BLOB_UNKNOWN,
 * `requireManifests` in ./manifests.ts), which is Quay's answer with the feature off.
 */
const SPARSE_INDEXES_ACCEPTED = false;

/**
 * Quay lists its mirroring architecture filter (`VALID_ARCHITECTURES` of data/model/repo_mirror.py:
 * amd64, arm64, ppc64le, s390x) whether or not mirroring is on. Wharf has no repository mirroring
 * yet, so no architecture can be filtered on: empty until mirroring exists (README says so).
 */
const MIRROR_ARCHITECTURES: readonly string[] = [];

/** Quay's `RegistryCapabilitiesResponse`, field for field. */
export function registryCapabilities() {
  const requiredArchitectures: string[] = [];
  return {
    sparse_manifests: {
      supported: SPARSE_INDEXES_ACCEPTED,
      required_architectures: SPARSE_INDEXES_ACCEPTED ? requiredArchitectures : [],
      optional_architectures_allowed: SPARSE_INDEXES_ACCEPTED && requiredArchitectures.length > 0,
    },
    mirror_architectures: [...MIRROR_ARCHITECTURES].sort(),
  };
}
