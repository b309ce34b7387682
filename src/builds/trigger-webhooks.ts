/**
 * Who may fire a trigger's webhook (Quay's endpoints/webhooks.py `build_trigger_webhook`): a
 * custom git trigger's caller presents Basic `$token:<secret>` (the credentials of the webhook URL
 * its View Credentials shows); GitHub signs the raw body with the trigger's secret
 * (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`, GitHub's "Validating webhook deliveries").
 * Both are checked in constant time, before the body is parsed.
 */
import type { BuildTrigger } from "../db/schema";
import { sameSecret } from "../lib/constant-time";
import { webhookSecret } from "./triggers";

type SecretEnv = { WHARF_SECRET_KEY?: string };

const utf8 = new TextEncoder();

/** The `user:password` of a Basic Authorization header, or null. */
function basicCredentials(authorization: string | undefined): { user: string; password: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? "");
  if (!match) return null;
  let decoded: string;
  try {
    decoded = atob(match[1]!);
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Whether `authorization` is Basic `$token:<the trigger's secret>`. */
export async function customWebhookAuthorized(
  env: SecretEnv,
  trigger: BuildTrigger,
  authorization: string | undefined,
): Promise<boolean> {
  const presented = basicCredentials(authorization);
  const secret = await webhookSecret(env, trigger);
  if (!presented || secret === null) return false;
  // Hashed first (sameSecret): equal lengths, so the comparison's time tells nothing of the secret's.
  const same = await sameSecret(presented.password, secret);
  return same && presented.user === "$token";
}

/** Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under the trigger's secret. */
export async function githubSignatureValid(
  env: SecretEnv,
  trigger: BuildTrigger,
  signature: string | undefined,
  body: Uint8Array,
): Promise<boolean> {
  const match = /^sha256=([0-9a-f]{64})$/i.exec(signature?.trim() ?? "");
  const secret = await webhookSecret(env, trigger);
  if (!match || secret === null) return false;
  const mac = new Uint8Array(32);
  for (let i = 0; i < 32; i++) mac[i] = Number.parseInt(match[1]!.slice(i * 2, i * 2 + 2), 16);
  const key = await crypto.subtle.importKey("raw", utf8.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "verify",
  ]);
  // WebCrypto's verify compares in constant time.
  return crypto.subtle.verify("HMAC", key, mac, body);
}
