/**
 * What a webhook's body says of a push, as trigger metadata (Quay's customhandler.py
 * `custom_trigger_payload`, githubhandler.py `get_transformed_webhook_payload`). The custom git
 * payload is the seed's §8.2.2 (`commit`, `ref`, `default_branch`, optional `commit_info`); a
 * custom trigger also takes a GitHub push body, as Quay's tries GitHub's shape when its own does
 * not fit. Refusals use jsonschema's words, which Quay answers with.
 */
import { z } from "zod";
import { isCloneableGitUrl, type TriggerMetadata } from "./trigger-rules";

/** A push the webhook refuses (Quay's InvalidPayloadException): 400 with the message. */
export class InvalidPayload extends Error {
  override readonly name = "InvalidPayload";
}

/** A push that builds nothing, answered 200 (Quay's SkipRequestException). */
export class SkippedPush extends Error {
  override readonly name = "SkippedPush";
}

const COMMIT = "^([A-Fa-f0-9]{7,})$";
const REF = "^refs/(heads|tags|remotes)/(.+)$";

const text = (max: number) =>
  z.string({ error: (issue) => `${JSON.stringify(issue.input)} is not of type 'string'` }).max(max);
const matching = (pattern: string, max: number) =>
  text(max).regex(new RegExp(pattern), { error: (issue) => `'${String(issue.input)}' does not match '${pattern}'` });

/**
 * A ref the connector fetches: `refs/heads|tags|remotes/…` (so never an option to git), without
 * what git's check-ref-format refuses in any ref (control characters, space, `~^:?*[\\`, `..`, `@{`).
 */
const gitRef = (max: number) =>
  matching(REF, max).refine(
    (ref) => ![...ref].some((ch) => ch.charCodeAt(0) <= 0x20 || ch === "\x7f") && !/[~^:?*[\\]|\.\.|@\{/.test(ref),
    { error: (issue) => `'${String(issue.input)}' is not a git ref` },
  );

const person = z.object({
  username: text(256),
  url: text(2048),
  avatar_url: text(2048),
});

export const customPayloadSchema = z.object({
  commit: matching(COMMIT, 64),
  ref: gitRef(1024),
  default_branch: text(1024),
  commit_info: z
    .object({
      url: text(2048),
      message: text(65536),
      date: text(64),
      author: person.optional(),
      committer: person.optional(),
    })
    .optional(),
});

const githubPerson = z
  .object({
    username: z.string().max(256).optional(),
    html_url: z.string().max(2048).optional(),
    avatar_url: z.string().max(2048).optional(),
  })
  .optional();

export const githubPushSchema = z.object({
  // GitHub pushes branches and tags only; a signed delivery must still name one, as the connector fetches it.
  ref: gitRef(1024),
  head_commit: z
    .object({
      id: matching(COMMIT, 64),
      url: text(2048),
      message: text(65536),
      timestamp: text(64),
      author: githubPerson,
      committer: githubPerson,
    })
    .nullable(),
  repository: z.object({
    ssh_url: text(2048),
    clone_url: z.string().max(2048).optional(),
    default_branch: z.string().max(1024).optional(),
    master_branch: z.string().max(1024).optional(),
  }),
});

/** jsonschema's message for the first issue: a missing member, a wrong type, a pattern. */
function problem(error: z.ZodError, value: unknown): string {
  const issue = error.issues[0];
  if (!issue) return "Invalid payload";
  const last = issue.path[issue.path.length - 1];
  let here: unknown = value;
  for (const key of issue.path) here = here && typeof here === "object" ? (here as never)[key] : undefined;
  if (here === undefined && typeof last === "string") return `'${last}' is a required property`;
  return issue.message;
}

/** The body's JSON, or InvalidPayload (Quay: "Missing expected payload" for an empty one). */
export function parsePayload(bytes: Uint8Array): unknown {
  if (bytes.length === 0) throw new InvalidPayload("Missing expected payload");
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    throw new InvalidPayload("Invalid payload: the body is not JSON");
  }
}

/**
 * A GitHub delivery's JSON: the body itself, or, for a hook made with GitHub's default content
 * type `application/x-www-form-urlencoded`, its `payload` field (GitHub signs the raw body either way).
 */
export function githubPayload(bytes: Uint8Array, contentType: string): unknown {
  if (!/^application\/x-www-form-urlencoded\b/i.test(contentType)) return parsePayload(bytes);
  const form = new URLSearchParams(new TextDecoder().decode(bytes));
  const payload = form.get("payload");
  if (payload === null) throw new InvalidPayload("Missing payload");
  return parsePayload(new TextEncoder().encode(payload));
}

/** GitHub's push as trigger metadata; a push without a head commit (a deleted branch) builds nothing. */
export function githubMetadata(push: z.infer<typeof githubPushSchema>, gitUrl?: string): TriggerMetadata {
  const head = push.head_commit;
  if (!head) throw new SkippedPush("no head commit");
  const who = (p: z.infer<typeof githubPerson>) =>
    p?.username ? { username: p.username, url: p.html_url ?? null, avatar_url: p.avatar_url ?? null } : undefined;
  const author = who(head.author);
  const committer = who(head.committer);
  const defaultBranch = push.repository.default_branch ?? push.repository.master_branch;
  // The connector clones this URL: a delivery (whoever holds the secret can sign one) must not
  // hand it a transport that runs commands or an option (`ext::…`, `--upload-pack=…`).
  const cloneUrl = gitUrl ?? push.repository.ssh_url;
  if (!isCloneableGitUrl(cloneUrl))
    throw new InvalidPayload("Invalid payload: the repository's ssh_url is not a git URL a build may clone");
  return {
    commit: head.id,
    ref: push.ref,
    ...(defaultBranch ? { default_branch: defaultBranch } : {}),
    git_url: cloneUrl,
    commit_info: {
      url: head.url,
      message: head.message,
      date: head.timestamp,
      ...(author ? { author } : {}),
      ...(committer ? { committer } : {}),
    },
  };
}

/** A custom git trigger's push (Quay's `custom_trigger_payload`), cloned from the trigger's `git_url`. */
export function customMetadata(value: unknown, gitUrl: string): TriggerMetadata {
  const custom = customPayloadSchema.safeParse(value);
  if (custom.success) return { ...custom.data, git_url: gitUrl };
  const github = githubPushSchema.safeParse(value);
  if (github.success) return githubMetadata(github.data, gitUrl);
  throw new InvalidPayload(problem(custom.error, value));
}

/** A GitHub trigger's push body: its metadata, or why it is refused. */
export function githubPushMetadata(value: unknown): TriggerMetadata {
  const github = githubPushSchema.safeParse(value);
  if (!github.success) throw new InvalidPayload(problem(github.error, value));
  return githubMetadata(github.data);
}
