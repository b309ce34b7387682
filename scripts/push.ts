/**
 * `npm run push -- [options] <source> <ref>`: pushes an image whose layers may be larger than
 * Cloudflare lets one request carry (100 MB on Free and Pro), in chunks (scripts/push/upload.ts).
 *   <source>  oci:<directory>[:tag]         an OCI image layout (`skopeo copy … oci:dir:tag`)
 *             docker-archive:<file.tar>[:tag]  `docker save` / `podman save` output
 *   <ref>     host[:port]/namespace/repository[:tag]
 * Options: --username U --password P (else WHARF_USERNAME/WHARF_PASSWORD, else the containers auth
 * file), --chunk-size BYTES (e.g. 50MB; default: the registry's OCI-Chunk-Max-Length, at most 95 MB),
 * --retries N (a failed chunk is resumed from the registry's offset; default 5), --plain-http.
 */
import { parseByteSize } from "../src/lib/byte-sizes.ts";
import { findCredentials, parseTarget, RefError, Session } from "./push/session.ts";
import { readSource, SourceError } from "./push/sources.ts";
import { PushError, pushManifest } from "./push/upload.ts";

const USAGE =
  "usage: npm run push -- [--username U --password P] [--chunk-size BYTES] [--retries N] [--plain-http] <oci:dir[:tag] | docker-archive:file.tar[:tag]> <host[:port]/namespace/repository[:tag]>";

function parseArgs(argv: string[]) {
  const options: Record<string, string | true> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const [key, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (key === "plain-http" || key === "help") options[key] = true;
    else if (["username", "password", "chunk-size", "retries"].includes(key)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new RefError(`--${key} needs a value`);
      options[key] = value;
    } else throw new RefError(`unknown option --${key}`);
  }
  return { options, positional };
}

async function main(): Promise<number> {
  const { options, positional } = parseArgs(process.argv.slice(2));
  if (options.help || positional.length !== 2) {
    console.error(USAGE);
    return options.help ? 0 : 2;
  }
  const [source, ref] = positional as [string, string];
  const target = parseTarget(ref, options["plain-http"] === true);
  const chunkSize = typeof options["chunk-size"] === "string" ? parseByteSize(options["chunk-size"]) : undefined;
  if (chunkSize === null || chunkSize === 0)
    throw new RefError(`--chunk-size must be a positive number of bytes: ${options["chunk-size"]}`);
  const retries = options.retries === undefined ? 5 : Number(options.retries);
  if (!Number.isInteger(retries) || retries < 0)
    throw new RefError(`--retries must be a whole number: ${options.retries}`);
  const image = await readSource(source);
  const credentials = await findCredentials(target.base.host, {
    username: options.username as string | undefined,
    password: options.password as string | undefined,
  });
  const session = new Session(target, credentials);
  const log = (line: string) => console.error(line);
  const started = performance.now();
  await pushManifest(session, image, target.tag, { chunkSize, retries, log });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const peak = (process.resourceUsage().maxRSS / 1024).toFixed(0);
  log(`done in ${seconds} s, peak RSS ${peak} MiB`);
  console.log(`pushed ${target.base.host}/${target.repository}:${target.tag}@${image.digest}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    // A network failure (ECONNREFUSED, ENOTFOUND …) is said in one line, like a refusal.
    const network = typeof (err as NodeJS.ErrnoException).code === "string";
    const known = err instanceof RefError || err instanceof SourceError || err instanceof PushError || network;
    console.error(
      `push: ${network ? `cannot reach the registry: ${err.message}` : known ? err.message : (err.stack ?? err.message)}`,
    );
    process.exit(known ? 2 : 1);
  },
);
