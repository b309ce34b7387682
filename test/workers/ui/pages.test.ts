/**
 * The Pages deployment (`npm run deploy:ui`): the Function passes a request to the registry Worker
 * through the service binding as it came and returns the answer untouched, and the generated
 * `_routes.json` and `_headers` say what the Worker's own sources say (its surfaces, the UI's
 * security headers).
 */
import { describe, expect, it } from "vitest";
import { onRequest } from "../../../ui/pages/functions/[[path]]";
import { headersFile, routesJson } from "../../../ui/pages/pages-files";
import pagesToml from "../../../ui/pages/wrangler.toml?raw";
import workerToml from "../../../wrangler.toml?raw";
import { surfaceOf, WORKER_PATHS, WORKER_PREFIXES } from "../../../src/routes/surfaces";
import { UI_CONTENT_SECURITY_POLICY, uiSecurityHeaders } from "../../../src/routes/ui-pages";

const utf8 = new TextEncoder();

/** Calls the Pages Function as Pages would, with `binding` as REGISTRY. */
function callFunction(request: Request, binding: { fetch: (r: Request) => Promise<Response> }) {
  const context = { request, env: { REGISTRY: binding as unknown as Fetcher } };
  return onRequest(context as unknown as Parameters<typeof onRequest>[0]);
}

describe("the Pages Function", () => {
  it("forwards method, path, query, headers and a streamed body to the registry, and returns its answer untouched", async () => {
    // The second chunk is only sent once the Worker has read the first: a proxy that buffered the
    // body before forwarding it would wait forever.
    let firstRead!: () => void;
    const firstWasRead = new Promise<void>((resolve) => (firstRead = resolve));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === 0) controller.enqueue(utf8.encode("first chunk;"));
        else if (sent === 1) {
          await firstWasRead;
          controller.enqueue(utf8.encode("second chunk"));
        } else controller.close();
        sent++;
      },
    });
    const request = new Request("https://wharf-ui.pages.dev/v2/acme/app/blobs/uploads/u1?digest=sha256%3Aab&n=2", {
      method: "PUT",
      headers: { Authorization: "Bearer t0k", Cookie: "_session=abc", "Content-Type": "application/octet-stream" },
      body,
      duplex: "half",
    } as RequestInit);
    const answer = new Response("created", {
      status: 201,
      headers: [
        ["Set-Cookie", "_session=new; Path=/; HttpOnly; Secure"],
        ["Set-Cookie", "other=1; Path=/"],
        ["Location", "/v2/acme/app/blobs/sha256:ab"],
        ["Docker-Content-Digest", "sha256:ab"],
      ],
    });
    const seen: { method: string; url: string; headers: [string, string][]; body: string }[] = [];
    const response = await callFunction(request, {
      async fetch(forwarded) {
        const reader = forwarded.body!.getReader();
        const decoder = new TextDecoder();
        let text = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          text += decoder.decode(value, { stream: true });
          firstRead();
        }
        seen.push({ method: forwarded.method, url: forwarded.url, headers: [...forwarded.headers], body: text });
        return answer;
      },
    });
    expect(seen).toEqual([
      {
        method: "PUT",
        url: "https://wharf-ui.pages.dev/v2/acme/app/blobs/uploads/u1?digest=sha256%3Aab&n=2",
        headers: expect.arrayContaining([
          ["authorization", "Bearer t0k"],
          ["cookie", "_session=abc"],
          ["content-type", "application/octet-stream"],
        ]),
        body: "first chunk;second chunk",
      },
    ]);
    expect(response).toBe(answer);
    expect(response.status).toBe(201);
    expect(response.headers.getSetCookie()).toEqual(["_session=new; Path=/; HttpOnly; Secure", "other=1; Path=/"]);
    expect(await response.text()).toBe("created");
  });

  it("passes a redirect on as a redirect, not followed", async () => {
    const redirect = new Response(null, { status: 302, headers: { Location: "https://client.example/cb?code=x" } });
    const response = await callFunction(new Request("https://wharf-ui.pages.dev/oauth/authorize?client_id=c"), {
      fetch: async (r) => {
        expect(new URL(r.url).pathname).toBe("/oauth/authorize");
        return redirect;
      },
    });
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe("https://client.example/cb?code=x");
  });
});

describe("the Pages project's generated files", () => {
  it("_routes.json sends exactly the Worker's surfaces to the Function", () => {
    const { version, include, exclude } = routesJson();
    expect(version).toBe(1);
    expect(exclude).toEqual([]);
    for (const prefix of WORKER_PREFIXES) expect(include).toEqual(expect.arrayContaining([prefix, `${prefix}/*`]));
    for (const path of WORKER_PATHS) expect(include).toContain(path);
    expect(include).toHaveLength(WORKER_PREFIXES.length * 2 + WORKER_PATHS.length);
    // Each rule is a Worker path, never one of the UI's.
    for (const rule of include) expect(surfaceOf(rule.replace(/\/\*$/, "/x")), rule).not.toBeNull();
    for (const uiPath of ["/", "/signin", "/repository", "/assets/index.js", "/organization/x"]) {
      expect(surfaceOf(uiPath)).toBeNull();
    }
    // The list, by name.
    expect(include).toEqual(expect.arrayContaining(["/api/*", "/v2/*", "/oauth/*", "/oauth2/*", "/csrf_token"]));
  });

  it("_headers gives every static file the UI's security headers, HSTS included", () => {
    const lines = headersFile().split("\n");
    const all = lines.indexOf("/*");
    const next = lines.findIndex((line, i) => i > all && /^\S/.test(line));
    const headers = Object.fromEntries(
      lines.slice(all + 1, next).map((line) => {
        const colon = line.indexOf(":");
        return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
      }),
    );
    expect(headers).toEqual(uiSecurityHeaders("https://wharf-ui.pages.dev"));
    expect(headers["Content-Security-Policy"]).toBe(UI_CONTENT_SECURITY_POLICY);
    expect(headers["Strict-Transport-Security"]).toMatch(/^max-age=\d+/);
    expect(headers["Content-Security-Policy"]).not.toContain("unsafe-inline");
  });

  it("binds the Pages project to this Worker by its name", () => {
    const workerName = workerToml.match(/^name = "([^"]+)"/m)?.[1];
    expect(workerName).toBeTruthy();
    expect(pagesToml).toMatch(/\[\[services\]\]\s*\nbinding = "REGISTRY"\s*\nservice = "([^"]+)"/);
    expect(pagesToml.match(/service = "([^"]+)"/)?.[1]).toBe(workerName);
    expect(pagesToml).toMatch(/^pages_build_output_dir = "\.\.\/\.\.\/dist\/pages"$/m);
  });
});
