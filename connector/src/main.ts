/**
 * Wharf's origin connector (`npm run connector -- --edge https://… --token …`): the on-prem half
 * of builds and scans. It calls the edge; the edge never calls it (docs/connector.md).
 */
import { readFileSync } from "node:fs";
import { Builder } from "./build/builder";
import { buildRunner } from "./build/build-job";
import { ClairClient } from "./clair/clair-client";
import { notificationRunner } from "./clair/notification-job";
import { scanRunner } from "./clair/scan-job";
import { Connector, type JobRunner } from "./connector";
import { EdgeClient } from "./edge-client";
import { log } from "./log";
import { HELP, parseOptions } from "./options";

const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
  .version;

async function main(): Promise<number> {
  const parsed = parseOptions(process.argv.slice(2), process.env);
  if ("help" in parsed) {
    process.stdout.write(HELP);
    return 0;
  }
  if ("error" in parsed) {
    process.stderr.write(`wharf-connector: ${parsed.error}\n\n${HELP}`);
    return 2;
  }
  const options = parsed.options;
  const runners = new Map<string, JobRunner>();
  const builder = await Builder.detect(options.builder, options.storageDriver);
  if (builder) {
    const edge = new EdgeClient(options.edge, options.token);
    runners.set(
      "build",
      buildRunner({
        edge,
        builder,
        workDir: options.workDir,
        insecureRegistry: options.insecureRegistry,
        allowPrivateSources: options.allowPrivateSources,
      }),
    );
  } else if (options.builder !== "none") {
    log(`no ${options.builder === "auto" ? "buildah or podman" : options.builder} on this host: builds are off`);
  }
  if (options.clairUrl) {
    const clair = new ClairClient(options.clairUrl, options.clairPsk);
    runners.set("scan", scanRunner(clair));
    runners.set("scan_notification", notificationRunner(clair));
  }
  log(
    `version ${VERSION}; pid ${process.pid}; builder ${builder?.name ?? "none"}; Clair ${options.clairUrl ?? "none"}; work dir ${options.workDir}`,
  );
  const connector = new Connector({
    edge: options.edge,
    token: options.token,
    version: VERSION,
    builder: builder?.name ?? null,
    runners,
    concurrency: options.concurrency,
    once: options.once,
    graceMs: options.graceSeconds * 1000,
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => connector.shutdown());
  return connector.run();
}

main().then(
  (code) => {
    log(`exiting (${code})`);
    process.exit(code);
  },
  (err) => {
    log(`fatal: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
