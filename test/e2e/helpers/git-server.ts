/**
 * A loopback git server for the end-to-end tests: `git http-backend` (git's own smart-HTTP CGI)
 * behind a tiny Node HTTP server, serving bare repositories the test creates in a temporary
 * directory. Fetches and pushes both work (http.receivepack is on), so a test can push a commit
 * the way a developer would, then fire a trigger.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { run } from "./clients";

const GIT_ENV = {
  GIT_AUTHOR_NAME: "Wharf Tests",
  GIT_AUTHOR_EMAIL: "tests@example.com",
  GIT_COMMITTER_NAME: "Wharf Tests",
  GIT_COMMITTER_EMAIL: "tests@example.com",
  GIT_CONFIG_NOSYSTEM: "1",
};

/** A build context the tests use: `FROM scratch` + `COPY` of one file whose text is `marker`. */
export function scratchContext(marker: string): Record<string, string> {
  return { Dockerfile: "FROM scratch\nCOPY hello.txt /hello.txt\n", "hello.txt": `${marker}\n` };
}

export class GitServer {
  /** Paths requested so far (`/name.git/info/refs?service=git-upload-pack`, …). */
  readonly requests: string[] = [];

  private constructor(
    readonly root: string,
    private readonly server: http.Server,
    readonly base: string,
  ) {}

  static async start(): Promise<GitServer> {
    const root = await mkdtemp(path.join(os.tmpdir(), "wharf-git-"));
    await mkdir(path.join(root, "repos"));
    let self: GitServer | undefined;
    const server = http.createServer((req, res) => self!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    self = new GitServer(root, server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return self;
  }

  /** The clone URL of repository `name`. */
  url(name: string): string {
    return `${this.base}/${name}.git`;
  }

  /** Creates bare repository `name` whose `main` has one commit of `files`; that commit's id. */
  async createRepository(name: string, files: Record<string, string>): Promise<string> {
    const bare = path.join(this.root, "repos", `${name}.git`);
    await run("git", ["init", "--quiet", "--bare", "--initial-branch=main", bare], { env: GIT_ENV });
    await run("git", ["-C", bare, "config", "http.receivepack", "true"], { env: GIT_ENV });
    return this.commit(name, files, "The first build context");
  }

  /** Commits `files` (added or replaced) on `main` of `name` and pushes it; the new commit's id. */
  async commit(name: string, files: Record<string, string>, message: string): Promise<string> {
    const work = await mkdtemp(path.join(this.root, "work-"));
    const bare = path.join(this.root, "repos", `${name}.git`);
    try {
      await run("git", ["clone", "--quiet", bare, work], { env: GIT_ENV });
      await run("git", ["-C", work, "checkout", "--quiet", "-B", "main"], { env: GIT_ENV });
      for (const [file, text] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(work, file)), { recursive: true });
        await writeFile(path.join(work, file), text);
      }
      await run("git", ["-C", work, "add", "--all"], { env: GIT_ENV });
      await run("git", ["-C", work, "commit", "--quiet", "-m", message], { env: GIT_ENV });
      await run("git", ["-C", work, "push", "--quiet", "origin", "main"], { env: GIT_ENV });
      return (await run("git", ["-C", work, "rev-parse", "HEAD"])).stdout.toString("utf8").trim();
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
    await rm(this.root, { recursive: true, force: true });
  }

  /** Runs git http-backend for one request (CGI: the request in the environment and stdin). */
  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", this.base);
    this.requests.push(`${url.pathname}${url.search}`);
    const cgi = spawn("git", ["http-backend"], {
      env: {
        ...process.env,
        ...GIT_ENV,
        GIT_PROJECT_ROOT: path.join(this.root, "repos"),
        GIT_HTTP_EXPORT_ALL: "1",
        REMOTE_USER: "tests",
        REMOTE_ADDR: "127.0.0.1",
        REQUEST_METHOD: req.method ?? "GET",
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        ...(req.headers["content-length"] ? { CONTENT_LENGTH: req.headers["content-length"] } : {}),
        ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
        ...(req.headers["content-encoding"] ? { HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"]) } : {}),
      },
      stdio: ["pipe", "pipe", "inherit"],
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
        else res.setHeader(name, value);
      }
      res.statusCode = status;
      res.write(head.subarray(end + 4));
    });
    cgi.on("close", () => res.end());
    cgi.on("error", () => {
      res.statusCode = 500;
      res.end();
    });
  }
}
