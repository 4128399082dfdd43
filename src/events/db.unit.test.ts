import { describe, expect, it } from "vitest";
import { createAutoPrepareInterceptor, postgresErrorCode } from "./db.ts";

type Query = { sql: string; values: readonly unknown[]; name?: string };

function transformer() {
  const interceptor = createAutoPrepareInterceptor();
  return (query: Query): Query =>
    interceptor.transformQuery!({} as never, query as never) as unknown as Query;
}

describe("auto-prepared statements", () => {
  it("names a statement text from its third use on, the same name every time", () => {
    const transform = transformer();
    const query = { sql: "SELECT $1::int8", values: [1] };
    expect(transform(query).name).toBeUndefined();
    expect(transform(query).name).toBeUndefined();
    const named = transform(query);
    expect(named.name).toMatch(/^mailledger_auto_[0-9a-f]{24}$/);
    expect(named.sql).toBe(query.sql);
    expect(named.values).toEqual([1]);
    expect(transform({ sql: query.sql, values: [2] }).name).toBe(named.name);
    // Another text gets a name of its own.
    const other = { sql: "SELECT $1::text", values: ["x"] };
    for (let i = 0; i < 2; i++) transform(other);
    const otherName = transform(other).name;
    expect(otherName).toBeDefined();
    expect(otherName).not.toBe(named.name);
  });

  it("leaves explicitly named statements alone", () => {
    const transform = transformer();
    const query = { sql: "SELECT 1", values: [], name: "mine" };
    for (let i = 0; i < 5; i++) expect(transform(query).name).toBe("mine");
  });

  it("prepares a bounded number of texts; the rest run unnamed", () => {
    const transform = transformer();
    const names = new Set<string>();
    for (let n = 0; n < 1_000; n++) {
      const query = { sql: `SELECT ${n}`, values: [] };
      for (let i = 0; i < 3; i++) {
        const name = transform(query).name;
        if (name) names.add(name);
      }
    }
    expect(names.size).toBe(256);
    expect(transform({ sql: "SELECT 5", values: [] }).name).toBeDefined();
    expect(transform({ sql: "SELECT 999", values: [] }).name).toBeUndefined();
  });
});

describe("postgresErrorCode", () => {
  it("finds the SQLSTATE along the causes, past codes that are not one", () => {
    const deadlock = Object.assign(new Error("deadlock detected"), { code: "40P01" });
    expect(postgresErrorCode(new Error("wrapped", { cause: deadlock }))).toBe("40P01");
    const reset = Object.assign(new Error("socket"), {
      code: "ECONNRESET",
      cause: Object.assign(new Error("serialization"), { code: "40001" }),
    });
    expect(postgresErrorCode(reset)).toBe("40001");
    expect(postgresErrorCode(new Error("plain"))).toBeUndefined();
    expect(postgresErrorCode(undefined)).toBeUndefined();
  });
});
