/** /api/v1 calls from end-to-end tests, as a Quay script makes them with an OAuth token. */

/** Calls `method pathname` (under /api/v1) with `token`; throws on an error status, returns the JSON (or null). */
export async function apiCall(
  base: string,
  token: string,
  method: string,
  pathname: string,
  body?: unknown,
): Promise<any> {
  const res = await fetch(`${base}/api/v1${pathname}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${pathname}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
