/**
 * The D1 schema: every piece of registry metadata. Bytes live in R2 (see src/storage/keys.ts).
 * Column names come from `casing: "snake_case"`; migrations are generated from this file by
 * drizzle-kit and never edited after they land.
 */
import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const nowMs = sql`(cast(unixepoch('subsecond') * 1000 as integer))`;

/**
 * A repository `<namespace>/<rest>`; Quay's tenancy (issue #5) hangs users and organizations on
 * `namespace`. Created on first push.
 */
export const repositories = sqliteTable(
  "repositories",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    /** The full name as used in /v2 paths, e.g. `org/team/app`. */
    name: text().notNull(),
    /** The first path component: the Quay namespace (user or organization). */
    namespace: text().notNull(),
    visibility: text({ enum: ["private", "public"] })
      .notNull()
      .default("private"),
    /** Quay's repository description (markdown); null until set. */
    description: text(),
    /** Quay's `repo_kind`: container images, or an "application" repository (kept, not acted on). */
    kind: text({ enum: ["image", "application"] })
      .notNull()
      .default("image"),
    /**
     * Bytes this repository holds, as garbage collection last counted them (src/gc/storage.ts):
     * each distinct blob and manifest its remaining manifests need, once. Quotas read it.
     */
    storageBytes: integer().notNull().default(0),
    createdAt: integer().notNull().default(nowMs),
    /**
     * For a repository a push created and that has not held a manifest yet: when a push last
     * worked on it (ms; upload, chunk, mount, manifest), refreshed at most every few minutes
     * (src/registry/repositories.ts `keepFirstPush`). Null for repositories created through the API (kept empty,
     * as Quay keeps them), once a manifest is committed, and for those older than this column.
     * Garbage collection deletes a repository still empty long after it (src/gc/empty-repositories.ts).
     */
    firstPushActivityAt: integer(),
    /**
     * Quay's repository state: `NORMAL`, or `READ_ONLY` (every write refused: pushes, tag and
     * label changes, deletes by /v2), or `MIRROR` (issue #16). Changed under the repository's
     * Durable Object lock (src/registry/repository-state.ts), where every tag and manifest write
     * checks it. The default is SQL, not a bound value, so bulk inserts keep their parameter count.
     */
    state: text({ enum: ["NORMAL", "READ_ONLY", "MIRROR"] })
      .notNull()
      .default(sql`'NORMAL'`),
  },
  (t) => [
    uniqueIndex("repositories_name_unique").on(t.name),
    index("repositories_namespace_idx").on(t.namespace),
    index("repositories_first_push_activity_idx")
      .on(t.firstPushActivityAt)
      .where(sql`${t.firstPushActivityAt} is not null`),
  ],
);

/** Quay's stars: a user's bookmarked repositories (`POST|DELETE /api/v1/user/starred`). */
export const repositoryStars = sqliteTable(
  "repository_stars",
  {
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    repositoryId: integer()
      .notNull()
      .references(() => repositories.id, { onDelete: "cascade" }),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.repositoryId] }),
    index("repository_stars_repository_idx").on(t.repositoryId),
  ],
);

/**
 * Verified content, deduplicated across the registry. `storageKey` is the R2 object holding the
 * bytes: its content key when the digest was known before the bytes arrived, else the object the
 * chunked upload assembled (R2 cannot rename a multipart object); src/storage/keys.ts.
 */
export const blobs = sqliteTable(
  "blobs",
  {
    digest: text().primaryKey(),
    size: integer().notNull(),
    storageKey: text().notNull(),
    createdAt: integer().notNull().default(nowMs),
    /**
     * When a push last relied on this blob (a manifest naming it, a HEAD or mount before one):
     * garbage collection spares a blob used within its grace period (src/gc/blobs.ts says why).
     * 0 until first used; `createdAt` counts as a use.
     */
    lastUsedAt: integer().notNull().default(0),
  },
  // Garbage collection's R2 sweep asks whether any blob row still names an object.
  (t) => [index("blobs_storage_key_idx").on(t.storageKey)],
);

/** A blob is readable only through the repositories that link it (uploaded, mounted, referenced). */
export const repositoryBlobs = sqliteTable(
  "repository_blobs",
  {
    repositoryId: integer()
      .notNull()
      .references(() => repositories.id),
    digest: text()
      .notNull()
      .references(() => blobs.digest),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [primaryKey({ columns: [t.repositoryId, t.digest] }), index("repository_blobs_digest_idx").on(t.digest)],
);

/**
 * A manifest stored in a repository. Its bytes are in R2 under its content key (the spec
 * wants at least 4 MB; a D1 row holds 1 MB). `deletedAt` hides it from /v2 after a DELETE by
 * digest while tag history rows keep pointing at it (Quay's time machine, issue #6).
 */
export const manifests = sqliteTable(
  "manifests",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    repositoryId: integer()
      .notNull()
      .references(() => repositories.id),
    digest: text().notNull(),
    mediaType: text().notNull(),
    size: integer().notNull(),
    artifactType: text(),
    configMediaType: text(),
    configDigest: text(),
    subjectDigest: text(),
    /** The manifest's own annotations as JSON; the referrers API copies them (spec §referrers). */
    annotations: text(),
    createdAt: integer().notNull().default(nowMs),
    deletedAt: integer(),
  },
  (t) => [
    uniqueIndex("manifests_repository_digest_unique").on(t.repositoryId, t.digest),
    index("manifests_subject_idx").on(t.repositoryId, t.subjectDigest),
    // Garbage collection's R2 sweep asks whether any repository still holds a manifest's bytes.
    index("manifests_digest_idx").on(t.digest),
  ],
);

/** What a manifest points at: blobs (config, layers) or child manifests (index entries). */
export const manifestReferences = sqliteTable(
  "manifest_references",
  {
    manifestId: integer()
      .notNull()
      .references(() => manifests.id),
    digest: text().notNull(),
    kind: text({ enum: ["blob", "manifest"] }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.manifestId, t.digest, t.kind] }),
    index("manifest_references_digest_idx").on(t.digest),
  ],
);

/**
 * Quay's tag model: a row per lifetime. Moving a tag ends the alive row (`lifetimeEndMs = now`)
 * and starts another; a tag is alive while its end is null or in the future. Every write goes
 * through the repository's Durable Object, which keeps the lifetimes of one name disjoint.
 */
export const tags = sqliteTable(
  "tags",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    repositoryId: integer()
      .notNull()
      .references(() => repositories.id),
    name: text().notNull(),
    manifestId: integer()
      .notNull()
      .references(() => manifests.id),
    lifetimeStartMs: integer().notNull(),
    lifetimeEndMs: integer(),
    /** Quay: set on the row a restore from the time machine creates. */
    reversion: integer({ mode: "boolean" }).notNull().default(false),
    hidden: integer({ mode: "boolean" }).notNull().default(false),
    immutable: integer({ mode: "boolean" }).notNull().default(false),
  },
  (t) => [
    // At most one open-ended row per name; Quay relies on (repository, name, end) for the same.
    uniqueIndex("tags_one_open_row").on(t.repositoryId, t.name).where(sql`${t.lifetimeEndMs} IS NULL`),
    index("tags_repository_name_idx").on(t.repositoryId, t.name, t.lifetimeEndMs),
    index("tags_manifest_idx").on(t.manifestId),
    // Garbage collection finds the rows that ended before a namespace's time-machine window.
    index("tags_end_idx").on(t.lifetimeEndMs),
  ],
);

/**
 * Quay's labels on manifests: extracted from the image config's `Labels` on push (source
 * `manifest`) or added through `POST …/manifest/{ref}/labels` (source `api`). `id` is the UUID
 * Quay shows.
 */
export const manifestLabels = sqliteTable(
  "manifest_labels",
  {
    id: text().primaryKey(),
    manifestId: integer()
      .notNull()
      .references(() => manifests.id),
    key: text().notNull(),
    value: text().notNull(),
    sourceType: text({ enum: ["manifest", "api", "internal"] }).notNull(),
    mediaType: text({ enum: ["text/plain", "application/json"] })
      .notNull()
      .default("text/plain"),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [index("manifest_labels_manifest_idx").on(t.manifestId)],
);

/**
 * Quay's auto-prune policies: of a namespace (user or organization; `repositoryId` null) or of one
 * repository. `value` is JSON: a count for `number_of_tags`, a span like "7d" for `creation_date`.
 */
export const autoprunePolicies = sqliteTable(
  "autoprune_policies",
  {
    uuid: text().primaryKey(),
    namespaceId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    repositoryId: integer().references(() => repositories.id, { onDelete: "cascade" }),
    method: text({ enum: ["number_of_tags", "creation_date"] }).notNull(),
    value: text().notNull(),
    tagPattern: text(),
    tagPatternMatches: integer({ mode: "boolean" }).notNull().default(true),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [index("autoprune_policies_namespace_idx").on(t.namespaceId, t.repositoryId)],
);

/**
 * Quay's immutability policies (`data/model/immutability.py`): of a namespace (`repositoryId`
 * null) or of one repository. A tag pushed, created or moved whose name the pattern matches from
 * its start (or does not, with `tagPatternMatches` false) is made immutable; creating or changing
 * a policy marks the alive tags it covers (src/registry/tag-immutability.ts).
 */
export const immutabilityPolicies = sqliteTable(
  "immutability_policies",
  {
    uuid: text().primaryKey(),
    namespaceId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    repositoryId: integer().references(() => repositories.id, { onDelete: "cascade" }),
    tagPattern: text().notNull(),
    tagPatternMatches: integer({ mode: "boolean" }).notNull().default(true),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [
    index("immutability_policies_namespace_idx").on(t.namespaceId, t.repositoryId),
    index("immutability_policies_repository_idx").on(t.repositoryId),
  ],
);

/**
 * Pulls of a repository per UTC day, with the day's last pull (unix ms): what pull statistics,
 * pull_repo logs' counts and a proxy cache's least-recently-pulled order read. Pulls are counted
 * in the isolate and summed here by the EVENTS queue's consumer, never on the pull path
 * (src/registry/pull-counts.ts, src/queues/pull-statistics.ts). A repository's last pull is its
 * latest day's `lastPulledAt`.
 */
export const repositoryPullStats = sqliteTable(
  "repository_pull_stats",
  {
    repositoryId: integer()
      .notNull()
      .references(() => repositories.id, { onDelete: "cascade" }),
    /** The UTC day, `YYYY-MM-DD`. */
    day: text().notNull(),
    pulls: integer().notNull(),
    lastPulledAt: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.repositoryId, t.day] })],
);

/**
 * Pulls of each tag of a repository (Quay's TagPullStatistics): how many, the last (unix ms), and
 * the manifest the last pull was served. Summed by the same consumer, from the same records, as
 * {@link repositoryPullStats}; only pulls by tag count here.
 */
export const tagPullStats = sqliteTable(
  "tag_pull_stats",
  {
    repositoryId: integer()
      .notNull()
      .references(() => repositories.id, { onDelete: "cascade" }),
    tag: text().notNull(),
    pulls: integer().notNull(),
    lastPulledAt: integer().notNull(),
    lastDigest: text().notNull(),
  },
  (t) => [primaryKey({ columns: [t.repositoryId, t.tag] })],
);

/**
 * Pulls of each manifest of a repository (Quay's ManifestPullStatistics), by tag or by digest:
 * how many, and the last (unix ms). Summed by the same consumer as {@link repositoryPullStats}.
 */
export const manifestPullStats = sqliteTable(
  "manifest_pull_stats",
  {
    repositoryId: integer()
      .notNull()
      .references(() => repositories.id, { onDelete: "cascade" }),
    digest: text().notNull(),
    pulls: integer().notNull(),
    lastPulledAt: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.repositoryId, t.digest] })],
);

/** Where each garbage-collection pass left off (a cursor per pass), so each run stays bounded. */
export const gcState = sqliteTable("gc_state", {
  pass: text().primaryKey(),
  cursor: text().notNull(),
  updatedAt: integer().notNull().default(nowMs),
});

/**
 * Quay's accounts: people and organizations share one table and so one space of names (a user and
 * an organization cannot share a name; each names a namespace). Organizations have no password.
 */
export const users = sqliteTable(
  "users",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    username: text().notNull(),
    /** Lower-cased; unique among users (Quay refuses a second account with the same email). */
    email: text(),
    /** `robot` accounts are named `<namespace>+<shortname>` (see `robotAccounts`). */
    kind: text({ enum: ["user", "organization", "robot"] })
      .notNull()
      .default("user"),
    /** `pbkdf2-sha256$<iterations>$<salt>$<hash>` (src/identity/passwords.ts); null for organizations. */
    passwordHash: text(),
    enabled: integer({ mode: "boolean" }).notNull().default(true),
    verified: integer({ mode: "boolean" }).notNull().default(true),
    /** Quay's time machine window for the namespace's tags, in seconds (default two weeks). */
    tagExpirationS: integer().notNull().default(1_209_600),
    invoiceEmail: integer({ mode: "boolean" }).notNull().default(false),
    invoiceEmailAddress: text(),
    /**
     * Set when the namespace was deleted: it is hidden at once and its repositories, robots, teams
     * and applications are removed in the background (Quay deletes organizations asynchronously).
     */
    deletingSince: integer(),
    /** Bytes of the namespace's repositories, each blob counted once (src/gc/storage.ts). */
    storageBytes: integer().notNull().default(0),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [uniqueIndex("users_username_unique").on(t.username), uniqueIndex("users_email_unique").on(t.email)],
);

/**
 * Bearer tokens for /api/v1: OAuth access tokens (Quay's scopes, space-separated) and application
 * tokens. Only the SHA-256 of a token is stored: tokens are 40 random characters, so a fast hash
 * is enough, and a leaked table yields no usable token.
 */
export const accessTokens = sqliteTable(
  "access_tokens",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    tokenHash: text().notNull(),
    kind: text({ enum: ["oauth", "app"] }).notNull(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The OAuth application that minted it (organizations' applications), if any. */
    applicationId: integer(),
    scopes: text().notNull(),
    title: text(),
    createdAt: integer().notNull().default(nowMs),
    expiresAt: integer(),
    lastAccessedAt: integer(),
    /** Application tokens: the public id of `/api/v1/user/apptoken/{uuid}`. */
    uuid: text(),
    /**
     * Application tokens only: the token sealed with AES-GCM under WHARF_SECRET_KEY, because Quay
     * shows an application token's code again (`GET /api/v1/user/apptoken/{uuid}`). Lookups still
     * go by `tokenHash`.
     */
    sealedCode: text(),
  },
  (t) => [
    uniqueIndex("access_tokens_hash_unique").on(t.tokenHash),
    index("access_tokens_user_idx").on(t.userId),
    uniqueIndex("access_tokens_uuid_unique").on(t.uuid),
  ],
);

/**
 * Quay's teams of an organization, with the role they give their members in it: `admin`
 * (the automatic `owners` team: everything), `creator` (may create repositories), `member`.
 */
export const teams = sqliteTable(
  "teams",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    organizationId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text().notNull(),
    role: text({ enum: ["member", "creator", "admin"] }).notNull(),
    description: text().notNull().default(""),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [uniqueIndex("teams_org_name_unique").on(t.organizationId, t.name)],
);

export const teamMembers = sqliteTable(
  "team_members",
  {
    teamId: integer()
      .notNull()
      .references(() => teams.id, { onDelete: "cascade" }),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [primaryKey({ columns: [t.teamId, t.userId] }), index("team_members_user_idx").on(t.userId)],
);

/**
 * Browser sessions (Quay's signed-in UI). The cookie holds a random id; only its SHA-256 is
 * stored. `csrfToken` must come back as X-CSRF-Token on every state-changing call.
 */
export const sessions = sqliteTable(
  "sessions",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    idHash: text().notNull(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    csrfToken: text().notNull(),
    createdAt: integer().notNull().default(nowMs),
    expiresAt: integer().notNull(),
    /**
     * When the password was last proven in this session (sign-in, or `POST /api/v1/signin/verify`):
     * Quay's `login_time`, which its fresh-login check reads. Null on sessions older than the
     * column, which then count from `createdAt`.
     */
    authenticatedAt: integer(),
  },
  (t) => [uniqueIndex("sessions_id_hash_unique").on(t.idHash), index("sessions_user_idx").on(t.userId)],
);

/**
 * Quay's OAuth applications, owned by an organization. Tokens minted through one
 * (`POST /oauth/authorizeapp`) carry its id in `access_tokens.application_id` and are deleted with
 * it. The client secret is shown again to the organization's admins (Quay's `app_view`), so it is
 * sealed with AES-GCM under WHARF_SECRET_KEY rather than hashed.
 */
export const oauthApplications = sqliteTable(
  "oauth_applications",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    organizationId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    clientId: text().notNull(),
    sealedClientSecret: text().notNull(),
    name: text().notNull(),
    description: text().notNull().default(""),
    applicationUri: text().notNull().default(""),
    redirectUri: text().notNull().default(""),
    avatarEmail: text(),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [
    uniqueIndex("oauth_applications_client_id_unique").on(t.clientId),
    index("oauth_applications_org_idx").on(t.organizationId),
  ],
);

/**
 * Quay's assigned OAuth tokens (`OauthAssignedToken`, FEATURE_ASSIGN_OAUTH_TOKEN): an admin of an
 * application's organization asks a user to authorize it with these scopes and redirect URI; the
 * user sees the request (`GET /api/v1/user/assignedauthorization`) and approves it at
 * `POST /oauth/authorizeapp` (`assignment_uuid`), which mints the token and ends the assignment, or
 * deletes it. It goes with its application and with its user.
 */
export const oauthAssignedTokens = sqliteTable(
  "oauth_assigned_tokens",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    uuid: text().notNull(),
    applicationId: integer()
      .notNull()
      .references(() => oauthApplications.id, { onDelete: "cascade" }),
    assignedUserId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    redirectUri: text().notNull(),
    /** Quay's scope string, space-separated. */
    scopes: text().notNull(),
    responseType: text().notNull().default("token"),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [
    uniqueIndex("oauth_assigned_tokens_uuid_unique").on(t.uuid),
    index("oauth_assigned_tokens_user_idx").on(t.assignedUserId),
  ],
);

/**
 * Quay's OAuthAuthorizationCode: a one-time code `POST /oauth/authorizeapp` (or `GET
 * /oauth/authorize` for an application already authorized) gives an application for
 * `response_type=code`, which it exchanges with its client secret at `POST /oauth/access_token`.
 * Only the code's SHA-256 is kept. It is bound to the application, the user, the redirect URI it
 * was sent to and the scopes; it lives ten minutes (RFC 6749 §4.1.2). An exchanged code stays
 * (`usedAt`, `tokenUuid`) until it expires, so a second use is recognized and the token issued
 * from it revoked.
 */
export const oauthAuthorizationCodes = sqliteTable(
  "oauth_authorization_codes",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    codeHash: text().notNull(),
    applicationId: integer()
      .notNull()
      .references(() => oauthApplications.id, { onDelete: "cascade" }),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    redirectUri: text().notNull(),
    /** Quay's scope string, space-separated. */
    scopes: text().notNull(),
    createdAt: integer().notNull().default(nowMs),
    expiresAt: integer().notNull(),
    usedAt: integer(),
    /** The `access_tokens.uuid` of the token the exchange issued. */
    tokenUuid: text(),
  },
  (t) => [
    uniqueIndex("oauth_authorization_codes_hash_unique").on(t.codeHash),
    index("oauth_authorization_codes_expiry_idx").on(t.expiresAt),
  ],
);

/**
 * Robot accounts (Quay: users with `robot = true`). The account itself is a `users` row of kind
 * `robot` named `<namespace>+<shortname>`, so teams and repository permissions (#5) treat robots
 * like people; this row holds what only robots have. The token is looked up by its SHA-256 and
 * kept sealed (AES-GCM) because Quay shows it again to the namespace's admins.
 */
export const robotAccounts = sqliteTable(
  "robot_accounts",
  {
    userId: integer()
      .primaryKey()
      .references(() => users.id, { onDelete: "cascade" }),
    namespaceId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    shortname: text().notNull(),
    description: text().notNull().default(""),
    /** JSON object, as given at creation (Quay's `unstructured_metadata`). */
    unstructuredMetadata: text(),
    tokenHash: text().notNull(),
    sealedToken: text().notNull(),
    lastAccessedAt: integer(),
  },
  (t) => [
    uniqueIndex("robot_accounts_namespace_shortname_unique").on(t.namespaceId, t.shortname),
    uniqueIndex("robot_accounts_token_hash_unique").on(t.tokenHash),
  ],
);

/**
 * Keyless robots (Quay's robot federation): an OIDC token whose `iss` and `sub` match an entry may
 * be exchanged for a one-hour robot token (`GET /oauth2/federation/robot/token`).
 */
export const robotFederations = sqliteTable(
  "robot_federations",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    robotId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    issuer: text().notNull(),
    subject: text().notNull(),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [uniqueIndex("robot_federations_entry_unique").on(t.robotId, t.issuer, t.subject)],
);

/**
 * Quay's `federatedlogin`: an account linked to an external OpenID Connect provider's subject
 * (src/identity/external-logins.ts). A subject of a service belongs to one account; an account has
 * at most one link per service, as Quay's (user, service) index.
 */
export const federatedLogins = sqliteTable(
  "federated_logins",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The provider's id in OIDC_PROVIDERS (Quay's `service`). */
    serviceId: text().notNull(),
    /** The ID token's `sub` (Quay's `service_ident`). */
    subject: text().notNull(),
    /** The provider's username for the subject when linked (Quay's metadata `service_username`). */
    serviceUsername: text(),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [
    uniqueIndex("federated_logins_subject_unique").on(t.serviceId, t.subject),
    uniqueIndex("federated_logins_user_service_unique").on(t.userId, t.serviceId),
  ],
);

/**
 * Management-API tokens of robots (Quay's `apitoken`, `/api/v1/…/robots/{short}/tokens`): bearer
 * credentials for /api/v1 that act as the robot within `scopes`, until `expiresAt` or their
 * deletion. Only the token's SHA-256 is kept: Quay shows it once, at creation. A token goes with its
 * robot's `users` row; its creator may go first (`created_by` becomes null, as in Quay).
 */
export const robotApiTokens = sqliteTable(
  "robot_api_tokens",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    uuid: text().notNull(),
    robotId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    creatorId: integer().references(() => users.id, { onDelete: "set null" }),
    name: text().notNull(),
    /** Quay's scope string, normalized: space-separated, each scope once, in the order given. */
    scopes: text().notNull(),
    tokenHash: text().notNull(),
    createdAt: integer().notNull(),
    expiresAt: integer().notNull(),
    lastAccessedAt: integer(),
  },
  (t) => [
    uniqueIndex("robot_api_tokens_uuid_unique").on(t.uuid),
    uniqueIndex("robot_api_tokens_hash_unique").on(t.tokenHash),
    index("robot_api_tokens_robot_idx").on(t.robotId, t.expiresAt),
  ],
);

/**
 * Quay's explicit repository permissions: a role (read, write, admin) on one repository for a user
 * or robot, or (with #5's team API) a team. Namespace owners and organization admins need none.
 */
export const repositoryPermissions = sqliteTable(
  "repository_permissions",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    repositoryId: integer()
      .notNull()
      .references(() => repositories.id, { onDelete: "cascade" }),
    userId: integer().references(() => users.id, { onDelete: "cascade" }),
    teamId: integer().references(() => teams.id, { onDelete: "cascade" }),
    role: text({ enum: ["read", "write", "admin"] }).notNull(),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [
    uniqueIndex("repository_permissions_user_unique").on(t.repositoryId, t.userId),
    uniqueIndex("repository_permissions_team_unique").on(t.repositoryId, t.teamId),
    index("repository_permissions_user_idx").on(t.userId),
    index("repository_permissions_team_idx").on(t.teamId),
  ],
);

/**
 * Pending team invitations (Quay's `TeamMemberInvite`): by email, or for an existing user, until
 * accepted or declined at `/api/v1/teaminvite/{code}`. Only the code's SHA-256 is stored.
 */
export const teamInvites = sqliteTable(
  "team_invites",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    teamId: integer()
      .notNull()
      .references(() => teams.id, { onDelete: "cascade" }),
    /** The invited account, when the invitation names one; else `email` names the invitee. */
    userId: integer().references(() => users.id, { onDelete: "cascade" }),
    email: text(),
    inviterId: integer().references(() => users.id, { onDelete: "set null" }),
    codeHash: text().notNull(),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [
    uniqueIndex("team_invites_code_unique").on(t.codeHash),
    uniqueIndex("team_invites_team_user_unique").on(t.teamId, t.userId),
    uniqueIndex("team_invites_team_email_unique").on(t.teamId, t.email),
  ],
);

/**
 * Codes mailed to an account (Quay's `EmailConfirmation`, src/identity/email-codes.ts): `confirm`
 * verifies the address (a new account's, or `newEmail`, an address the user asked to change to),
 * `recovery` signs the user in to choose a new password. Only the code's SHA-256 is stored; each is
 * used once (deleted as it is used) and expires at `expiresAt` (ms, the clock's).
 */
export const emailCodes = sqliteTable(
  "email_codes",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    purpose: text({ enum: ["confirm", "recovery"] }).notNull(),
    codeHash: text().notNull(),
    /** For `confirm`: the address the account changes to once confirmed; null confirms its own. */
    newEmail: text(),
    expiresAt: integer().notNull(),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [uniqueIndex("email_codes_code_unique").on(t.codeHash), index("email_codes_user").on(t.userId, t.purpose)],
);

/**
 * Quay's default permissions ("prototypes") of an organization: when a repository is created there
 * (by anyone, or by `activatingUserId` only), `delegate` (a user, robot or team) gets `role` on it.
 */
export const permissionPrototypes = sqliteTable(
  "permission_prototypes",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    uuid: text().notNull(),
    organizationId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    activatingUserId: integer().references(() => users.id, { onDelete: "cascade" }),
    delegateUserId: integer().references(() => users.id, { onDelete: "cascade" }),
    delegateTeamId: integer().references(() => teams.id, { onDelete: "cascade" }),
    role: text({ enum: ["read", "write", "admin"] }).notNull(),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [
    uniqueIndex("permission_prototypes_uuid_unique").on(t.uuid),
    index("permission_prototypes_org_idx").on(t.organizationId),
  ],
);

/**
 * The events outbox (src/events/outbox.ts): every event is inserted here by a statement in the same
 * D1 batch as the change it reports, so the two commit together or not at all. Published rows are
 * deleted once the EVENTS queue took them; the cron's drain sends whatever a failed publish left.
 */
export const eventOutbox = sqliteTable(
  "event_outbox",
  {
    /** The event's id (a UUID), also inside `body`: consumers deduplicate by it. */
    id: text().primaryKey(),
    /** When the change committed (ms), the event's `at`: the drain sends the oldest first. */
    createdAt: integer().notNull(),
    /** The event envelope as JSON (src/events/envelope.ts). */
    body: text().notNull(),
  },
  (t) => [index("event_outbox_created_idx").on(t.createdAt)],
);

/**
 * Ids of the events the EVENTS consumer has handed to its subscribers (src/events/deliveries.ts):
 * a second delivery of the same id (a drain re-sending what a publish already sent, a queue
 * redelivery) is skipped. Kept for DELIVERED_RETENTION_MS, then swept by the cron.
 */
export const deliveredEvents = sqliteTable(
  "delivered_events",
  {
    id: text().primaryKey(),
    deliveredAt: integer().notNull(),
  },
  (t) => [index("delivered_events_delivered_idx").on(t.deliveredAt)],
);

/**
 * Quay's global messages (`endpoints/api/globalmessages.py`): notices a superuser posts for every
 * user of the registry (the UI's banner), read by anyone through `GET /api/v1/messages`.
 */
export const globalMessages = sqliteTable(
  "global_messages",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    /** The public id of `DELETE /api/v1/message/{uuid}`. */
    uuid: text().notNull(),
    content: text().notNull(),
    /** Quay's two: `text/plain` or `text/markdown`. */
    mediaType: text({ enum: ["text/plain", "text/markdown"] }).notNull(),
    severity: text({ enum: ["info", "warning", "error"] }).notNull(),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [uniqueIndex("global_messages_uuid_unique").on(t.uuid)],
);

/**
 * The registry's size as last calculated (Quay's `getRegistrySize`, `data/model/quota.py`): one row
 * (id 1). `POST /api/v1/superuser/registrysize/` queues a calculation (src/registry/registry-size.ts)
 * that the EVENTS consumer runs in bounded steps over the blobs' recorded sizes.
 */
export const registrySize = sqliteTable("registry_size", {
  id: integer().primaryKey(),
  /** Bytes of every distinct blob, as the last finished calculation summed them. */
  sizeBytes: integer().notNull().default(0),
  /** When the last calculation finished (ms), null before the first. */
  completedAt: integer(),
  /** A calculation was asked for and has not started yet. */
  queued: integer({ mode: "boolean" }).notNull().default(false),
  /** A calculation is under way. */
  running: integer({ mode: "boolean" }).notNull().default(false),
  /** When `queued` or `running` last changed (ms): a request stuck longer than a bound may be queued again. */
  updatedAt: integer().notNull().default(nowMs),
});

/**
 * Quay's repository notifications (`RepositoryNotification`, src/notifications/): on `event` in
 * the repository, tell someone by `method`. The method's config can hold secrets (a Slack URL, a
 * webhook URL with a token in it), so it is sealed at rest (src/identity/secrets.ts); Quay shows
 * it back to the repository's admins, so it is reversible. `numberOfFailures` counts failed
 * deliveries since the last success or reset; at NOTIFICATION_MAX_FAILURES the notification is
 * disabled, as Quay's is, until `POST …/notification/{uuid}` resets it.
 */
export const repositoryNotifications = sqliteTable(
  "repository_notifications",
  {
    uuid: text().primaryKey(),
    repositoryId: integer()
      .notNull()
      .references(() => repositories.id, { onDelete: "cascade" }),
    event: text().notNull(),
    method: text().notNull(),
    title: text(),
    /** The method's config as JSON, sealed (encryptSecret). */
    sealedConfig: text().notNull(),
    /** The event's config as JSON (`days`, `level`, `ref-regex`): filters, no secrets. */
    eventConfig: text().notNull().default("{}"),
    numberOfFailures: integer().notNull().default(0),
    /**
     * The registry's origin (`scheme://host`) when the notification was created: payloads name the
     * repository by it (`docker_url`, `homepage`) when SERVER_HOSTNAME is not set, since delivery
     * runs on the queue, with no request to take a host from.
     */
    origin: text().notNull(),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [index("repository_notifications_repository_idx").on(t.repositoryId, t.event)],
);

/**
 * Tags a `repo_image_expiry` notification has announced (src/notifications/expiry.ts): each tag
 * lifetime is announced once per notification, however many cron ticks see it expiring. A lifetime
 * is named by its tag's name and start, not by the tag row's id: that id is only unique within the
 * database holding the namespace's core, and a move of the core renumbers it
 * (docs/sharding-the-registry-core.md §3); name and start survive both.
 */
export const notificationExpiryNotices = sqliteTable(
  "notification_expiry_notices",
  {
    notificationUuid: text()
      .notNull()
      .references(() => repositoryNotifications.uuid, { onDelete: "cascade" }),
    tagName: text().notNull(),
    lifetimeStartMs: integer().notNull(),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [primaryKey({ columns: [t.notificationUuid, t.tagName, t.lifetimeStartMs] })],
);

/**
 * Quay's `RepositoryAuthorizedEmail` (`endpoints/api/repoemail.py`): an address a repository's
 * admin asked to mail notifications to, confirmed by its holder following the mailed link
 * (`/authrepoemail?code=…`). The `email` method accepts only confirmed addresses. `code` is kept
 * as its SHA-256: only the mail holds the code itself.
 */
export const repositoryAuthorizedEmails = sqliteTable(
  "repository_authorized_emails",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    repositoryId: integer()
      .notNull()
      .references(() => repositories.id, { onDelete: "cascade" }),
    email: text().notNull(),
    codeHash: text().notNull(),
    confirmed: integer({ mode: "boolean" }).notNull().default(false),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [
    uniqueIndex("repository_authorized_emails_unique").on(t.repositoryId, t.email),
    uniqueIndex("repository_authorized_emails_code").on(t.codeHash),
  ],
);

/**
 * Quay's in-app notifications (`Notification`, the bell): what a `quay_notification` method
 * leaves for a user (`GET /api/v1/user/notifications`), dismissed by its user.
 */
export const userNotifications = sqliteTable(
  "user_notifications",
  {
    uuid: text().primaryKey(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The event's name (`repo_push`…), Quay's notification kind. */
    kind: text().notNull(),
    /**
     * The organization when the notification was for one: each of its admins gets a row of their
     * own (Quay keeps one row for the organization), shown with Quay's `organization` field.
     */
    organization: text(),
    /** The event's payload as JSON. */
    metadata: text().notNull(),
    dismissed: integer({ mode: "boolean" }).notNull().default(false),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [index("user_notifications_user_idx").on(t.userId, t.createdAt)],
);

/**
 * Quay's namespace notifications (`NamespaceNotification`, `endpoints/api/namespacenotification.py`):
 * on a quota event of the namespace (`quota_warning`, `quota_error`), tell someone by `method`.
 * The same columns as repository notifications, for the same reasons (src/notifications/
 * namespace-notifications.ts): the method's config sealed at rest, failures counted, disabled at
 * NOTIFICATION_MAX_FAILURES until reset, the origin payloads name the registry by.
 */
export const namespaceNotifications = sqliteTable(
  "namespace_notifications",
  {
    uuid: text().primaryKey(),
    namespaceId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    event: text().notNull(),
    method: text().notNull(),
    title: text(),
    /** The method's config as JSON, sealed (encryptSecret). */
    sealedConfig: text().notNull(),
    /** The event's config as JSON: Quay keeps it and reads nothing of it for quota events. */
    eventConfig: text().notNull().default("{}"),
    numberOfFailures: integer().notNull().default(0),
    /** The registry's origin when the notification was created (see repositoryNotifications.origin). */
    origin: text().notNull(),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [index("namespace_notifications_namespace_idx").on(t.namespaceId, t.event)],
);

export type Repository = typeof repositories.$inferSelect;
export type Manifest = typeof manifests.$inferSelect;
export type Tag = typeof tags.$inferSelect;
export type ManifestLabel = typeof manifestLabels.$inferSelect;
export type ImmutabilityPolicy = typeof immutabilityPolicies.$inferSelect;
export type AutoprunePolicy = typeof autoprunePolicies.$inferSelect;
export type NamespaceNotification = typeof namespaceNotifications.$inferSelect;
export type User = typeof users.$inferSelect;
export type AccessToken = typeof accessTokens.$inferSelect;
export type Session = typeof sessions.$inferSelect;
export type Team = typeof teams.$inferSelect;
export type OAuthApplication = typeof oauthApplications.$inferSelect;
export type OAuthAssignedToken = typeof oauthAssignedTokens.$inferSelect;
export type RobotAccount = typeof robotAccounts.$inferSelect;
export type RobotApiToken = typeof robotApiTokens.$inferSelect;
export type TeamInvite = typeof teamInvites.$inferSelect;
export type EmailCode = typeof emailCodes.$inferSelect;
export type PermissionPrototype = typeof permissionPrototypes.$inferSelect;
export type RepositoryRole = (typeof repositoryPermissions.$inferSelect)["role"];
export type GlobalMessage = typeof globalMessages.$inferSelect;
export type RepositoryNotification = typeof repositoryNotifications.$inferSelect;
export type UserNotification = typeof userNotifications.$inferSelect;
export type RepositoryAuthorizedEmail = typeof repositoryAuthorizedEmails.$inferSelect;

/**
 * Quay's action logs (its LogEntry3): one row per logged action, written by the action-log
 * subscriber from the registry events (src/events/logs-writer.ts) and by the pull statistics
 * consumer from pulls, never on a request's path. Names are copied at write time (performer,
 * namespace, repository) so an entry still reads right after its account or repository is gone;
 * ids are what queries filter by, since a name can be reused. No foreign keys: entries outlive
 * what they name, until ACTION_LOG_RETENTION removes them.
 */
export const actionLogs = sqliteTable(
  "action_logs",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    /** The registry event's id; null for pulls, which are not events. A repeat writes nothing. */
    eventId: text(),
    /** Quay's log kind (`push_repo`, `create_tag`, …). */
    kind: text().notNull(),
    /** The account that acted (a token's user; null for Wharf itself and anonymous callers). */
    performerId: integer(),
    performerName: text(),
    performerKind: text({ enum: ["user", "robot"] }),
    /** The client address, when a request caused the action. */
    ip: text(),
    namespaceId: integer(),
    namespaceName: text(),
    repositoryId: integer(),
    repositoryName: text(),
    /** Quay's metadata for the kind, as JSON (src/events/logs-metadata.ts). */
    metadata: text().notNull(),
    /** When the action committed, unix ms. */
    datetime: integer().notNull(),
  },
  (t) => [
    uniqueIndex("action_logs_event_unique").on(t.eventId),
    index("action_logs_namespace_idx").on(t.namespaceId, t.datetime),
    index("action_logs_repository_idx").on(t.repositoryId, t.datetime),
    index("action_logs_performer_idx").on(t.performerId, t.datetime),
    index("action_logs_datetime_idx").on(t.datetime),
  ],
);

export type ActionLog = typeof actionLogs.$inferSelect;

/**
 * Quay's log exports (`exportlogs`, src/events/logs-export.ts): one row per export, built in the
 * background into R2 in bounded steps (`cursor`, `parts`), then delivered. At most one `running`
 * export per namespace (the partial unique index): a second is refused while one runs.
 */
export const logExports = sqliteTable(
  "log_exports",
  {
    /** Quay's `export_id`, a UUID. */
    id: text().primaryKey(),
    namespaceId: integer().notNull(),
    namespaceName: text().notNull(),
    repositoryId: integer(),
    repositoryName: text(),
    /** The window, unix ms: from `startMs` (inclusive) to `endMs` (exclusive). */
    startMs: integer().notNull(),
    endMs: integer().notNull(),
    callbackUrl: text(),
    callbackEmail: text(),
    /** The registry's public origin when asked: the link's. */
    origin: text().notNull(),
    state: text({ enum: ["running", "done", "failed"] }).notNull(),
    /** Where the next step reads from (a listing position, JSON); null before the first. */
    cursor: text(),
    /** How many part files are written (`exportedlogs/<id>/<n>.json`). */
    parts: integer().notNull().default(0),
    createdAt: integer().notNull(),
    finishedAt: integer(),
  },
  (t) => [
    uniqueIndex("log_exports_one_running").on(t.namespaceId).where(sql`state = 'running'`),
    index("log_exports_created_idx").on(t.createdAt),
  ],
);

export type LogExport = typeof logExports.$inferSelect;

/**
 * Quay's RepositoryActionCount: the action-log entries of a repository per UTC day, pulls aside
 * (those are `repository_pull_stats`, summed by the same consumer). Counted as entries are written
 * (src/events/logs-writer.ts) and kept with the repository, beyond the entries' retention: the
 * repository view's `stats` (three months) and the listings' `popularity` (a week) add the two.
 */
export const repositoryActionCounts = sqliteTable(
  "repository_action_counts",
  {
    repositoryId: integer()
      .notNull()
      .references(() => repositories.id, { onDelete: "cascade" }),
    /** The UTC day, `YYYY-MM-DD`. */
    day: text().notNull(),
    count: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.repositoryId, t.day] })],
);

/**
 * Quay's UserOrganizationQuota: a namespace's storage quota, at most one per namespace (Quay refuses
 * a second). `limitBytes` is what the API shows as `limit_bytes`; the human-readable `limit` is
 * derived from it. Created and changed by superusers (Quay's `namespacequota.py`); read by the
 * namespace's administrators (organizations) or the user itself.
 */
export const namespaceQuotas = sqliteTable(
  "namespace_quotas",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    namespaceId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    limitBytes: integer().notNull(),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [uniqueIndex("namespace_quotas_namespace_unique").on(t.namespaceId)],
);

/**
 * Quay's QuotaLimits: a threshold of a quota, in percent of its `limitBytes`. `Reject` refuses
 * pushes past it (one per quota); `Warning` notifies when usage crosses it.
 */
export const quotaLimits = sqliteTable(
  "quota_limits",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    quotaId: integer()
      .notNull()
      .references(() => namespaceQuotas.id, { onDelete: "cascade" }),
    type: text({ enum: ["Warning", "Reject"] }).notNull(),
    thresholdPercent: integer().notNull(),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [
    index("quota_limits_quota_idx").on(t.quotaId),
    uniqueIndex("quota_limits_one_reject").on(t.quotaId).where(sql`type = 'Reject'`),
  ],
);

export type NamespaceQuota = typeof namespaceQuotas.$inferSelect;
export type QuotaLimit = typeof quotaLimits.$inferSelect;

/**
 * A table no row can enter: its CHECK is always false. A manifest push whose bytes would take its
 * namespace past the Reject limit inserts a row here in the push's own D1 batch, and the failed
 * CHECK (`quota_exceeded`) aborts the whole batch, which D1 runs as one transaction: the refusal
 * and the usage it reads are one atomic step with the commit (src/quota/enforcement.ts).
 */
export const quotaRefusals = sqliteTable(
  "quota_refusals",
  {
    namespaceId: integer().notNull(),
  },
  () => [check("quota_exceeded", sql`0`)],
);

/**
 * Quay's RepoMirrorConfig with its root RepoMirrorRule folded in (Quay keeps exactly one rule per
 * mirror): the repository `repositoryId` pulls the tags of `externalReference` that match
 * `ruleValue` (a JSON array of fnmatch globs, Quay's `tag_glob_csv`) every `syncInterval` seconds
 * from `syncStartDate` (src/mirror/). The upstream username and password are sealed
 * (src/identity/secrets.ts); Quay encrypts both and never shows the password. `syncTransactionId`
 * is Quay's claim token: a sync and every status change update the row only where it still holds
 * the id they read, so two workers never run one repository's sync at once.
 */
export const repoMirrorConfigs = sqliteTable(
  "repo_mirror_configs",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    repositoryId: integer()
      .notNull()
      .references(() => repositories.id, { onDelete: "cascade" }),
    /** The robot that pushes the mirrored tags (Quay's `internal_robot`); null once it is deleted. */
    robotUserId: integer().references(() => users.id, { onDelete: "set null" }),
    isEnabled: integer({ mode: "boolean" }).notNull().default(true),
    externalReference: text().notNull(),
    sealedUsername: text(),
    sealedPassword: text(),
    /** JSON: `verify_tls`, `unsigned_images`, `proxy` as the API was given them. */
    externalRegistryConfig: text().notNull().default("{}"),
    /** JSON array of tag globs. */
    ruleValue: text().notNull(),
    /** Seconds. */
    syncInterval: integer().notNull(),
    /** Unix ms; null after a cancel until a sync-now (Quay). */
    syncStartDate: integer(),
    /** Unix ms: when a claimed sync is considered lost. */
    syncExpirationDate: integer(),
    syncRetriesRemaining: integer().notNull().default(3),
    syncStatus: text({ enum: ["CANCEL", "FAIL", "NEVER_RUN", "SUCCESS", "SYNCING", "SYNC_NOW"] })
      .notNull()
      .default("NEVER_RUN"),
    syncTransactionId: text().notNull(),
    /** Quay's `skopeo_timeout` in seconds: the longest one tag's copy may take. */
    skopeoTimeout: integer().notNull().default(300),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [
    uniqueIndex("repo_mirror_configs_repository_unique").on(t.repositoryId),
    index("repo_mirror_configs_due_idx").on(t.syncStartDate),
    index("repo_mirror_configs_robot_idx").on(t.robotUserId),
  ],
);

export type RepoMirrorConfig = typeof repoMirrorConfigs.$inferSelect;

/**
 * Quay's ProxyCacheConfig: an organization that is a pull-through cache of an upstream registry
 * (`upstreamRegistry` is `host` or `host/namespace`), at most one per organization. The upstream
 * credentials are sealed (src/identity/secrets.ts) and never returned; Quay cannot change them
 * either (delete and create again). A deleted organization takes its configuration with it.
 */
export const proxyCacheConfigs = sqliteTable(
  "proxy_cache_configs",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    namespaceId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    upstreamRegistry: text().notNull(),
    upstreamUsernameSealed: text(),
    upstreamPasswordSealed: text(),
    /** How long a cached tag lives after its last pull (Quay's `expiration_s`). */
    expirationS: integer().notNull(),
    /** Plain http:// to the upstream (Quay's `insecure`). */
    insecure: integer({ mode: "boolean" }).notNull().default(false),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [uniqueIndex("proxy_cache_configs_namespace_unique").on(t.namespaceId)],
);

export type ProxyCacheConfig = typeof proxyCacheConfigs.$inferSelect;

/**
 * Quay's OrgMirrorConfig (data/model/org_mirror.py): organization `organizationId` mirrors every
 * repository of the source namespace `externalNamespace` on the registry at `registryUrl` (a Quay
 * or a Harbor, Quay's SourceRegistryType) whose name matches one of `repositoryFilters` (a JSON
 * array of fnmatch globs; empty matches all). Discovery runs every `syncInterval` seconds from
 * `syncStartDate` (src/mirror/org-sync.ts); each repository it discovers is created in the
 * organization in state MIRROR with a repository mirror (repo_mirror_configs) that the repository
 * mirror engine syncs. The source username and password are sealed (src/identity/secrets.ts);
 * `syncTransactionId` is the claim token, as on repo_mirror_configs.
 */
export const orgMirrorConfigs = sqliteTable(
  "org_mirror_configs",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    organizationId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** Quay's `internal_robot`: creates the repositories and pushes their tags; null once deleted. */
    robotUserId: integer().references(() => users.id, { onDelete: "set null" }),
    isEnabled: integer({ mode: "boolean" }).notNull().default(true),
    registryType: text({ enum: ["harbor", "quay"] }).notNull(),
    /** As given: `https://quay.example.com` (scheme included; checked by the outbound guard's rule). */
    registryUrl: text().notNull(),
    externalNamespace: text().notNull(),
    sealedUsername: text(),
    sealedPassword: text(),
    /** JSON: `verify_tls`, `proxy` as the API was given them. */
    externalRegistryConfig: text().notNull().default("{}"),
    /** JSON array of repository-name globs. */
    repositoryFilters: text().notNull().default("[]"),
    /** The visibility of the repositories discovery creates. */
    visibility: text({ enum: ["public", "private"] }).notNull(),
    /** Seconds. */
    syncInterval: integer().notNull(),
    /** Unix ms; null after a cancel until a sync-now (Quay). */
    syncStartDate: integer(),
    /** Unix ms: when a claimed discovery is considered lost. */
    syncExpirationDate: integer(),
    syncRetriesRemaining: integer().notNull().default(3),
    syncStatus: text({ enum: ["CANCEL", "FAIL", "NEVER_RUN", "SUCCESS", "SYNCING", "SYNC_NOW"] })
      .notNull()
      .default("NEVER_RUN"),
    syncTransactionId: text().notNull(),
    /** Quay's `skopeo_timeout` (seconds), given to each created repository's mirror. */
    skopeoTimeout: integer().notNull().default(300),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [
    uniqueIndex("org_mirror_configs_organization_unique").on(t.organizationId),
    index("org_mirror_configs_due_idx").on(t.syncStartDate),
    index("org_mirror_configs_robot_idx").on(t.robotUserId),
  ],
);

export type OrgMirrorConfig = typeof orgMirrorConfigs.$inferSelect;

/**
 * Quay's OrgMirrorRepository: a repository discovery found in the source namespace (its name
 * without the namespace), and the organization's repository created for it (null when creation
 * failed: `statusMessage` says why). Its sync status is its repository mirror's.
 */
export const orgMirrorRepositories = sqliteTable(
  "org_mirror_repositories",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    orgMirrorId: integer()
      .notNull()
      .references(() => orgMirrorConfigs.id, { onDelete: "cascade" }),
    repositoryName: text().notNull(),
    repositoryId: integer().references(() => repositories.id, { onDelete: "set null" }),
    discoveryDate: integer().notNull(),
    statusMessage: text(),
  },
  (t) => [
    uniqueIndex("org_mirror_repositories_name_unique").on(t.orgMirrorId, t.repositoryName),
    index("org_mirror_repositories_repository_idx").on(t.repositoryId),
  ],
);

/**
 * An origin connector (issue #18): a service on-prem that leases build and scan jobs from the edge
 * over HTTPS and posts results back, so nothing on-prem listens. A superuser creates one and is
 * shown its token once; only the token's SHA-256 is kept. `kinds` limits what it may lease.
 */
export const connectors = sqliteTable(
  "connectors",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    /** The public id the API and the UI name it by. */
    uuid: text().notNull(),
    name: text().notNull(),
    tokenHash: text().notNull(),
    /** JSON array of the job kinds it may lease (`build`, `scan`). */
    kinds: text().notNull().default('["build","scan"]'),
    createdBy: integer().references(() => users.id, { onDelete: "set null" }),
    createdAt: integer().notNull().default(nowMs),
    /** Unix ms of its last request; null until it first calls. */
    lastSeenAt: integer(),
    /** What it said of itself when it last said hello (version, builder, host name): JSON. */
    info: text().notNull().default("{}"),
  },
  (t) => [uniqueIndex("connectors_uuid_unique").on(t.uuid), uniqueIndex("connectors_token_unique").on(t.tokenHash)],
);

export type Connector = typeof connectors.$inferSelect;

/**
 * A job for the connectors (Quay's `dockerfilebuild` and `secscanv4` queues, rebuilt as leases in
 * D1: the local simulator has no pull consumers for Queues). `subject` is what the job is about:
 * a build's uuid, a manifest digest to scan, a Clair notification id. A lease is a conditional
 * update on `leaseToken`: of two connectors that read the same queued row one wins; a lease not
 * renewed by `leaseExpiresAt` returns the job to the queue (`attempts` counts leases). At most one
 * open (queued or leased) job per kind and subject.
 */
export const connectorJobs = sqliteTable(
  "connector_jobs",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    uuid: text().notNull(),
    kind: text({ enum: ["build", "scan", "scan_notification"] }).notNull(),
    subject: text().notNull(),
    /** The repository the job is for; null for a Clair notification (it names manifests). */
    repositoryId: integer().references(() => repositories.id, { onDelete: "cascade" }),
    state: text({ enum: ["queued", "leased", "done", "failed", "cancelled"] })
      .notNull()
      .default("queued"),
    attempts: integer().notNull().default(0),
    /** Not leased before this (unix ms): a retry's backoff. */
    availableAt: integer().notNull().default(nowMs),
    connectorId: integer().references(() => connectors.id, { onDelete: "set null" }),
    leaseToken: text(),
    leaseExpiresAt: integer(),
    /** Why it failed or was cancelled, for the operator. */
    error: text(),
    createdAt: integer().notNull().default(nowMs),
    updatedAt: integer().notNull().default(nowMs),
  },
  (t) => [
    uniqueIndex("connector_jobs_uuid_unique").on(t.uuid),
    uniqueIndex("connector_jobs_open_unique").on(t.kind, t.subject).where(sql`state in ('queued', 'leased')`),
    index("connector_jobs_state_idx").on(t.state, t.availableAt),
    index("connector_jobs_repository_idx").on(t.repositoryId),
    index("connector_jobs_connector_idx").on(t.connectorId),
  ],
);

export type ConnectorJob = typeof connectorJobs.$inferSelect;

/**
 * Quay's BuildTrigger: a source (custom git, GitHub push webhooks) whose pushes start builds of
 * the repository. Custom git has an SSH deploy key (the private half sealed, src/identity/
 * secrets.ts) the connector clones with, and a webhook secret (sealed: Quay shows the webhook URL
 * with it at any time, "View Credentials"); a GitHub trigger has the webhook's HMAC secret, sealed.
 * Inactive until activated with its configuration.
 */
export const buildTriggers = sqliteTable(
  "build_triggers",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    uuid: text().notNull(),
    repositoryId: integer()
      .notNull()
      .references(() => repositories.id, { onDelete: "cascade" }),
    service: text({ enum: ["custom-git", "github"] }).notNull(),
    /** Quay's `is_active`: set up with a configuration (activateBuildTrigger). */
    isActive: integer({ mode: "boolean" }).notNull().default(false),
    /** Quay's `enabled` and `disabled_reason` (`user_toggled`, `successive_build_failures`…). */
    enabled: integer({ mode: "boolean" }).notNull().default(true),
    disabledReason: text(),
    /** Who set it up (Quay's `connected_user`). */
    connectedUserId: integer().references(() => users.id, { onDelete: "set null" }),
    /** The robot builds pull private base images with (Quay's `pull_robot`). */
    pullRobotId: integer().references(() => users.id, { onDelete: "set null" }),
    /**
     * Quay's trigger config, JSON: `build_source`, `dockerfile_path`, `context`,
     * `branchtag_regex`, `default_tag_from_ref`, `latest_for_default_branch`, `tag_templates`.
     */
    config: text().notNull().default("{}"),
    /** The deploy key's public half (OpenSSH `ssh-ed25519 …`), custom git only. */
    publicKey: text(),
    sealedPrivateKey: text(),
    /** The webhook's secret, sealed. */
    sealedSecret: text(),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [
    uniqueIndex("build_triggers_uuid_unique").on(t.uuid),
    index("build_triggers_repository_idx").on(t.repositoryId),
  ],
);

export type BuildTrigger = typeof buildTriggers.$inferSelect;

/**
 * Quay's RepositoryBuild: one Dockerfile build of a repository, from an uploaded file (a filedrop,
 * `resourceKey`), an archive URL, or a trigger's commit. `phase` is Quay's BUILD_PHASE; `jobConfig`
 * Quay's job config JSON (`docker_tags`, `build_subdir`, `context`, `trigger_metadata`,
 * `is_manual`, `manual_user`, `archive_url`). Its job for the connectors is `connector_jobs` with
 * kind `build` and subject `uuid`.
 */
export const repositoryBuilds = sqliteTable(
  "repository_builds",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    uuid: text().notNull(),
    repositoryId: integer()
      .notNull()
      .references(() => repositories.id, { onDelete: "cascade" }),
    phase: text({
      enum: [
        "waiting",
        "build-scheduled",
        "unpacking",
        "pulling",
        "building",
        "pushing",
        "complete",
        "error",
        "internalerror",
        "cancelled",
        "expired",
      ],
    })
      .notNull()
      .default("waiting"),
    displayName: text().notNull(),
    jobConfig: text().notNull().default("{}"),
    /** The filedrop the build's source was uploaded as; null for an archive URL or a trigger. */
    resourceKey: text(),
    pullRobotId: integer().references(() => users.id, { onDelete: "set null" }),
    triggerId: integer().references(() => buildTriggers.id, { onDelete: "set null" }),
    /** Who asked for it (a manual build); null for a trigger's push. */
    performerId: integer().references(() => users.id, { onDelete: "set null" }),
    /** Quay's `started`: when it was queued. */
    startedAt: integer().notNull().default(nowMs),
    completedAt: integer(),
    /** The failure as the builder said it (Quay's `error`). */
    error: text(),
    /** JSON array of the pushed manifests' digests. */
    manifestDigests: text().notNull().default("[]"),
    /** Log lines written so far (their rows are `build_log_entries`). */
    logCount: integer().notNull().default(0),
  },
  (t) => [
    uniqueIndex("repository_builds_uuid_unique").on(t.uuid),
    index("repository_builds_repository_idx").on(t.repositoryId, t.startedAt),
    index("repository_builds_trigger_idx").on(t.triggerId),
  ],
);

export type RepositoryBuild = typeof repositoryBuilds.$inferSelect;

/** One line of a build's log (Quay's build logs: `{message, type, data}`), in order of `seq`. */
export const buildLogEntries = sqliteTable(
  "build_log_entries",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    buildId: integer()
      .notNull()
      .references(() => repositoryBuilds.id, { onDelete: "cascade" }),
    seq: integer().notNull(),
    /** JSON: Quay's entry `{"message", "type"?, "data"?}`. */
    entry: text().notNull(),
  },
  (t) => [uniqueIndex("build_log_entries_seq_unique").on(t.buildId, t.seq)],
);

/**
 * Quay's filedrop: a file a user uploads (a Dockerfile or a build context archive) before asking
 * for a build with its `file_id`; the bytes are in R2 under `objectKey`. Unused files expire.
 */
export const filedrops = sqliteTable(
  "filedrops",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    /** Quay's `file_id`. */
    uuid: text().notNull(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    mimeType: text().notNull(),
    objectKey: text().notNull(),
    /** Null until the upload completed. */
    size: integer(),
    /** The bytes' SHA-256 (hex), once uploaded: a build's display name is its first 7 (Quay's checksum). */
    sha256: text(),
    createdAt: integer().notNull().default(nowMs),
    expiresAt: integer().notNull(),
  },
  (t) => [uniqueIndex("filedrops_uuid_unique").on(t.uuid), index("filedrops_expiry_idx").on(t.expiresAt)],
);

/**
 * What the security scanner (Clair v4 through a connector) found in a manifest, by digest (its
 * content is the same in every repository). `status` is Quay's: `queued`, `scanned`, `failed`,
 * `unsupported`. The full vulnerability report is JSON in R2 (`reportKey`); `summary` holds the
 * counts by severity for lists. `indexerState` is Clair's: a changed indexer re-indexes.
 */
export const manifestScans = sqliteTable(
  "manifest_scans",
  {
    digest: text().primaryKey(),
    status: text({ enum: ["queued", "scanned", "failed", "unsupported"] })
      .notNull()
      .default("queued"),
    indexerState: text(),
    /** JSON: `{"features": n, "vulnerabilities": {"Critical": n, …}, "fixable": n}`. */
    summary: text(),
    reportKey: text(),
    error: text(),
    queuedAt: integer().notNull().default(nowMs),
    scannedAt: integer(),
  },
  (t) => [index("manifest_scans_status_idx").on(t.status)],
);

export type ManifestScan = typeof manifestScans.$inferSelect;

/**
 * Scrape tokens for `/metrics` (src/metrics/scrape-tokens.ts): what a superuser creates for a
 * Prometheus server, Wharf's own (Quay pushes to a Pushgateway instead). Only the token's SHA-256
 * is kept; the token is shown once, when created.
 */
export const metricsTokens = sqliteTable(
  "metrics_tokens",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    /** The public id the API names it by. */
    uuid: text().notNull(),
    name: text().notNull(),
    tokenHash: text().notNull(),
    createdBy: integer().references(() => users.id, { onDelete: "set null" }),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [
    uniqueIndex("metrics_tokens_uuid_unique").on(t.uuid),
    uniqueIndex("metrics_tokens_token_unique").on(t.tokenHash),
  ],
);

export type MetricsToken = typeof metricsTokens.$inferSelect;

/**
 * A superuser's fair-use override for one organization (src/fairuse/overrides.ts): its namespace's
 * request budget per minute and pull-bandwidth budget per hour. Null: the deployment's default
 * (FAIR_USE_NAMESPACE_*); 0: no budget for this namespace.
 */
export const fairUseOverrides = sqliteTable("fair_use_overrides", {
  namespaceId: integer()
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  requestsPerMinute: integer(),
  pullBytesPerHour: integer(),
  updatedAt: integer().notNull().default(nowMs),
});

export type FairUseOverride = typeof fairUseOverrides.$inferSelect;

/**
 * The shard directory (src/db/shards.ts): which D1 database holds a namespace's sharded tables
 * (today `action_logs`; README "Scale past one database"). Shard 0 is the binding `DB` (this
 * database), shard n the binding `DB_SHARD_<n>`. A namespace without a row lives on shard 0. A row
 * is written once, when the namespace first writes with shards configured, and changes only
 * through a move (src/db/shard-moves.ts: `moving`, its writes refused until the copy is flipped;
 * then `purging`, the old shard's rows deleted). Kept after the
 * namespace is deleted (no foreign key): its entries outlive it, and an id is never reused.
 */
export const namespaceShards = sqliteTable(
  "namespace_shards",
  {
    namespaceId: integer().primaryKey(),
    shard: integer().notNull(),
    state: text({ enum: ["active", "moving", "purging"] })
      .notNull()
      .default("active"),
    assignedAt: integer().notNull().default(nowMs),
    /**
     * The database holding the namespace's registry core (tags, manifests, their references and
     * labels, blob links and rows, pull statistics: src/db/core-shards.ts), or null for `DB`. Set
     * once, when the namespace is placed with SHARD_REGISTRY_CORE on and holds no core rows yet;
     * only a move changes it (docs/sharding-the-registry-core.md, Stage 5).
     */
    coreShard: integer(),
    /** A move's target shard (`moving`), or the shard it left whose rows are purged (`purging`). */
    moveShard: integer(),
    /** The last source row id a move copied (rows are copied in id order). */
    moveCursor: integer(),
    /**
     * The registry core's side of a move (src/registry/core-moves.ts): while `moving`, where its
     * copy has reached (JSON: repository id, step, last key copied), null before it starts; while
     * `purging`, {@link moveCoreShard} names the database the core left (0: `DB`), or is null when
     * the core was on the target already and nothing is to be purged.
     */
    moveCoreCursor: text(),
    moveCoreShard: integer(),
    /** When the state last changed: a move waits DIRECTORY_CACHE_MS after each change. */
    stateAt: integer(),
  },
  (t) => [
    index("namespace_shards_shard_idx").on(t.shard),
    // The cron's moves: the few rows not `active`.
    index("namespace_shards_moves_idx").on(t.state).where(sql`state <> 'active'`),
  ],
);

export type NamespaceShard = typeof namespaceShards.$inferSelect;
