/**
 * The D1 schema: every piece of registry metadata. Bytes live in R2 (see src/storage/keys.ts).
 * Column names come from `casing: "snake_case"`; migrations are generated from this file by
 * drizzle-kit and never edited after they land.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

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
    visibility: text({ enum: ["private", "public"] }).notNull().default("private"),
    createdAt: integer().notNull().default(nowMs),
  },
  (t) => [uniqueIndex("repositories_name_unique").on(t.name), index("repositories_namespace_idx").on(t.namespace)],
);

/**
 * Verified content, deduplicated across the registry. `storageKey` is the R2 object holding the
 * bytes: `blobs/sha256/<hex>` when the digest was known before the bytes arrived, else the
 * object the chunked upload assembled (R2 cannot rename a multipart object).
 */
export const blobs = sqliteTable("blobs", {
  digest: text().primaryKey(),
  size: integer().notNull(),
  storageKey: text().notNull(),
  createdAt: integer().notNull().default(nowMs),
});

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
 * A manifest stored in a repository. Its bytes are in R2 under `blobs/sha256/<hex>` (the spec
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
  (t) => [primaryKey({ columns: [t.manifestId, t.digest, t.kind] }), index("manifest_references_digest_idx").on(t.digest)],
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
  ],
);

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
    kind: text({ enum: ["user", "organization"] }).notNull().default("user"),
    /** `pbkdf2-sha256$<iterations>$<salt>$<hash>` (src/identity/passwords.ts); null for organizations. */
    passwordHash: text(),
    enabled: integer({ mode: "boolean" }).notNull().default(true),
    verified: integer({ mode: "boolean" }).notNull().default(true),
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
  },
  (t) => [uniqueIndex("sessions_id_hash_unique").on(t.idHash), index("sessions_user_idx").on(t.userId)],
);

export type Repository = typeof repositories.$inferSelect;
export type Manifest = typeof manifests.$inferSelect;
export type Tag = typeof tags.$inferSelect;
export type User = typeof users.$inferSelect;
export type AccessToken = typeof accessTokens.$inferSelect;
export type Session = typeof sessions.$inferSelect;
export type Team = typeof teams.$inferSelect;
