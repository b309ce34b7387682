/** One registry for the whole end-to-end run, started as `npm start` starts it. */
import type { TestProject } from "vitest/node";
import { startWharf } from "./helpers/server";

declare module "vitest" {
  export interface ProvidedContext {
    wharfUrl: string;
    wharfPid: number;
  }
}

export default async function setup(project: TestProject) {
  const server = await startWharf();
  project.provide("wharfUrl", server.url);
  project.provide("wharfPid", server.pid);
  return () => server.stop();
}
