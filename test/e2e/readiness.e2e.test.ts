// /readyz follows the database: a gateway process against a PostgreSQL server of the test's own
// (initdb + pg_ctl in a temporary directory; the shared server must stay up for other tests)
// answers 200, then 503 naming the database once that server is stopped, then 200 once it is back.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DedicatedService, startDedicatedPostgres } from "../support/dedicatedServices.ts";
import { freePort } from "../support/freePort.ts";
import { TEST_KAFKA_BROKERS, TEST_REDIS_URL } from "../support/services.ts";

const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));
const run = promisify(execFile);

let postgres: DedicatedService;
let gateway: ChildProcess;
let metricsPort: number;
let output = "";

async function readyz(): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
  return { status: response.status, body: await response.text() };
}

/** Polls /readyz until it answers `status`; what it answered then. */
async function until(status: number, timeoutMs: number): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await readyz();
    if (answer.status === status) return answer;
    if (Date.now() > deadline)
      throw new Error(
        `/readyz still answers ${answer.status} ${answer.body}; server log:\n${output.slice(-3000)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  postgres = await startDedicatedPostgres();
  metricsPort = await freePort();
  const env = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    DATABASE_URL: postgres.url,
    KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(","),
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: `mailledger:test:${ulid().toLowerCase()}`,
    IMAP_PORT: String(await freePort()),
    METRICS_PORT: String(metricsPort),
    ALLOW_INSECURE_AUTH: "true",
  };
  await run(process.execPath, [MAIN, "migrate"], { env });
  gateway = spawn(process.execPath, [MAIN, "serve", "--role", "gateway"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  gateway.stderr!.on("data", (chunk) => (output += chunk));
  const deadline = Date.now() + 60_000;
  while (!output.includes("mailledger: serving (")) {
    if (Date.now() > deadline || gateway.exitCode !== null)
      throw new Error(`gateway did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 120_000);

afterAll(async () => {
  if (gateway && gateway.exitCode === null) {
    gateway.kill("SIGKILL");
  }
  await postgres?.close();
});

describe("/readyz", () => {
  it("answers 503 naming the database while PostgreSQL is stopped, and 200 once it is back", async () => {
    expect(await until(200, 10_000)).toEqual({ status: 200, body: "ready\n" });
    expect((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status).toBe(200);

    await postgres.stop();
    const down = await until(503, 10_000);
    expect(down.body).toMatch(/^database: /);
    // Alive all the same: an orchestrator must not restart a node for its database's outage.
    expect((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status).toBe(200);

    await postgres.start();
    expect(await until(200, 30_000)).toEqual({ status: 200, body: "ready\n" });

    const exited = new Promise<number | null>((resolve) => gateway.once("exit", (code) => resolve(code)));
    gateway.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
