/**
 * Quay's `requestRepoBuild` checks (endpoints/api/build.py `RepositoryBuildList.post`), in its
 * order and with its messages, then {@link queueBuild}: a source (`file_id` or `archive_url`), the
 * Dockerfile's place (`get_dockerfile_context`), the tags (default `latest`), the pull robot
 * (it must exist, and the caller must administer its namespace: F-BUILD-PULL-ROBOT-GUARD), a
 * filedrop used before only by whoever may write where it was built. The archive URL is fetched
 * by the connector, never by the edge; it must still be http(s) and name no loopback, private or
 * link-local host (the outbound guard's rules), so a build cannot be aimed at the edge's
 * neighbours. The display name is Quay's: the file's checksum or the URL's SHA-224, 7 digits.
 */
import { and, eq, ne } from "drizzle-orm";
import type { Db } from "../db/client";
import { repositoryBuilds } from "../db/schema";
import { DomainError, invalid, notFound } from "../errors/domain";
import type { EventScope } from "../events/outbox";
import { organizationRole, roleForScopes } from "../identity/organizations";
import { grants, type Scope } from "../identity/scopes";
import { parseRobotName, robotByName } from "../identity/robots";
import { type OutboundAllowance, urlRefusal } from "../lib/outbound-addresses";
import { Sha256 } from "../lib/sha256";
import { TAG_PATTERN } from "../registry/reference";
import { uploadedFiledrop } from "./filedrop";
import { type BuildJobConfig, queueBuild } from "./queue";

export interface BuildRequestBody {
  file_id?: string;
  archive_url?: string;
  subdirectory?: string;
  dockerfile_path?: string;
  context?: string;
  pull_robot?: string;
  docker_tags?: string[];
}

export interface Requester {
  id: number;
  username: string;
  /** The scopes the request's credential holds (a session: all). */
  scopes: readonly Scope[];
  /** A superuser (Quay's `allow_if_superuser_with_full_access`). */
  superuser: boolean;
  /** Whether the requester may write the repository named (for a reused filedrop's check). */
  mayWrite: (repositoryId: number) => Promise<boolean>;
}

// SHA-224 (FIPS 180-4 §5.3.2): SHA-256's compression from other initial words, cut to 224 bits.
const SHA224_IV = [0xc1059ed8, 0x367cd507, 0x3070dd17, 0xf70e5939, 0xffc00b31, 0x68581511, 0x64f98fa7, 0xbefa4fa4];

export function sha224Hex(text: string): string {
  const hash = new Sha256({ h: SHA224_IV, tail: "", length: 0 });
  return hash.update(new TextEncoder().encode(text)).digestHex().slice(0, 56);
}

const unauthorized = () => new DomainError("denied", { message: "Unauthorized" });

/** Quay's `get_dockerfile_context`: the context and the Dockerfile's path. */
export function dockerfileContext(body: BuildRequestBody): { context: string; dockerfilePath: string } {
  let context = body.context ?? "/";
  if (body.dockerfile_path !== undefined) {
    if (body.context === undefined) context = dirname(body.dockerfile_path);
    return { context, dockerfilePath: body.dockerfile_path };
  }
  if (body.subdirectory !== undefined) {
    const subdir = body.subdirectory;
    return { context: subdir, dockerfilePath: `${subdir.endsWith("/") ? subdir : `${subdir}/`}Dockerfile` };
  }
  return { context, dockerfilePath: `${context.endsWith("/") ? context : `${context}/`}Dockerfile` };
}

const dirname = (path: string) => {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? (slash === 0 ? "/" : "") : path.slice(0, slash);
};

/** Why a path is refused: none climbs out of the source with `..` (the connector resolves them). */
function checkPath(name: string, path: string) {
  if (path.length > 1024 || path.split("/").includes("..") || path.includes("\u0000"))
    throw invalid(`Invalid ${name}: it must be a path inside the build's source`);
}

async function checkPullRobot(db: Db, requester: Requester, name: string) {
  const parsed = parseRobotName(name);
  if (!parsed) throw unauthorized();
  const robot = await robotByName(db, name);
  if (!robot) throw notFound();
  // Quay's AdministerOrganizationPermission: a token acts as its user's namespace or as an
  // organization's admin only with org:admin (the seeds: "OAuth app should have Administer
  // Organization scope"); a browser session holds every scope.
  const own = parsed.namespace === requester.username && grants(requester.scopes, "org:admin");
  const role = own ? null : roleForScopes(await organizationRole(db, requester.id, parsed.namespace), requester.scopes);
  const admin = own || role === "admin";
  if (!admin && !requester.superuser) throw unauthorized();
  return { id: robot.user.id, name };
}

/** Checks `body` as Quay does and queues the build. */
export async function requestBuild(
  db: Db,
  scope: EventScope,
  repository: { id: number; name: string },
  requester: Requester,
  body: BuildRequestBody,
  allowance: OutboundAllowance,
) {
  const fileId = body.file_id || null;
  const archiveUrl = body.archive_url || null;
  if (!fileId && !archiveUrl) throw invalid("file_id or archive_url required");
  if (archiveUrl) {
    let url: URL;
    try {
      url = new URL(archiveUrl);
    } catch {
      throw invalid("Invalid Archive URL: Must be a valid URI");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw invalid("Invalid Archive URL: Must be http or https");
    const refusal = urlRefusal(url, allowance);
    if (refusal) throw invalid(`Invalid Archive URL: ${refusal}`);
  }
  const { context, dockerfilePath } = dockerfileContext(body);
  checkPath("dockerfile_path", dockerfilePath);
  checkPath("context", context);
  const tags = body.docker_tags ?? ["latest"];
  if (tags.length === 0) throw invalid("docker_tags must name at least one tag");
  if (new Set(tags).size !== tags.length) throw invalid("docker_tags must not repeat a tag");
  for (const tag of tags) if (!TAG_PATTERN.test(tag)) throw invalid(`Invalid tag: ${tag}`);
  const pullRobot = body.pull_robot ? await checkPullRobot(db, requester, body.pull_robot) : null;

  let displayName: string;
  if (fileId) {
    // Quay: a file built before is reused only by whoever may write where it was built.
    const earlier = await db
      .select({ repositoryId: repositoryBuilds.repositoryId })
      .from(repositoryBuilds)
      .where(and(eq(repositoryBuilds.resourceKey, fileId), ne(repositoryBuilds.repositoryId, repository.id)))
      .get();
    if (earlier && !(await requester.mayWrite(earlier.repositoryId)) && !requester.superuser) throw unauthorized();
    const file = await uploadedFiledrop(db, fileId);
    // Wharf's own: a file no build used yet is its uploader's alone.
    if (!file || (!earlier && file.userId !== requester.id && !requester.superuser))
      throw invalid(`File ${fileId} could not be found or is invalid`);
    displayName = file.sha256!.slice(0, 7);
  } else {
    displayName = sha224Hex(archiveUrl!).slice(0, 7);
  }

  const config: BuildJobConfig = {
    docker_tags: tags,
    build_subdir: dirname(dockerfilePath),
    context,
    dockerfile_path: dockerfilePath,
    trigger_metadata: {},
    is_manual: true,
    manual_user: requester.username,
    archive_url: archiveUrl,
  };
  return queueBuild(db, scope, {
    repository,
    displayName,
    config,
    resourceKey: fileId,
    pullRobot,
    trigger: null,
    performerId: requester.id,
  });
}
