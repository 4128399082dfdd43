import { Counter } from "prom-client";
import { describe, expect, it } from "vitest";
import { createLogger, startOperationsServer } from "./operations.ts";

const probeCounter = new Counter({ name: "mailledger_test_probe_total", help: "a metric a test defines" });

describe("the operations endpoint", () => {
  it("serves the default register with process metrics, /healthz, and /readyz with its reasons", async () => {
    let problems: string[] = [];
    const server = await startOperationsServer("127.0.0.1", 0, async () => problems);
    try {
      const base = `http://127.0.0.1:${server.port}`;
      probeCounter.inc(2);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/^mailledger_test_probe_total 2$/m);
      expect(metrics).toMatch(/^process_resident_memory_bytes \d+/m);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect([ready.status, await ready.text()]).toEqual([200, "ready\n"]);
      problems = ["database: connect ECONNREFUSED 127.0.0.1:1"];
      const notReady = await fetch(`${base}/readyz`);
      expect([notReady.status, await notReady.text()]).toEqual([
        503,
        "database: connect ECONNREFUSED 127.0.0.1:1\n",
      ]);
      expect((await fetch(`${base}/nothing`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe("createLogger", () => {
  it("drops lines below the configured level and writes one JSON line per entry", () => {
    const lines: string[] = [];
    const logger = createLogger("warn", { write: (line) => lines.push(line), base: { nodeId: "n1" } });
    logger.info("ignored");
    logger.warn("kept", { mailbox: "INBOX" });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith("\n")).toBe(true);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: "warn",
      message: "kept",
      mailbox: "INBOX",
      nodeId: "n1",
    });
  });

  it("takes an error or a string as the detail of a line", () => {
    const lines: string[] = [];
    const logger = createLogger("info", { write: (line) => lines.push(line) });
    (logger.warn as (message: string, detail: unknown) => void)("redis notices", new Error("ECONNREFUSED"));
    (logger.warn as (message: string, detail: unknown) => void)("while closing", "already closed %s");
    expect(lines.map((line) => JSON.parse(line))).toMatchObject([
      { message: "redis notices", error: "ECONNREFUSED" },
      { message: "while closing", detail: "already closed %s" },
    ]);
  });

  it("never writes a password, whoever passes one", () => {
    const lines: string[] = [];
    const logger = createLogger("info", { write: (line) => lines.push(line) });
    logger.info("login", { user: "alice", password: "hunter2" });
    expect(lines[0]).not.toContain("hunter2");
    expect(JSON.parse(lines[0]!)).toMatchObject({ user: "alice", password: "[redacted]" });
  });
});
