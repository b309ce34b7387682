/**
 * A small stand-in for Cloudflare's API (client/v4) on loopback, for running the REAL wrangler's
 * account commands (CLOUDFLARE_API_BASE_URL points wrangler here): the token check, accounts, D1
 * databases, R2 buckets (with the cf-r2-jurisdiction header), queues and a Worker's secrets, kept in
 * memory, answered in the API's envelope ({success, errors, messages, result}). What it does not
 * know it answers with an API error, so a command that needs more fails the way the API would.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeAccount {
  requests: { method: string; path: string; jurisdiction?: string; body: string }[];
  d1: { uuid: string; name: string; primary_location_hint?: string; jurisdiction?: string }[];
  r2: { name: string; jurisdiction?: string; locationHint?: string }[];
  queues: { queue_id: string; queue_name: string; jurisdiction?: string }[];
  workers: Record<string, { secrets: Record<string, string>; draft: boolean }>;
}

export async function fakeCloudflareApi(accountId: string) {
  const account: FakeAccount = { requests: [], d1: [], r2: [], queues: [], workers: {} };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://api");
      const path = url.pathname.replace(/^\/client\/v4/, "");
      const jurisdiction = req.headers["cf-r2-jurisdiction"] as string | undefined;
      account.requests.push({ method: req.method ?? "GET", path, jurisdiction, body });
      const answer = (result: unknown, status = 200) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        const count = Array.isArray(result) ? result.length : 1;
        res.end(
          JSON.stringify({
            success: true,
            errors: [],
            messages: [],
            result,
            result_info: { page: 1, per_page: 100, count, total_count: count },
          }),
        );
      };
      const error = (status: number, code: number, message: string) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ success: false, errors: [{ code, message }], messages: [], result: null }));
      };
      const route = `${req.method} ${path}`;
      const base = `/accounts/${accountId}`;
      const script = path.match(new RegExp(`^${base}/workers/scripts/([^/]+)(/secrets)?$`));
      if (route === "GET /user/tokens/verify") return answer({ id: "token", status: "active" });
      if (route === "GET /user") return answer({ email: "newcomer@example.com" });
      if (route === "GET /accounts") return answer([{ id: accountId, name: "Newcomer's Account" }]);
      if (route === "GET /memberships") return answer([{ account: { id: accountId, name: "Newcomer's Account" } }]);
      if (route === `GET ${base}/d1/database`) return answer(url.searchParams.get("page") === "1" ? account.d1 : []);
      if (route === `POST ${base}/d1/database`) {
        const wanted = JSON.parse(body) as { name: string; primary_location_hint?: string; jurisdiction?: string };
        if (account.d1.some((db) => db.name === wanted.name)) return error(400, 7502, "database already exists");
        const db = { uuid: randomUUID(), ...wanted };
        account.d1.push(db);
        return answer({ ...db, created_in_region: wanted.primary_location_hint?.toUpperCase() });
      }
      if (route === `GET ${base}/r2/buckets`)
        return answer({
          buckets: account.r2
            .filter((b) => b.jurisdiction === jurisdiction)
            .map((b) => ({ name: b.name, creation_date: "2026-12-07T05:00:00.000Z" })),
        });
      if (route === `POST ${base}/r2/buckets`) {
        const wanted = JSON.parse(body) as { name: string; locationHint?: string };
        if (account.r2.some((b) => b.name === wanted.name && b.jurisdiction === jurisdiction))
          return error(409, 10004, "The bucket you tried to create already exists, and you own it.");
        account.r2.push({ ...wanted, jurisdiction });
        return answer({});
      }
      if (route === `GET ${base}/queues`) {
        const page = Number(url.searchParams.get("page") ?? 1);
        const name = url.searchParams.get("name");
        const rows = account.queues
          .filter((q) => !name || q.queue_name === name)
          .map((q) => ({
            ...q,
            created_on: "2026-12-07T05:00:00Z",
            modified_on: "2026-12-07T05:00:00Z",
            producers_total_count: 0,
            consumers_total_count: 0,
            producers: [],
            consumers: [],
          }));
        return answer(page === 1 ? rows : []);
      }
      if (route === `POST ${base}/queues`) {
        const wanted = JSON.parse(body) as { queue_name: string; jurisdiction?: string };
        if (account.queues.some((q) => q.queue_name === wanted.queue_name))
          return error(409, 11009, "Queue name already taken");
        const queue = { queue_id: randomUUID().replaceAll("-", ""), ...wanted };
        account.queues.push(queue);
        return answer(queue);
      }
      if (script) {
        const worker = account.workers[script[1]!];
        if (script[2] && req.method === "GET") {
          if (!worker) return error(404, 10007, "workers.api.error.script_not_found");
          return answer(Object.keys(worker.secrets).map((name) => ({ name, type: "secret_text" })));
        }
        if (script[2] && req.method === "PUT") {
          if (!worker) return error(404, 10007, "workers.api.error.script_not_found");
          const secret = JSON.parse(body) as { name: string; text: string };
          worker.secrets[secret.name] = secret.text;
          return answer({ name: secret.name, type: "secret_text" });
        }
        if (!script[2] && req.method === "PUT") {
          // wrangler's empty Worker, made when a secret is put before the first deploy
          account.workers[script[1]!] = { secrets: {}, draft: true };
          return answer({ id: script[1] });
        }
      }
      return error(400, 10000, `the fake Cloudflare API has no ${route}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    account,
    baseUrl: `http://127.0.0.1:${port}/client/v4`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
