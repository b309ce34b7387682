/**
 * Quay's rules for where the Dockerfile and the build context are in a build's source
 * (endpoints/api/build.py, buildman's `name_and_path` and `extract_dockerfile_args`):
 * `build_subdir` names the Dockerfile, or the directory holding a file named `Dockerfile`
 * (a path ending in "Dockerfile" is the file; "" is the root's Dockerfile); `dockerfile_path`,
 * when set, names the file outright; `context` is the context's directory, the Dockerfile's
 * directory when empty. Paths are relative to the source's root, a leading "/" included. Both
 * must resolve (symlinks followed) inside the source's tree.
 */
import { realpath, stat } from "node:fs/promises";
import path from "node:path";
import { JobFailure } from "../connector";

export interface BuildPaths {
  /** The context directory (absolute, inside the tree). */
  context: string;
  /** The Dockerfile (absolute, inside the tree). */
  dockerfile: string;
}

export interface ContextRules {
  build_subdir: string;
  context: string;
  dockerfile_path?: string | null;
}

/** The Dockerfile's path relative to the root, as Quay reads `build_subdir` / `dockerfile_path`. */
export function dockerfileInSource(rules: ContextRules): string {
  const explicit = rules.dockerfile_path?.trim();
  if (explicit) return clean(explicit);
  let subdir = rules.build_subdir.trim();
  if (subdir === "" || subdir.endsWith("/")) subdir += "Dockerfile";
  else if (!subdir.endsWith("Dockerfile")) subdir += "/Dockerfile";
  return clean(subdir);
}

export async function resolveBuildPaths(root: string, rules: ContextRules): Promise<BuildPaths> {
  const realRoot = await realpath(root);
  const dockerfileRel = dockerfileInSource(rules);
  const contextRel = rules.context.trim() === "" ? path.posix.dirname(dockerfileRel) : clean(rules.context);
  const context = await inside(realRoot, contextRel, "the build context");
  if (!(await stat(context)).isDirectory())
    throw new JobFailure(`the build context ${show(contextRel)} is not a directory`, false);
  // Quay's builders take the Dockerfile relative to the context; a path that is not in the
  // source's root is looked for there too.
  for (const candidate of [dockerfileRel, path.posix.join(contextRel, dockerfileRel)]) {
    const file = await inside(realRoot, candidate, "the Dockerfile").catch(() => null);
    if (file && (await stat(file)).isFile()) return { context, dockerfile: file };
  }
  throw new JobFailure(`no Dockerfile at ${show(dockerfileRel)} in the build's source`, false);
}

/** `rel` under `root` with symlinks resolved; refused when it leaves the tree or does not exist. */
async function inside(root: string, rel: string, what: string): Promise<string> {
  let resolved: string;
  try {
    resolved = await realpath(path.join(root, rel));
  } catch {
    throw new JobFailure(`${what} ${show(rel)} is not in the build's source`, false);
  }
  if (resolved !== root && !resolved.startsWith(root + path.sep))
    throw new JobFailure(`${what} ${show(rel)} is outside the build's source`, false);
  return resolved;
}

/** A relative POSIX path without leading slashes or "." segments; ".." that climbs out is refused. */
function clean(p: string): string {
  const normal = path.posix.normalize(`/${p}`).replace(/^\/+/, "");
  return normal === "" ? "." : normal;
}

function show(rel: string): string {
  return rel === "." ? "/" : `/${rel}`;
}
