/** Helpers for /api/v1 route tests: JSON calls through the whole Worker, and Quay's error shape. */
import { expect } from "vitest";
import { request } from "./registry";

export async function api(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const res = await request(method, `/api/v1${path}`, {
    headers,
    body:
      options.body === undefined
        ? undefined
        : typeof options.body === "string"
          ? options.body
          : JSON.stringify(options.body),
  });
  return answerOf(res);
}

/** An API answer: its status, its body as JSON (the text when it is not JSON, null when empty), its headers. */
export async function answerOf(res: Response): Promise<{ status: number; json: any; headers: Headers }> {
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

/** Asserts Quay's error JSON: status, error_type, and (if given) the message. */
export function expectQuayError(
  answer: { status: number; json: any },
  status: number,
  errorType: string,
  message?: string | RegExp,
) {
  expect(answer.status).toBe(status);
  expect(answer.json).toMatchObject({
    status,
    error_type: errorType,
    title: errorType,
    type: `http://registry.test/api/v1/error/${errorType}`,
  });
  expect(answer.json.error_message).toBe(answer.json.detail);
  if (message !== undefined) expect(answer.json.error_message).toMatch(message);
}

/** Creates the first superuser `admin` (SUPER_USERS in wrangler.toml) and returns its all-scopes token. */
export async function initializeAdmin(password = "admin-password-1"): Promise<string> {
  const res = await api("POST", "/user/initialize", {
    body: { username: "admin", password, email: "admin@example.com", access_token: true },
  });
  if (res.status !== 200) throw new Error(`initialize: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json.access_token as string;
}

/** A step of a test's setup: the call as `token`, which must succeed (else the setup stops, saying why). */
export async function fixtureCall(token: string, method: string, path: string, body?: unknown) {
  const res = await api(method, path, { token, body });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`);
  return res;
}

/** Creates the private repository `namespace/repository`, without a description, with `token`; throws on a refusal. */
export function createPrivateRepository(token: string, namespace: string, repository: string) {
  return fixtureCall(token, "POST", "/repository", { namespace, repository, visibility: "private", description: "" });
}

/** Quay's avatar object of `name` (avatars/avatars.py `get_data`), for `toEqual`. */
export const avatarMatching = (name: string, kind: string) => ({
  name,
  kind,
  hash: expect.stringMatching(/^[0-9a-f]{64}$/),
  color: expect.stringMatching(/^#[0-9a-f]{6}$/),
});
