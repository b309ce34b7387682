// `npm start`'s side of BLOB_REDIRECT (scripts/start.mjs): where the local stand-in for R2's S3
// API listens and the worker that serves it (scripts/r2-s3-local.mjs). Local runs and tests only:
// in production the registry's presigned URLs point at R2's own S3 endpoint.
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const standIn = path.join(path.dirname(fileURLToPath(import.meta.url)), "r2-s3-local.mjs");

/**
 * Where the local S3 stand-in listens and the endpoint presigned URLs name: R2_S3_ENDPOINT when
 * given (an http origin on this machine), else a free port, named `localhost` when the registry
 * listens on 127.0.0.1. A host name other than the registry's, as R2's is in production: clients
 * send the registry's Authorization header on to a redirect that keeps the host name (Go's
 * net/http compares names, not ports), and S3 refuses a request authenticated twice. Clients on
 * other machines need R2_S3_ENDPOINT=http://<a name of this machine they reach>:<port>.
 */
export async function localS3(vars, host) {
  const given = vars.R2_S3_ENDPOINT;
  if (given) {
    const url = new URL(given);
    if (url.protocol !== "http:" || !url.port) {
      console.error(`wharf: R2_S3_ENDPOINT must be http://<host>:<port> for the local S3 stand-in: "${given}"`);
      process.exit(1);
    }
    return { endpoint: url.origin, listen: host, port: Number(url.port) };
  }
  const port = await new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
  const name = host === "127.0.0.1" ? "localhost" : host;
  return { endpoint: `http://${name}:${port}`, listen: host, port };
}

/**
 * The stand-in's Miniflare worker: the registry's BLOBS bucket (same persist directory, so the
 * same objects), the bucket name URLs must name, and the key pair they must be signed with.
 */
export function localS3Worker(s3, { name, compatibilityDate, r2Buckets, bucketName, secrets }) {
  return {
    name: `${name}-r2-s3-local`,
    modules: [{ type: "ESModule", path: standIn }],
    compatibilityDate,
    r2Buckets,
    bindings: {
      R2_BUCKET_NAME: bucketName,
      R2_ACCESS_KEY_ID: secrets.R2_ACCESS_KEY_ID,
      R2_SECRET_ACCESS_KEY: secrets.R2_SECRET_ACCESS_KEY,
    },
    unsafeDirectSockets: [{ host: s3.listen, port: s3.port }],
  };
}
