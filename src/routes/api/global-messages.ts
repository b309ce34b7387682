/**
 * /api/v1/messages and /api/v1/message/{uuid}: Quay's global messages
 * (`endpoints/api/globalmessages.py`). Reading needs no credential at all, as in Quay; posting and
 * deleting need a superuser's super:user token (src/registry/global-messages.ts).
 */
import { Hono } from "hono";
import { z } from "zod";
import { requireSuperuser } from "../../middleware/api-caller";
import { documented } from "./openapi";
import { jsonBody, parseOrInvalid } from "./validate";
import type { AppEnv } from "../app-env";
import {
  createGlobalMessage,
  deleteGlobalMessage,
  globalMessageView,
  listGlobalMessages,
  MESSAGE_MEDIA_TYPES,
  MESSAGE_SEVERITIES,
} from "../../registry/global-messages";

export const globalMessageRoutes = new Hono<AppEnv>();

documented("GET", "/messages", {
  operationId: "getGlobalMessages",
  summary: "The messages superusers posted for every user.",
  scope: null,
});
globalMessageRoutes.get("/messages", async (c) => {
  const messages = await listGlobalMessages(c.var.db);
  return c.json({ messages: messages.map(globalMessageView) });
});

/** Quay's CreateMessage: `message` with its three fields, each required, the two enums as Quay's. */
const createBody = z.object({
  message: z.object({
    content: z.string().min(1, "content is required").max(65_536),
    media_type: z.enum(MESSAGE_MEDIA_TYPES),
    severity: z.enum(MESSAGE_SEVERITIES),
  }),
});

documented("POST", "/messages", {
  operationId: "createGlobalMessage",
  summary: "Posts a message for every user.",
  scope: "super:user",
  body: createBody,
  status: 201,
});
/** Quay answers 201 with an empty body. */
globalMessageRoutes.post("/messages", requireSuperuser(), async (c) => {
  const { message } = await jsonBody(c, createBody);
  await createGlobalMessage(c.var.db, {
    content: message.content,
    mediaType: message.media_type,
    severity: message.severity,
  });
  return c.body(null, 201);
});

documented("DELETE", "/message/:uuid", {
  operationId: "deleteGlobalMessage",
  summary: "Deletes a message.",
  scope: "super:user",
  status: 204,
});
/** 204 whether or not the message existed, as Quay's `deleteGlobalMessage`. */
globalMessageRoutes.delete("/message/:uuid", requireSuperuser(), async (c) => {
  const uuid = parseOrInvalid(z.string().max(64), c.req.param("uuid"));
  await deleteGlobalMessage(c.var.db, uuid);
  return c.body(null, 204);
});
