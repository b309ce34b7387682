/** Configuration from wrangler `[vars]`, validated once with zod. */
import { z } from "zod";
import { parseByteSize } from "./lib/byte-sizes";
import { parseDuration } from "./lib/durations";
import { parseOidcProviders } from "./lib/oidc-providers";
import { parseOutboundAllowance } from "./lib/outbound-addresses";
import { parseAuthority } from "./lib/public-url";

/** A comma- or space-separated list of Quay spans ("0s,1d,2w") as seconds. */
const durationList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) =>
      text
        .split(/[\s,]+/)
        .filter(Boolean)
        .map((item) => {
          const seconds = parseDuration(item);
          if (seconds === null) ctx.addIssue({ code: "custom", message: `not a span: "${item}"` });
          return seconds ?? 0;
        }),
    );

/** One Quay span ("2w") as seconds. */
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const seconds = parseDuration(text);
      if (seconds === null) ctx.addIssue({ code: "custom", message: `not a span: "${text}"` });
      return seconds ?? 0;
    });

const booleanVar = (fallback: "true" | "false") =>
  z
    .enum(["true", "false", ""])
    .default(fallback)
    .transform((value) => (value === "" ? fallback : value) === "true");

/** Quay's DEFAULT_NAMESPACE_AUTOPRUNE_POLICY, as JSON: `{"method": "number_of_tags", "value": 10}`. */
const defaultAutoprunePolicy = z
  .string()
  .default("")
  .transform((text, ctx) => {
    if (text.trim() === "") return null;
    try {
      return defaultPolicySchema.parse(JSON.parse(text));
    } catch {
      ctx.addIssue({ code: "custom", message: "DEFAULT_NAMESPACE_AUTOPRUNE_POLICY must be {method, value} as JSON" });
      return null;
    }
  });
const defaultPolicySchema = z.union([
  z.object({ method: z.literal("number_of_tags"), value: z.number().int().positive() }),
  z.object({ method: z.literal("creation_date"), value: z.string().refine((v) => parseDuration(v) !== null) }),
]);

const configSchema = z
  .object({
    /**
     * Quay's REGISTRY_STATE: `normal`, or `readonly` for maintenance (a backup, a migration):
     * pulls and reads keep working, every write is refused with Quay's "System is currently
     * read-only" answer, and the Cron Trigger's writers pause (src/middleware/read-only.ts).
     */
    REGISTRY_STATE: z
      .enum(["normal", "readonly", ""])
      .default("normal")
      .transform((value) => value || "normal"),
    /**
     * Quay's SERVER_HOSTNAME: the host[:port] clients reach the registry at. When set, it names the
     * token realm, the token audience and every absolute URL, whatever Host a request carries;
     * empty, the request's host is used when it is a valid host[:port] (src/lib/public-url.ts).
     */
    SERVER_HOSTNAME: z
      .string()
      .default("")
      .transform((text, ctx) => {
        if (text.trim() === "") return "";
        const authority = parseAuthority(text.trim());
        if (authority === null) ctx.addIssue({ code: "custom", message: "SERVER_HOSTNAME must be host[:port]" });
        return authority ?? "";
      }),
    /** Quay's PREFERRED_URL_SCHEME: `http` or `https` for those URLs; empty, the request's scheme. */
    PREFERRED_URL_SCHEME: z.enum(["", "http", "https"]).default(""),
    /** Seconds an idle upload lives before its Durable Object alarm aborts it. */
    UPLOAD_EXPIRY_SECONDS: z.coerce.number().int().positive().default(86_400),
    /**
     * The largest upload body (PATCH, PUT, POST `?digest=`) Wharf takes in one request, in bytes
     * (`104857600`, `100MB`, `100MiB`); 0, none of Wharf's own. Cloudflare answers a body over the
     * plan's cap (100 MB Free/Pro) with its own 413 before the Worker runs; set this at or below
     * the cap so that clients meet an OCI error naming the limit instead, the same under `npm start`.
     * It is also the `OCI-Chunk-Max-Length` upload answers advertise (src/registry/body-limits.ts).
     */
    MAX_REQUEST_BODY: z
      .string()
      .default("0")
      .transform((text, ctx) => {
        const bytes = parseByteSize(text);
        if (bytes === null)
          ctx.addIssue({ code: "custom", message: "must be a size in bytes (1048576, 100MB or 100MiB)" });
        return bytes ?? 0;
      }),
    /** Quay's SUPER_USERS: the usernames with superuser powers, separated by commas or spaces. */
    SUPER_USERS: z
      .string()
      .default("")
      .transform((text) => text.split(/[\s,]+/).filter(Boolean)),
    /**
     * Quay's DIRECT_OAUTH_CLIENTID_WHITELIST: OAuth client ids for which `POST /oauth/authorizeapp`
     * with Basic credentials needs no CSRF token, so scripts can mint tokens.
     */
    DIRECT_OAUTH_CLIENTID_WHITELIST: z
      .string()
      .default("")
      .transform((text) => text.split(/[\s,]+/).filter(Boolean)),
    /** Quay's ROBOTS_DISALLOW: no robot may be created or log in. */
    ROBOTS_DISALLOW: z
      .enum(["true", "false", ""])
      .default("false")
      .transform((value) => value === "true"),
    /** Quay's FEATURE_USER_CREATION: anyone may create an account (`POST /api/v1/user/`). */
    FEATURE_USER_CREATION: booleanVar("true"),
    /**
     * Quay's FEATURE_MAILING: Wharf mails what Quay mails (src/mail/): team invitations, a new
     * account's confirmation (the account stays unverified until its link is followed), recovery
     * links. Off, everything runs as Quay does without mail: new accounts are verified at once,
     * `POST /api/v1/recovery` is 404. Quay's default is on; Wharf's is off, since a fresh deployment
     * has no transport (MAIL_TRANSPORT), and on needs one (checked below).
     */
    FEATURE_MAILING: booleanVar("false"),
    /**
     * Quay's REQUIRE_TEAM_INVITE, with FEATURE_MAILING: a person in no team of the organization is
     * invited (mailed a code to accept) rather than added to a team directly.
     */
    REQUIRE_TEAM_INVITE: booleanVar("true"),
    /**
     * Where mail goes (src/mail/transports.ts): `cloudflare` (the `send_email` binding MAIL), `dev`
     * (one `.eml` per message into the DEV_MAILBOX folder: `npm start`'s default) or `none`.
     */
    MAIL_TRANSPORT: z
      .enum(["none", "cloudflare", "dev", ""])
      .default("none")
      .transform((value) => value || "none"),
    /** Quay's MAIL_DEFAULT_SENDER: the From of every mail (a sending domain onboarded with Cloudflare). */
    MAIL_FROM: z
      .string()
      .default("")
      .transform((text) => text.trim() || "wharf@localhost")
      // An address alone (no display name), loose enough for a local `wharf@localhost`.
      .refine((text) => /^[^\s@<>",;]+@[^\s@<>",;]+$/.test(text), "MAIL_FROM must be an email address"),
    /**
     * Quay's USER_RECOVERY_TOKEN_LIFETIME: how long a mailed recovery link works (single use).
     * Confirmation links work for a day (src/identity/email-codes.ts).
     */
    USER_RECOVERY_TOKEN_LIFETIME: duration("30m").refine((seconds) => seconds >= 60, "at least 1m"),
    /** Quay's REGISTRY_TITLE_SHORT: mails' subjects start with `[<it>]`, as Quay's do. */
    REGISTRY_TITLE_SHORT: z
      .string()
      .default("Wharf")
      .transform((text) => text.trim() || "Wharf")
      .refine((text) => !/[\r\n]/.test(text), "REGISTRY_TITLE_SHORT must be one line"),
    /**
     * Quay's FEATURE_ASSIGN_OAUTH_TOKEN: an organization's admin may ask a user to authorize one of
     * its OAuth applications (`POST /oauth/authorizeapp` with `username`), and users see and answer
     * those requests (`/api/v1/user/assignedauthorization`).
     */
    FEATURE_ASSIGN_OAUTH_TOKEN: booleanVar("true"),
    /**
     * Quay's FRESH_LOGIN_TIMEOUT: how long after proving its password a browser session may make the
     * calls Quay marks `@require_fresh_login` (deleting the account, changing the password…).
     */
    FRESH_LOGIN_TIMEOUT: duration("10m"),
    /**
     * Quay's API_TOKEN_MAXIMUM_TOKEN_COUNT: at most this many unexpired Management-API tokens per
     * robot; empty (Quay's default) no limit.
     */
    API_TOKEN_MAXIMUM_TOKEN_COUNT: z
      .string()
      .default("")
      .transform((text, ctx) => {
        if (text.trim() === "") return null;
        const count = Number(text);
        if (!Number.isInteger(count) || count < 0)
          ctx.addIssue({ code: "custom", message: "API_TOKEN_MAXIMUM_TOKEN_COUNT must be a count" });
        return count;
      }),
    /** Quay's TAG_EXPIRATION_OPTIONS: the time-machine windows a namespace may choose, in seconds. */
    TAG_EXPIRATION_OPTIONS: durationList("0s,1d,1w,2w,4w"),
    /**
     * The furthest in the future a tag's expiration may be set (API or `quay.expires-after`).
     * Quay bounds label expirations; Wharf bounds both alike. Default two years.
     */
    MAXIMUM_TAG_EXPIRATION: duration("104w"),
    /** Quay's PERMANENTLY_DELETE_TAGS: tags may be removed from the time machine at once. */
    PERMANENTLY_DELETE_TAGS: booleanVar("false"),
    /**
     * Quay's PUSH_TEMP_TAG_EXPIRATION_SEC: the grace period in seconds during which garbage
     * collection spares a blob nothing references yet and a manifest no tag points at, so that a
     * push in progress (layers first, then the manifest; children first, then the index) finds
     * them. Quay's default, one hour.
     */
    PUSH_TEMP_TAG_EXPIRATION_SEC: z.coerce.number().int().min(0).default(3_600),
    /**
     * Quay's FEATURE_IMAGE_PULL_STATS: the tag and manifest pull statistics endpoints answer (off:
     * 404). Pulls are counted either way (src/registry/pull-counts.ts); Quay's default is off,
     * Wharf's on, since counting costs the pull path nothing.
     */
    FEATURE_IMAGE_PULL_STATS: booleanVar("true"),
    /**
     * How long action logs are kept (a span, at least a day; Quay's ACTION_LOG_ROTATION_THRESHOLD,
     * 30d): older entries are removed by the cron (src/events/logs-retention.ts).
     */
    ACTION_LOG_RETENTION: duration("30d").refine(
      (seconds) => seconds >= 86_400,
      "ACTION_LOG_RETENTION must be at least 1d",
    ),
    /**
     * Keep entries past the retention in R2 (daily NDJSON, src/events/logs-archive.ts) rather than
     * delete them; the logs listings then read them too. Quay's FEATURE_ACTION_LOG_ROTATION.
     */
    ACTION_LOG_ARCHIVE: booleanVar("true"),
    /** Quay's FEATURE_LOG_EXPORT: `exportlogs` builds files of logs (off: 404). */
    FEATURE_LOG_EXPORT: booleanVar("true"),
    /**
     * Quay's log forwarding to Splunk: an HTTP Event Collector endpoint (`https://host:8088/
     * services/collector/event`) that every action-log entry is also sent to, in batches, from the
     * EVENTS consumer (src/events/logs-sink.ts), with the secret ACTION_LOG_SINK_TOKEN as
     * `Authorization: Splunk <token>`. Empty (the default): nothing is forwarded.
     */
    ACTION_LOG_SINK_URL: z
      .string()
      .default("")
      .refine(
        (text) => text === "" || /^https?:\/\//.test(text),
        "ACTION_LOG_SINK_URL must be an http(s) URL or empty",
      ),
    /** Quay's FEATURE_AUTO_PRUNE: auto-prune policies may be set and are run. */
    FEATURE_AUTO_PRUNE: booleanVar("true"),
    /**
     * Quay's FEATURE_REPO_MIRROR: repository mirroring's API answers, a repository may be put in
     * state MIRROR, and the Cron Trigger syncs the mirrors that are due (src/mirror/). Quay defaults
     * it off because a separate `repomirror` worker must be deployed for it; Wharf's worker is its
     * own Cron Trigger and queue, and nothing is fetched until a repository admin configures a mirror
     * (through the outbound guard), so it is on.
     */
    FEATURE_REPO_MIRROR: booleanVar("true"),
    /**
     * Quay's FEATURE_ORG_MIRROR (off in Quay, whose administrators enable it and deploy the
     * `repomirror` worker): organization mirroring's API answers and the Cron Trigger runs due
     * discoveries (src/mirror/org-sync.ts), whose repositories the repository mirror engine syncs.
     * On here for the reason FEATURE_REPO_MIRROR is: nothing is fetched until an organization
     * admin configures a source, and only through the outbound guard.
     */
    FEATURE_ORG_MIRROR: booleanVar("true"),
    /** Quay's DEFAULT_NAMESPACE_AUTOPRUNE_POLICY: applied to every namespace without policies of its own. */
    DEFAULT_NAMESPACE_AUTOPRUNE_POLICY: defaultAutoprunePolicy,
    /**
     * Quay's FEATURE_QUOTA_NOTIFICATIONS, off by default as in Quay: the namespace notifications
     * API (`/organization/{orgname}/notifications`, `/user/namespacenotifications`; 404 when off, as
     * Quay's `@show_if`) and their deliveries on `quota_warning`/`quota_error`. The in-app
     * notification and mail to the namespace's administrators on a crossing do not depend on it.
     */
    FEATURE_QUOTA_NOTIFICATIONS: booleanVar("false"),
    /**
     * Quay's FEATURE_QUOTA_MANAGEMENT: namespaces' storage quotas (the quota API, `quota_report`,
     * refusing pushes past a Reject limit). Quay's default is off; Wharf's on.
     */
    FEATURE_QUOTA_MANAGEMENT: booleanVar("true"),
    /**
     * Quay's DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: the Reject quota, in bytes, of every namespace that
     * has none of its own; 0 (the default) means none.
     */
    DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    /**
     * Quay's FEATURE_LIBRARY_SUPPORT: a repository name of one component (`foo`) means
     * `<LIBRARY_NAMESPACE>/foo` everywhere; off, such names are refused (src/registry/repository-name.ts).
     */
    FEATURE_LIBRARY_SUPPORT: booleanVar("true"),
    /**
     * Quay's FEATURE_PROXY_CACHE: organizations may be pull-through caches of an upstream registry
     * (src/proxy/). Off by default, as in Quay: any user can create an organization, and a cache
     * spends the deployment's egress and R2 on upstreams its admins choose, so the operator opts in.
     */
    FEATURE_PROXY_CACHE: booleanVar("false"),
    /**
     * Place each new namespace's registry core (tags, manifests, blob links, pull statistics) on
     * its shard, `DB_SHARD_<n>`, beside its action logs (src/db/core-shards.ts). Off by default, as
     * a registry without shards ships. Namespaces placed while it is off keep their core in `DB`
     * until a move takes it out (src/registry/core-moves.ts); with no `DB_SHARD_<n>` binding it
     * does nothing.
     */
    SHARD_REGISTRY_CORE: booleanVar("false"),
    /**
     * Dev only: count the D1 statements the Worker prepares, for `npm run bench` (src/db/query-counter.ts).
     * Off by default: the count is read through workerd's inspector and costs a Proxy per query.
     */
    BENCH_COUNT_D1: booleanVar("false"),
    /**
     * Quay's FEATURE_BUILD_SUPPORT: Dockerfile builds and build triggers (src/builds/), run by the
     * origin connectors (issue #18). On: nothing is built until someone asks for a build, and a
     * build waits queued until a connector that builds leases it (as Quay's wait for a builder).
     */
    FEATURE_BUILD_SUPPORT: booleanVar("true"),
    /**
     * The largest file `PUT /filedrop/{file_id}` takes (a build's Dockerfile or context archive):
     * 5 GiB by default, R2's single-object multipart is larger. The Workers platform caps a request
     * body first (100 MB on the Free and Pro plans, 500 MB on Enterprise): a larger context cannot
     * be uploaded there; use `archive_url` for it.
     */
    FILEDROP_MAX_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .max(Number.MAX_SAFE_INTEGER)
      .default(5 * 1024 ** 3),
    /**
     * Quay's FEATURE_SECURITY_SCANNER: every pushed manifest is queued for a Clair scan by a
     * connector, and `…/manifest/{ref}/security` answers (off: 404, as Quay's `show_if`). Off by
     * default, as in Quay: without a connector that scans, the queue only grows.
     */
    FEATURE_SECURITY_SCANNER: booleanVar("false"),
    /** Quay's LIBRARY_NAMESPACE: the namespace of single-component names. */
    LIBRARY_NAMESPACE: z
      .string()
      .default("library")
      .transform((text) => text || "library")
      .refine(
        (text) => /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/.test(text),
        "LIBRARY_NAMESPACE must be one repository name component",
      ),
    /**
     * Which loopback, private and link-local hosts requests made on a user's behalf (OIDC issuers,
     * notification webhooks; later proxy upstreams and mirrors) may reach: empty (a deployed Worker's value)
     * none, `true` all, or `host:port` entries and CIDRs (src/lib/outbound-addresses.ts).
     */
    ALLOW_PRIVATE_OUTBOUND: z
      .string()
      .default("")
      .transform((text, ctx) => {
        try {
          return parseOutboundAllowance(text);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: (err as Error).message });
          return z.NEVER;
        }
      }),
    /**
     * Quay's WEBHOOK_HOSTNAME_BLACKLIST: host names webhook and Slack notifications may not call
     * (commas or spaces between them), besides `localhost` and `127.0.0.1`, which Quay always refuses.
     */
    WEBHOOK_HOSTNAME_BLACKLIST: z
      .string()
      .default("")
      .transform((text) =>
        text
          .toLowerCase()
          .split(/[\s,]+/)
          .filter(Boolean),
      ),
    /**
     * Seconds an isolate's metric increments may wait before they leave for the metrics' Durable
     * Object (src/metrics/recorder.ts): one RPC per isolate per this span, not one per request.
     * At most 25: the timer runs in a request's `waitUntil`, which the runtime keeps for 30 s after
     * the response. 0 sends after every response that counted something (the workerd tests do, so
     * that waiting on a request's `waitUntil` does not wait out the timer).
     */
    METRICS_FLUSH_SECONDS: z.coerce.number().min(0).max(25).default(10),
    /** Quay's NOTIFICATION_SEND_TIMEOUT: seconds a notification's delivery may take. Default 10. */
    NOTIFICATION_SEND_TIMEOUT: z.coerce.number().positive().max(60).default(10),
    /**
     * Failed logins allowed per account before each further one makes it wait (1 s, doubling up to
     * LOGIN_BACKOFF_MAX); 0 turns the account limit off (src/identity/login-limits.ts).
     */
    LOGIN_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(0).default(5),
    /** The same per client address (CF-Connecting-IP, IPv6 by /64), across every account. */
    LOGIN_FAILURES_PER_IP: z.coerce.number().int().min(0).default(20),
    /**
     * External OpenID Connect providers to sign in with (Quay's OIDC `*_LOGIN_CONFIG`), a JSON array
     * (src/lib/oidc-providers.ts); their client secrets are the secret OIDC_CLIENT_SECRETS. Empty: none.
     */
    OIDC_PROVIDERS: z
      .string()
      .default("")
      .transform((text, ctx) => {
        try {
          return parseOidcProviders(text);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: (err as Error).message });
          return z.NEVER;
        }
      }),
    /** The longest wait the login limits impose (a span, at least 1s). Default 5 minutes. */
    LOGIN_BACKOFF_MAX: duration("5m").refine((seconds) => seconds >= 1, "LOGIN_BACKOFF_MAX must be at least 1s"),
    /**
     * Fair use (src/fairuse/budgets.ts): requests a minute each namespace may receive (its /v2
     * repositories' requests and its /api/v1 paths), as a token bucket that bursts to this many.
     * 0 (the default) is off and costs nothing. Off by default, as Quay has no such limit: the right
     * number depends on the deployment's tenants (one CI fleet pulls thousands of layers a minute),
     * and a limit guessed too low breaks pulls, while the platform already absorbs floods. A
     * superuser may set an organization's own (`/api/v1/superuser/organizations/{name}/fairuse`).
     */
    FAIR_USE_NAMESPACE_REQUESTS_PER_MINUTE: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    /** Bytes of blobs an hour each namespace may serve (ranges counted as sent). 0: off. */
    FAIR_USE_NAMESPACE_PULL_BYTES_PER_HOUR: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    /**
     * Requests a minute each requester may make on /v2 and /api/v1: an account (user or robot,
     * whatever token or session it uses) or, anonymous, a client address. 0 (the default): off.
     */
    FAIR_USE_TOKEN_REQUESTS_PER_MINUTE: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    /** Bytes of blobs an hour each requester may pull. 0 (the default): off. */
    FAIR_USE_TOKEN_PULL_BYTES_PER_HOUR: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    /**
     * Blob GETs (not HEADs, not ranged ones) answer 307 to a presigned URL of R2's S3 API, as
     * distribution's `redirect` middleware does, so a layer's bytes never pass through the Worker
     * (src/routes/v2/blob-redirect.ts). Off by default: it needs an R2 API token (the secrets
     * R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY), and R2_BUCKET_NAME and R2_ACCOUNT_ID (or R2_S3_ENDPOINT).
     */
    BLOB_REDIRECT: booleanVar("false"),
    /**
     * How long a presigned blob URL may be used, in seconds. At most the registry token's lifetime
     * (300 s, TOKEN_TTL_SECONDS in src/identity/registry-tokens.ts): a URL must not let anyone read a
     * blob for longer than the token that was checked for it could; a client follows it at once.
     */
    BLOB_REDIRECT_TTL_SECONDS: z.coerce.number().int().min(60).max(300).default(300),
    /** The Cloudflare account id whose R2 holds the BLOBS bucket: R2's S3 endpoint is derived from it. */
    R2_ACCOUNT_ID: z
      .string()
      .default("")
      .refine((text) => /^[0-9a-f]{32}$/.test(text) || text === "", "R2_ACCOUNT_ID must be 32 hexadecimal digits"),
    /**
     * R2's S3 endpoint (`https://<R2_ACCOUNT_ID>.r2.cloudflarestorage.com` when empty; a
     * jurisdiction's bucket is at `https://<R2_ACCOUNT_ID>.eu.r2.cloudflarestorage.com`). `npm start`
     * sets it to its local stand-in (scripts/r2-s3-local.mjs). A custom domain does not take
     * presigned URLs: this must be the S3 API's host.
     */
    R2_S3_ENDPOINT: z
      .string()
      .default("")
      .refine(
        (text) => text === "" || /^https?:\/\/[^/?#@\s]+\/?$/.test(text),
        "R2_S3_ENDPOINT must be an http(s) origin (scheme and host, no path)",
      ),
    /** The name of the BLOBS bucket (wrangler.toml's [[r2_buckets]] bucket_name), which presigned URLs name. */
    R2_BUCKET_NAME: z
      .string()
      .default("")
      .refine(
        (text) => text === "" || /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(text),
        "R2_BUCKET_NAME must be an R2 bucket name (3-63 of a-z, 0-9 and -)",
      ),
    /**
     * Cached pull facts (src/registry/pull-cache.ts): seconds a pull-only request may be answered
     * from what an earlier request read in D1 (a repository links a blob, holds a manifest by
     * digest), sparing D1's round trip to its primary region. Capped at the registry token's
     * lifetime (300 s), which already bounds how long a revoked grant is honoured; every cause
     * (deletion, GC) stops a cached fact within this bound. 0 turns the cache off.
     */
    PULL_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(60),
    /**
     * Also keep those facts in the Cache API, shared by the isolates of a data centre. Off by
     * default: the Cache API does nothing on *.workers.dev (a custom domain is needed).
     */
    PULL_CACHE_EDGE: booleanVar("false"),
  })
  .refine((config) => !config.FEATURE_MAILING || config.MAIL_TRANSPORT !== "none", {
    message: "FEATURE_MAILING needs a mail transport: set MAIL_TRANSPORT (cloudflare or dev)",
    path: ["FEATURE_MAILING"],
  })
  .refine((config) => !config.BLOB_REDIRECT || config.R2_BUCKET_NAME !== "", {
    message: "BLOB_REDIRECT needs R2_BUCKET_NAME (the BLOBS bucket's name)",
    path: ["R2_BUCKET_NAME"],
  })
  .refine((config) => !config.BLOB_REDIRECT || config.R2_S3_ENDPOINT !== "" || config.R2_ACCOUNT_ID !== "", {
    message: "BLOB_REDIRECT needs R2_ACCOUNT_ID (or R2_S3_ENDPOINT) to name R2's S3 endpoint",
    path: ["R2_ACCOUNT_ID"],
  });

export type Config = z.infer<typeof configSchema>;

/** The [vars] the configuration reads, in the schema's order (the superuser's config view lists these). */
export const CONFIG_KEYS = Object.keys(configSchema.shape) as (keyof Config)[];

/**
 * The Worker's secrets (`wrangler secret put`, src/env.ts): never echoed by any answer or log,
 * only whether each is set.
 */
export const SECRET_KEYS = [
  "WHARF_SECRET_KEY",
  "WHARF_TOKEN_KEY",
  "WHARF_TOKEN_KEY_PREVIOUS",
  "ACTION_LOG_SINK_TOKEN",
  "OIDC_CLIENT_SECRETS",
  "SECURITY_SCANNER_V4_PSK",
  "R2_ACCESS_KEY_ID",
  "R2_SECRET_ACCESS_KEY",
] as const;

/** The secrets each setting needs when on: named as configuration problems when missing. */
const NEEDED_SECRETS: { setting: keyof Config; on: (config: Config) => boolean; secrets: string[] }[] = [
  {
    setting: "BLOB_REDIRECT",
    on: (config) => config.BLOB_REDIRECT,
    secrets: ["R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"],
  },
];

/** One issue per secret a setting that is on needs and `secrets` lacks (no value is ever quoted). */
function missingSecrets(config: Config, secrets: Record<string, unknown>): ConfigIssue[] {
  return NEEDED_SECRETS.filter((need) => need.on(config)).flatMap((need) =>
    need.secrets
      .filter((key) => typeof secrets[key] !== "string" || secrets[key] === "")
      .map((key) => ({
        key,
        value: undefined,
        message: `must be set while ${need.setting} is on (\`npx wrangler secret put ${key}\`)`,
      })),
  );
}

/** One thing wrong with a configuration: the key, the value it has (as given), and what is wrong. */
export interface ConfigIssue {
  key: string;
  value: unknown;
  message: string;
}

/**
 * Everything wrong with `vars` (the [vars] as the Worker sees them, or a proposed configuration),
 * one issue per key and problem; empty when the configuration is valid. The one check behind the
 * Worker's own refusal, `npm start`, `npm run check-config` and the validate endpoints. `secrets`
 * is where the secrets an enabled setting needs are looked for (the Worker's env holds both), or
 * null where they cannot be seen (`npm run check-config` reads wrangler.toml only).
 */
export function configIssues(
  vars: Record<string, unknown>,
  secrets: Record<string, unknown> | null = vars,
): ConfigIssue[] {
  const parsed = configSchema.safeParse(vars);
  // The Worker's env holds both [vars] and secrets; `npm run check-config` sees [vars] only (null).
  if (parsed.success) return secrets ? missingSecrets(parsed.data, secrets) : [];
  return parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? "");
    // Messages that start with their key ("SERVER_HOSTNAME must be …") are said once; an enum
    // names its values without the empty one (empty means the default everywhere).
    const message =
      issue.code === "invalid_value"
        ? `expected ${issue.values
            .filter((v) => v !== "")
            .map((v) => JSON.stringify(v))
            .join(" or ")}`
        : issue.message.startsWith(`${key} `) || issue.message.startsWith(`${key}: `)
          ? issue.message.slice(issue.message.indexOf(" ") + 1)
          : issue.message;
    return { key, value: vars[key], message };
  });
}

/**
 * [vars] named but never quoted: OIDC_PROVIDERS is JSON into which an operator may paste a client
 * secret (Quay's `*_LOGIN_CONFIG` blocks hold CLIENT_SECRET), and the 503 of an invalid
 * configuration is served to anyone.
 */
const UNQUOTED_KEYS: ReadonlySet<string> = new Set(["OIDC_PROVIDERS"]);

/** A URL's authority, from just after `://` to the first `/`, `?`, `#` or space (sticky: linear). */
const AUTHORITY = /[^\s/?#]*/y;

/**
 * `text` with the user information of every URL in it (`scheme://user:password@host`) masked as
 * `scheme://***@host`: a credential. The password may hold `@` (browsers and WHATWG URL take the
 * last one before the path), so everything up to the authority's last `@` goes. Scans once, with
 * no backtracking, since a proposed configuration is a caller's text.
 */
export function maskCredentials(text: string): string {
  let out = "";
  let from = 0;
  for (let at = text.indexOf("://", from); at !== -1; at = text.indexOf("://", from)) {
    const start = at + 3;
    AUTHORITY.lastIndex = start;
    const end = start + (AUTHORITY.exec(text)?.[0].length ?? 0);
    const authority = text.slice(start, end);
    const userinfo = authority.lastIndexOf("@");
    out += text.slice(from, start) + (userinfo >= 0 ? `***${authority.slice(userinfo)}` : authority);
    from = end;
  }
  return out + text.slice(from);
}

/**
 * `KEY: what is wrong: "value"` (the value left out where the message already quotes it, or when
 * the key is {@link UNQUOTED_KEYS}'s), with every URL's credentials masked: the line is printed by
 * `npm run check-config`, logged, and answered to anyone while the configuration is invalid.
 */
export function describeIssue(issue: ConfigIssue, showValue = true): string {
  const value = typeof issue.value === "string" ? issue.value : JSON.stringify(issue.value);
  const quoted = `"${value}"`;
  // A message that ends quoting the bad part already ("not a span: "2x"") names the value.
  const named = issue.message.includes(quoted) || /: "[^"]*"$/.test(issue.message);
  const hidden = !showValue || issue.value === undefined || UNQUOTED_KEYS.has(issue.key);
  const tail = hidden || named ? "" : `: ${quoted}`;
  return maskCredentials(`${issue.key}: ${issue.message}${tail}`);
}

/** A configuration the Worker cannot run with: every request answers 503 naming the keys (src/app.ts). */
export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(`invalid configuration: ${issues.map((issue) => describeIssue(issue)).join("; ")}`);
    this.name = "ConfigError";
  }
}

const parsedConfigs = new WeakMap<object, Config>();

/** The validated configuration of `env`, parsed once per env object; a ConfigError when it is invalid. */
export function readConfig(env: Partial<Record<keyof Config, unknown>>): Config {
  const cached = parsedConfigs.get(env);
  if (cached) return cached;
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(configIssues(env as Record<string, unknown>));
  const missing = missingSecrets(parsed.data, env as Record<string, unknown>);
  if (missing.length > 0) throw new ConfigError(missing);
  parsedConfigs.set(env, parsed.data);
  return parsed.data;
}

/** Whether the registry is in Quay's read-only mode (REGISTRY_STATE=readonly). */
export const isReadOnly = (env: Partial<Record<keyof Config, unknown>>): boolean =>
  readConfig(env).REGISTRY_STATE === "readonly";
