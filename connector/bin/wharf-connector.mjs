#!/usr/bin/env node
// The connector is TypeScript run through tsx (a development dependency of the repository this
// package lives in), so the same sources run from `npm run connector` and from this bin.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
