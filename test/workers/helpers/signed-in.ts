/**
 * People as the account tests need them: a user with a known password and a token, a signed-in
 * browser (cookie and CSRF token), and a registry login with a password.
 */
import { basic, makeUser, tokenFor } from "./accounts";
import { api } from "./api";
import { request } from "./registry";

/** The `name=value` of a response's session cookie. */
export const cookieOf = (res: { headers: Headers }) => res.headers.get("Set-Cookie")!.split(";")[0]!;

/** GET /v2/auth with Basic credentials, as `docker login` sends them. */
export const v2Login = (user: string, password: string) =>
  request("GET", "/v2/auth?scope=repository:admin/app:pull", {
    token: null,
    headers: { Authorization: basic(user, password) },
  });

/**
 * Makes users through the superuser API of `adminToken`: each with a known password and an OAuth
 * token of every scope but super:user.
 */
export function personMaker(adminToken: string) {
  return async (username: string, password = `${username}-password-1`) => {
    await makeUser(adminToken, username);
    await api("PUT", `/superuser/users/${username}`, { token: adminToken, body: { password } });
    return { token: await tokenFor(username), password };
  };
}

/**
 * A signed-in browser of `username`: its cookie and CSRF token, as headers, from an address of its
 * own (a test that moves the clock leaves the login limits of its address in the future).
 */
export async function browser(username: string, password: string): Promise<Record<string, string>> {
  const address = { "CF-Connecting-IP": `203.0.113.${Math.floor(Math.random() * 250) + 1}` };
  const signin = await api("POST", "/signin", { body: { username, password }, headers: address });
  const cookie = cookieOf(signin);
  const csrf = await request("GET", "/csrf_token", { headers: { Cookie: cookie } });
  return { ...address, Cookie: cookie, "X-CSRF-Token": ((await csrf.json()) as { csrf_token: string }).csrf_token };
}
