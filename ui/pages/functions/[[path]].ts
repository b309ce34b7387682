/** Every path `_routes.json` gives the Functions: to the registry Worker (../proxy.ts). */
import { forwardToRegistry, type RegistryBinding } from "../proxy";

export const onRequest: PagesFunction<RegistryBinding> = (context) => forwardToRegistry(context.request, context.env);
