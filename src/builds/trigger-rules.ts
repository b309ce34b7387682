/**
 * What a build trigger's configuration decides (Quay's buildtrigger/basehandler.py and
 * triggerutil.py): which pushes build (`branchtag_regex`, `[skip build]`), which tags a build
 * pushes (the branch or tag name, `latest` on the default branch, tag templates), where the
 * Dockerfile and context are. The configuration is checked when a trigger is activated, so a
 * stored one always applies; Quay stores whatever the UI sends and falls back (`.*` for a regex
 * that does not compile, nothing for a template that does not parse) when a push arrives.
 */
import { z } from "zod";
import { invalid } from "../errors/domain";
import { compileTagPattern, tagPatternProblem } from "../lib/tag-pattern";

/** A git URL a connector may clone: scp-like `user@host:path`, or ssh, git, http(s) URLs. Never an option (`-…`). */
const GIT_URL = /^(?:(?:ssh|git|https?):\/\/[^\s/]+\/\S+|[\w.][\w.-]*@\w[\w.-]*:[^\s-]\S*)$/;

/**
 * Whether `url` is a git URL a connector may clone ({@link GIT_URL}), no control character in it,
 * and no user, host or port of a URL's authority starting with `-`: ssh takes such a one for an
 * option (`ssh://-oProxyCommand=…`, CVE-2017-1000117). Transports that run commands or read the
 * connector's own disk (`ext::`, `file://`, a path) never match.
 */
export function isCloneableGitUrl(url: string): boolean {
  if ([...url].some((ch) => ch.charCodeAt(0) <= 0x20 || ch === "\x7f") || !GIT_URL.test(url)) return false;
  const authority = /^[a-z]+:\/\/([^/]+)/.exec(url)?.[1];
  if (authority === undefined) return true;
  const at = authority.lastIndexOf("@");
  const user = at < 0 ? "" : authority.slice(0, at).split(":")[0]!;
  const [host = "", port = ""] = authority.slice(at + 1).split(/:(?=[^\]]*$)/);
  return ![user, host, port].some((part) => part.startsWith("-"));
}
/** A GitHub repository's full name, `owner/name`. */
const GITHUB_NAME = /^[A-Za-z0-9-]{1,39}\/[\w.-]{1,100}$/;

/** A path inside the source: `/`-rooted, no `..`, no control characters. */
const sourcePath = z
  .string()
  .max(1024)
  .refine((p) => ![...p].some((ch) => ch.charCodeAt(0) < 0x20 || ch === "\x7f"), "must not hold control characters")
  .refine((p) => !p.split("/").includes(".."), "must not hold '..'");

/** Quay's trigger config as Wharf keeps it; unknown members are dropped. */
export const triggerConfigSchema = z.object({
  build_source: z.string().max(2048).optional(),
  dockerfile_path: sourcePath.optional(),
  context: sourcePath.optional(),
  branchtag_regex: z.string().max(256).optional(),
  default_tag_from_ref: z.boolean().optional(),
  latest_for_default_branch: z.boolean().optional(),
  tag_templates: z.array(z.string().min(1).max(255)).max(50).optional(),
});

export type TriggerConfig = z.infer<typeof triggerConfigSchema>;
export type TriggerService = "custom-git" | "github";

/** The names a tag template may use (the seed's chapter 10, and the parts of a ref Quay parses). */
const TEMPLATE_FIELDS = new Set([
  "commit",
  "ref",
  "default_branch",
  "commit_info.short_sha",
  "commit_info.date",
  "commit_info.author",
  "commit_info.author.username",
  "commit_info.committer",
  "commit_info.committer.username",
  "parsed_ref.branch",
  "parsed_ref.tag",
  "parsed_ref.remote",
]);
const EXPRESSION = /\$\{([^}]*)\}/g;

/** `/`-rooted and without a trailing `/` (but `/` itself), as Quay's UI writes paths. */
function normalizedPath(path: string): string {
  const rooted = path.startsWith("/") ? path : `/${path}`;
  return rooted.length > 1 ? rooted.replace(/\/+$/, "") : rooted;
}

/** The full-match form of a regex: Quay's `matches_ref` wants the match to span the whole ref. */
const wholeRef = (regex: string) => `(?:${regex})$`;

/**
 * Checks an activation's config for `service` and returns it as stored: Quay's defaults filled in
 * (`/Dockerfile` in context `/`, tags from the ref and `latest` on the default branch).
 */
export function checkedConfig(service: TriggerService, config: TriggerConfig): TriggerConfig {
  const source = config.build_source;
  if (source === undefined || source === "") throw invalid("'build_source' is a required property");
  if (service === "custom-git" && !isCloneableGitUrl(source))
    throw invalid(`Invalid build source: ${source} is not a git URL (git@host:path, ssh://, git://, http(s)://)`);
  if (service === "github" && !GITHUB_NAME.test(source))
    throw invalid(`Invalid build source: ${source} is not a GitHub repository's owner/name`);
  const dockerfilePath = normalizedPath(config.dockerfile_path || "/Dockerfile");
  const context = normalizedPath(config.context || "/");
  if (dockerfilePath.endsWith("/")) throw invalid("Invalid dockerfile_path: it names a directory");
  const parent = context === "/" ? "/" : `${context}/`;
  if (!dockerfilePath.startsWith(parent))
    throw invalid(`Dockerfile, ${dockerfilePath}, is not a child of the context, ${context}.`);
  const regex = config.branchtag_regex;
  if (regex !== undefined && regex !== "") {
    const problem = tagPatternProblem(regex) ?? tagPatternProblem(wholeRef(regex));
    if (problem) throw invalid(`Invalid branchtag_regex: ${problem}`);
  }
  for (const template of config.tag_templates ?? []) {
    for (const [, expression] of template.matchAll(EXPRESSION)) {
      if (!TEMPLATE_FIELDS.has(expression!.trim()))
        throw invalid(`Invalid tag template: unknown expression \${${expression}} in ${template}`);
    }
  }
  return {
    build_source: source,
    dockerfile_path: dockerfilePath,
    context,
    ...(regex ? { branchtag_regex: regex } : {}),
    default_tag_from_ref: config.default_tag_from_ref ?? true,
    latest_for_default_branch: config.latest_for_default_branch ?? true,
    tag_templates: config.tag_templates ?? [],
  };
}

/** Quay's trigger metadata of a build (`trigger_metadata`). */
export interface TriggerMetadata {
  commit: string;
  ref?: string;
  default_branch?: string;
  git_url: string;
  commit_info?: {
    url?: string;
    message?: string;
    date?: string;
    author?: { username: string; url?: string | null; avatar_url?: string | null };
    committer?: { username: string; url?: string | null; avatar_url?: string | null };
  };
}

/**
 * Quay's `matches_ref`: the ref without `refs/` (`heads/main`, `tags/v1`) must match the regex
 * whole. Through the non-backtracking matcher (src/lib/tag-pattern.ts), as notifications' ref-regex.
 */
export function refMatches(regex: string, ref: string): boolean {
  const slash = ref.indexOf("/");
  if (slash < 0) return false;
  try {
    return compileTagPattern(wholeRef(regex), { from: "start" }).test(ref.slice(slash + 1));
  } catch {
    // Quay: a regex that does not compile matches everything (`.*`); activation refuses those.
    return true;
  }
}

/** Quay's `raise_if_skipped_build`: why a push builds nothing (a ref the regex refuses, a skip marker), or null. */
export function skipReason(config: TriggerConfig, metadata: TriggerMetadata): string | null {
  const regex = config.branchtag_regex;
  if (regex && !(metadata.ref !== undefined && refMatches(regex, metadata.ref))) return "ref";
  const message = metadata.commit_info?.message ?? "";
  if (message.includes("[skip build]") || message.includes("[build skip]")) return "skip";
  return null;
}

/** Quay's `escape_tag`: a leading non-word character and any other character a tag refuses become `_`; 127 characters at most. */
export function escapeTag(tag: string): string {
  if (!tag) return "latest";
  return tag
    .replace(/^[^A-Za-z0-9_]/, "_")
    .replace(/[^\w.-]/g, "_")
    .slice(0, 127);
}

/** The value a template expression names, or undefined where the push does not say. */
function templateValue(data: Record<string, unknown>, expression: string): string | undefined {
  let value: unknown = data;
  for (const key of expression.split(".")) {
    value = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined;
  }
  // `${commit_info.author}` names a person: the seed calls it "the author", Wharf takes the username.
  if (value !== null && typeof value === "object") value = (value as { username?: unknown }).username;
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** One template applied; null when an expression has no value (Quay's `$MISSING$`: no tag). */
function applyTagTemplate(template: string, data: Record<string, unknown>): string | null {
  let missing = false;
  const result = template.replace(EXPRESSION, (_m, expression: string) => {
    const value = templateValue(data, expression.trim());
    if (value === undefined) missing = true;
    return value ?? "";
  });
  return missing || result === "" ? null : result;
}

/** Quay's `_determine_tags`, then `escape_tag` on each: the tags a push builds, without repeats. */
export function determineTags(config: TriggerConfig, metadata: TriggerMetadata): string[] {
  const tags = new Set<string>();
  const ref = metadata.ref;
  const name = ref?.split("/").slice(2).join("/");
  if (config.tag_templates?.length) {
    const kind = ref?.split("/")[1];
    const parsedRef =
      name === undefined
        ? undefined
        : kind === "heads"
          ? { branch: name }
          : kind === "tags"
            ? { tag: name }
            : kind === "remotes"
              ? { remote: name }
              : {};
    const data = {
      ...metadata,
      commit_info: { ...metadata.commit_info, short_sha: metadata.commit.slice(0, 7) },
      parsed_ref: parsedRef,
    };
    for (const template of config.tag_templates) {
      const tag = applyTagTemplate(template, data);
      if (tag) tags.add(tag);
    }
  }
  if (name !== undefined) {
    if (config.default_tag_from_ref ?? true) tags.add(name);
    if ((config.latest_for_default_branch ?? true) && metadata.default_branch && name === metadata.default_branch)
      tags.add("latest");
  }
  if (tags.size === 0) tags.add(metadata.commit.slice(0, 7));
  return [...new Set([...tags].map(escapeTag))];
}
