/** The connector's command line and environment (`npm run connector -- --help`). */
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

export const HELP = `Wharf's origin connector: leases Dockerfile builds and Clair scans from a Wharf edge.

Usage: npm run connector -- --edge https://registry.example --token wharfc_… [options]

  --edge URL              the Wharf edge (env WHARF_EDGE)
  --token TOKEN           the connector's token, from the superuser's connector page
                          (env WHARF_CONNECTOR_TOKEN; prefer the environment: a command line is visible to others)
  --builder NAME          buildah, podman, auto (the first installed) or none (no builds); default auto
  --storage-driver NAME   the builder's storage driver; default vfs (works unprivileged everywhere)
  --clair URL             Clair v4's HTTP address; enables scans (env CLAIR_URL)
  --clair-psk BASE64      Clair's pre-shared key, base64 as in Clair's config (env CLAIR_PSK)
  --work-dir DIR          where sources and images are kept while a job runs; default $TMPDIR/wharf-connector
  --concurrency N         jobs run at once; default 1
  --grace-seconds N       on SIGTERM/SIGINT, how long a running job may finish; default 30
  --insecure-registry     allow pushing to a registry over plain HTTP (a loopback or test edge), and an http:// edge
  --allow-private-sources allow build sources (git, archive URLs) on loopback and private addresses
  --once                  run one job, then exit
  --help                  this text
`;

export interface Options {
  edge: string;
  token: string;
  builder: "buildah" | "podman" | "auto" | "none";
  storageDriver: string;
  clairUrl: string | null;
  clairPsk: string | null;
  workDir: string;
  concurrency: number;
  graceSeconds: number;
  insecureRegistry: boolean;
  allowPrivateSources: boolean;
  once: boolean;
}

/** The options, or a message saying what is wrong (or the help text, with `help`). */
export function parseOptions(
  argv: string[],
  env: NodeJS.ProcessEnv,
): { options: Options } | { error: string } | { help: true } {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        edge: { type: "string" },
        token: { type: "string" },
        builder: { type: "string" },
        "storage-driver": { type: "string" },
        clair: { type: "string" },
        "clair-psk": { type: "string" },
        "work-dir": { type: "string" },
        concurrency: { type: "string" },
        "grace-seconds": { type: "string" },
        "insecure-registry": { type: "boolean" },
        "allow-private-sources": { type: "boolean" },
        once: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    return { error: (err as Error).message };
  }
  if (values.help) return { help: true };
  const edge = str(values.edge) ?? env.WHARF_EDGE;
  const token = str(values.token) ?? env.WHARF_CONNECTOR_TOKEN;
  if (!edge) return { error: "--edge (or WHARF_EDGE) is required" };
  if (!token) return { error: "--token (or WHARF_CONNECTOR_TOKEN) is required" };
  let edgeUrl: URL;
  try {
    edgeUrl = new URL(edge);
  } catch {
    return { error: `--edge ${edge} is not a URL` };
  }
  const insecureRegistry = values["insecure-registry"] === true;
  if (edgeUrl.protocol === "http:" && !isLoopback(edgeUrl.hostname) && !insecureRegistry)
    return {
      error: "--edge must be https:// (the token would travel in the clear); --insecure-registry allows http://",
    };
  if (edgeUrl.protocol !== "http:" && edgeUrl.protocol !== "https:") return { error: "--edge must be an http(s) URL" };
  const builder = str(values.builder) ?? "auto";
  if (!["buildah", "podman", "auto", "none"].includes(builder))
    return { error: "--builder must be buildah, podman, auto or none" };
  const clairUrl = str(values.clair) ?? env.CLAIR_URL ?? null;
  const clairPsk = str(values["clair-psk"]) ?? env.CLAIR_PSK ?? null;
  if (clairUrl) {
    try {
      new URL(clairUrl);
    } catch {
      return { error: `--clair ${clairUrl} is not a URL` };
    }
  }
  if (clairPsk && !/^[A-Za-z0-9+/=_-]+$/.test(clairPsk)) return { error: "--clair-psk must be base64" };
  const concurrency = int(values.concurrency, 1);
  const graceSeconds = int(values["grace-seconds"], 30);
  if (concurrency === null || concurrency < 1 || concurrency > 64) return { error: "--concurrency must be 1 to 64" };
  if (graceSeconds === null || graceSeconds < 0) return { error: "--grace-seconds must be a number of seconds" };
  return {
    options: {
      edge,
      token,
      builder: builder as Options["builder"],
      storageDriver: str(values["storage-driver"]) ?? "vfs",
      clairUrl: clairUrl || null,
      clairPsk: clairPsk || null,
      workDir: path.resolve(str(values["work-dir"]) ?? path.join(os.tmpdir(), "wharf-connector")),
      concurrency,
      graceSeconds,
      insecureRegistry,
      allowPrivateSources: values["allow-private-sources"] === true,
      once: values.once === true,
    },
  };
}

function str(v: string | boolean | undefined): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function int(v: string | boolean | undefined, fallback: number): number | null {
  if (v === undefined) return fallback;
  return typeof v === "string" && /^\d+$/.test(v) ? Number(v) : null;
}

export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\./.test(h);
}
