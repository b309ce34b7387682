import { defineConfig } from "vitest/config";

// End-to-end: real clients (skopeo, podman, buildah, the Docker engine, containerd) and the reference
// registry against `npm start`.
// Files run one after another: they share the two CPU cores with workerd and the clients.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    globalSetup: ["./test/e2e/global-setup.ts"],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
