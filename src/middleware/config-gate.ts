/**
 * A Worker whose [vars] do not validate (src/config.ts) cannot serve anything right: rather than
 * a 500 from whichever route first reads the configuration, every request is answered 503 in its
 * surface's error shape naming each bad key, and the problem (keys, values, what is wrong) is
 * logged once per configuration. The answer goes to anyone, so it names the keys alone: a value
 * can say what an attacker should not learn (an ALLOW_PRIVATE_OUTBOUND range, a sink's host);
 * the operator reads the rest in the log or from `npm run check-config`. `npm start` and `npm run check-config` refuse such a configuration
 * before it is ever served; this covers a deploy that bypassed them.
 */
import type { MiddlewareHandler } from "hono";
import { ConfigError, describeIssue, readConfig } from "../config";
import type { AppEnv } from "../routes/app-env";
import { ApiError } from "../routes/api/errors";
import { plainError, surfaceOf } from "../routes/surfaces";
import { RegistryError } from "../routes/v2/errors";

const logged = new WeakSet<object>();

export function refuseInvalidConfiguration(): MiddlewareHandler<AppEnv> {
  return async function configuration(c, next) {
    try {
      readConfig(c.env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const keys = [...new Set(err.issues.map((issue) => issue.key))];
      const message = `Wharf's configuration is invalid: ${keys.join(", ")} (the Worker's log and npm run check-config say why)`;
      if (!logged.has(c.env)) {
        logged.add(c.env);
        const detail = `Wharf's configuration is invalid: ${err.issues.map((issue) => describeIssue(issue)).join("; ")}`;
        console.error(JSON.stringify({ msg: "invalid configuration", keys, message: detail }));
      }
      switch (surfaceOf(c.req.path)) {
        case "registry":
          return new RegistryError("UNAVAILABLE", undefined, { message }).toResponse(c.req.method);
        case "api":
          // No origin yet (SERVER_HOSTNAME is configuration too): the error type is a relative URL.
          return new ApiError("service_unavailable", message).toResponse("");
        default:
          return plainError(503, message);
      }
    }
    return next();
  };
}
