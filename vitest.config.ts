import { defineConfig } from "vitest/config";

// Test tiers by file suffix (STYLE.md): unit = pure and fast; int = real PostgreSQL/Kafka/Redis;
// e2e = the server over TCP with real IMAP clients.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.unit.test.ts", "test/**/*.unit.test.ts"],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "int",
          include: ["src/**/*.int.test.ts", "test/**/*.int.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          globalSetup: ["test/support/requireServices.ts"],
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["src/**/*.e2e.test.ts", "test/**/*.e2e.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          globalSetup: ["test/support/requireServices.ts"],
          maxWorkers: 2,
        },
      },
    ],
  },
});
