import { defineConfig } from "vitest/config";

// End-to-end: real clients (skopeo, podman, buildah, the Docker engine, containerd) and the reference
// registry against `npm start`.
//
// Two files run side by side: most of a file's time is waiting (a registry starting, a client
// pulling, a lease running out, a browser rendering), and on two cores the suite used about one
// core a second; side by side it took 984 s instead of 1,484 s. After them, alone (ALONE): the
// files that measure the shared registry's memory or push gigabytes, and the superuser panel's,
// which reads the registry-wide logs for the entries it caused (other files' entries crowd them
// off the page) and posts a global message every page would show.
const ALONE = ["test/e2e/big-blob.test.ts", "test/e2e/chunked-push.test.ts", "test/e2e/ui/superuser.test.ts"];

export default defineConfig({
  test: {
    globalSetup: ["./test/e2e/global-setup.ts"],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: "side by side",
          include: ["test/e2e/**/*.test.ts"],
          exclude: ALONE,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: "alone", include: ALONE, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
