import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // llama.cpp and the in-process chain are both CPU-heavy; this machine has 2 cores.
    fileParallelism: false,
    pool: "forks",
  },
});
