/** One registry for the whole end-to-end run, started as `npm start` starts it. */
import type { TestProject } from "vitest/node";
import { startWharf } from "./helpers/server";

declare module "vitest" {
  export interface ProvidedContext {
    wharfUrl: string;
    wharfPid: number;
    wharfStateDir: string;
  }
}

/** Namespaces several test files push to: their owners are made once, before the files race. */
const SHARED_NAMESPACES = ["e2e", "big"];

export default async function setup(project: TestProject) {
  const server = await startWharf();
  for (const namespace of SHARED_NAMESPACES) await server.credentialsFor(namespace);
  project.provide("wharfUrl", server.url);
  project.provide("wharfPid", server.pid);
  project.provide("wharfStateDir", server.stateDir);
  return () => server.stop();
}
