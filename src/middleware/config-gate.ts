/**
 * A Worker whose [vars] do not validate (src/config.ts) cannot serve anything right: rather than
 * a 500 from whichever route first reads the configuration, every request is answered 503 in its
 * surface's error shape, naming each bad key and its value (the configuration holds no secrets:
 * those are src/config.ts SECRET_KEYS, never validated into a message), and the problem is logged
 * once per configuration. `npm start` and `npm run check-config` refuse such a configuration
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
      const message = `Wharf's configuration is invalid: ${err.issues.map((issue) => describeIssue(issue)).join("; ")}`;
      if (!logged.has(c.env)) {
        logged.add(c.env);
        console.error(JSON.stringify({ msg: "invalid configuration", keys: err.issues.map((i) => i.key), message }));
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
