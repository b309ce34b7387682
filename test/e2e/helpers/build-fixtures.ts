/**
 * Quay-shaped answers for the issue #18 screens (endpoints/api/build.py `build_status_view`,
 * trigger.py `trigger_view`, secscan.py's security information, Wharf's connector API in
 * docs/connector.md), served to the browser with playwright's `page.route` by
 * test/e2e/ui/builds-screens.test.ts, so the screens are driven without a builder or Clair. Every
 * request the screens send is recorded for the test to assert.
 */
import type { Page, Request, Route } from "playwright-core";

export interface Recorded {
  method: string;
  path: string;
  search: URLSearchParams;
  body: any;
  headers: Record<string, string>;
}

type Handler = (req: Recorded, request: Request) => { status?: number; json?: unknown } | undefined;

/** Routes `/api/v1…` calls matching `handlers` (first that answers); the rest go to the real registry. */
export async function routeApi(page: Page, handlers: Handler[], delayMs = 0): Promise<Recorded[]> {
  const seen: Recorded[] = [];
  await page.route(
    (url) => url.pathname.startsWith("/api/v1/"),
    async (route: Route, request: Request) => {
      const url = new URL(request.url());
      let body: any = null;
      const raw = request.postData();
      if (raw) {
        try {
          body = JSON.parse(raw);
        } catch {
          body = raw;
        }
      }
      const rec: Recorded = {
        method: request.method(),
        path: url.pathname.slice("/api/v1".length),
        search: url.searchParams,
        body,
        headers: request.headers(),
      };
      for (const handle of handlers) {
        const answer = handle(rec, request);
        if (answer) {
          seen.push(rec);
          if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
          return route.fulfill({
            status: answer.status ?? 200,
            contentType: "application/json",
            body: answer.json === undefined ? "" : JSON.stringify(answer.json),
          });
        }
      }
      return route.fallback();
    },
  );
  return seen;
}

/** `/config` as the registry answers it, with these features turned on. */
export async function withFeatures(page: Page, features: Record<string, boolean>): Promise<void> {
  await page.route(
    (url) => url.pathname === "/config",
    async (route) => {
      const res = await route.fetch();
      const config = (await res.json()) as { features: Record<string, boolean> };
      config.features = { ...config.features, ...features };
      await route.fulfill({ response: res, json: config });
    },
  );
}

const date = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toUTCString();

export function buildView(repository: string, id: string, fields: Record<string, unknown> = {}) {
  const [namespace, name] = repository.split("/");
  return {
    id,
    phase: "complete",
    started: date(30),
    display_name: id.slice(0, 7),
    status: {},
    subdirectory: "/Dockerfile",
    dockerfile_path: "/Dockerfile",
    context: "/",
    tags: ["latest"],
    manual_user: null,
    is_writer: true,
    trigger: null,
    trigger_metadata: null,
    resource_key: null,
    pull_robot: null,
    repository: { namespace, name },
    error: null,
    ...fields,
  };
}

export function customGitTrigger(id: string, fields: Record<string, unknown> = {}) {
  return {
    id,
    service: "custom-git",
    is_active: true,
    build_source: "git@git.example.com:team/app.git",
    repository_url: null,
    config: {
      build_source: "git@git.example.com:team/app.git",
      dockerfile_path: "/Dockerfile",
      context: "/",
      branchtag_regex: "heads/main",
      default_tag_from_ref: true,
      latest_for_default_branch: true,
      tag_templates: [`\${commit_info.short_sha}`],
      credentials: [
        { name: "SSH Public Key", value: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey wharf-trigger" },
        {
          name: "Webhook Endpoint URL",
          value: `https://$token:secret${id.slice(0, 4)}@registry.example/webhooks/push/trigger/${id}`,
        },
      ],
    },
    can_invoke: true,
    enabled: true,
    disabled_reason: null,
    ...fields,
  };
}

export const TRIGGERED_METADATA = {
  commit: "3d7f5e2b9c1a40f6b8e2d4c6a8f0b2d4e6f8a0c2",
  ref: "refs/heads/main",
  default_branch: "main",
  commit_info: {
    url: "https://git.example.com/team/app/commit/3d7f5e2b9c1a40f6b8e2d4c6a8f0b2d4e6f8a0c2",
    message: "Bump the base image",
    author: { username: "dev" },
  },
};

/** A scanned manifest's security information with `vulnerabilities=true` (Clair v4 through Quay). */
export function scannedReport(digest: string) {
  return {
    status: "scanned",
    data: {
      Layer: {
        Name: digest,
        ParentName: "",
        NamespaceName: "",
        IndexedByVersion: 4,
        Features: [
          {
            Name: "openssl",
            VersionFormat: "",
            NamespaceName: "alpine:v3.18",
            AddedBy: "sha256:1111111111111111111111111111111111111111111111111111111111111111",
            Version: "3.1.0-r1",
            Vulnerabilities: [
              {
                Severity: "Critical",
                NamespaceName: "alpine:v3.18",
                Link: "https://security.example/CVE-2024-0001 https://nvd.example/CVE-2024-0001",
                FixedBy: "3.1.4-r0",
                Description: "A buffer overflow in the TLS handshake.",
                Name: "CVE-2024-0001",
                Metadata: null,
              },
              {
                Severity: "High",
                NamespaceName: "alpine:v3.18",
                Link: "javascript:alert(document.domain)",
                FixedBy: "",
                Description: "A link that must never become clickable.",
                Name: "CVE-2024-0002",
                Metadata: null,
              },
            ],
          },
          {
            Name: "busybox",
            VersionFormat: "",
            NamespaceName: "alpine:v3.18",
            AddedBy: "sha256:1111111111111111111111111111111111111111111111111111111111111111",
            Version: "1.36.1-r0",
            Vulnerabilities: [
              {
                Severity: "Medium",
                NamespaceName: "alpine:v3.18",
                Link: "https://security.example/CVE-2024-0003",
                FixedBy: "1.36.1-r2",
                Name: "CVE-2024-0003",
              },
            ],
          },
          { Name: "musl", Version: "1.2.4-r0", AddedBy: "sha256:2222", Vulnerabilities: [] },
        ],
      },
    },
  };
}

/** A Quay tag row (`GET …/tag/`). */
export function tagRow(name: string, digest: string, minutesAgo = 5) {
  return {
    name,
    reversion: false,
    start_ts: Math.floor(Date.now() / 1000) - minutesAgo * 60,
    manifest_digest: digest,
    is_manifest_list: false,
    size: 2_345_678,
    last_modified: date(minutesAgo),
  };
}

export const digestOf = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
