/**
 * The Pages project's one piece of code: a request for one of the registry Worker's paths
 * (src/routes/surfaces.ts; `_routes.json` sends only those to the Functions) goes to the Worker
 * through the service binding REGISTRY as it came (method, URL, headers, the body as a stream),
 * and the Worker's answer comes back untouched (status, Set-Cookie, redirects, streamed bodies).
 * The UI and the API then share one origin: the session cookie and CSRF work as under `npm start`,
 * and the Worker names itself by the Pages host (its public origin comes from the request's).
 */
export interface RegistryBinding {
  REGISTRY: Fetcher;
}

export function forwardToRegistry(request: Request, env: RegistryBinding): Promise<Response> {
  return env.REGISTRY.fetch(request);
}
