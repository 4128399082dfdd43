import { mkdtemp, readdir, rm, stat, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test/support/database.ts";
import { BlobNotFoundError, type BlobStore, sha256Hex } from "./blobStore.ts";
import { collectGarbage } from "./collectGarbage.ts";
import { createFsBlobStore } from "./fsBlobStore.ts";
import { createPostgresBlobStore, POSTGRES_BLOB_READ_CHUNK } from "./postgresBlobStore.ts";

let db: TestDatabase;
let fsDir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  fsDir = await mkdtemp(path.join(tmpdir(), "mailledger-blobs-"));
  // One message row to refer to blobs from, as the write model does.
  await db.pool.query(sql.unsafe`
    INSERT INTO users (id, username, password_hash, stream_version) VALUES ('u1', 'u', 'x', 1)`);
  await db.pool.query(sql.unsafe`
    INSERT INTO mailboxes (id, user_id, name, status, uid_validity, uid_next, highest_modseq)
    VALUES ('m1', 'u1', 'INBOX', 'selectable', 1, 1, 1)`);
});

afterAll(async () => {
  await db.drop();
  await rm(fsDir, { recursive: true, force: true });
});

async function referenceFromMessage(digest: string, uid: number) {
  await db.pool.query(sql.unsafe`
    INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_digest, header_summary)
    VALUES ('m1', ${uid}, 1, '{}', now(), 1, ${digest}, '{}')`);
}

const backends: [string, () => BlobStore, (store: BlobStore, digest: string, at: Date) => Promise<void>][] = [
  [
    "postgres",
    () => createPostgresBlobStore(db.pool),
    async (_store, digest, at) => {
      await db.pool.query(
        sql.unsafe`UPDATE blobs SET last_put_at = ${sql.timestamp(at)} WHERE digest = ${digest}`,
      );
    },
  ],
  [
    "filesystem",
    () => createFsBlobStore(fsDir),
    async (_store, digest, at) => {
      await utimes(path.join(fsDir, digest.slice(0, 2), digest.slice(2, 4), digest), at, at);
    },
  ],
];

describe.each(backends)("%s blob store", (backend, makeStore, agePut) => {
  let uid = backend === "postgres" ? 1 : 1000;

  it("stores by SHA-256, streams back, and reads ranges", async () => {
    const store = makeStore();
    const body = Buffer.from(`Subject: ${backend}\r\n\r\nhello ${backend}`);
    const stored = await store.put(body);
    expect(stored).toEqual({ digest: sha256Hex(body), size: body.length });
    expect(await store.has(stored.digest)).toBe(true);
    expect(await store.size(stored.digest)).toBe(body.length);
    expect(await text(store.read(stored.digest))).toBe(body.toString());
    expect(await text(store.read(stored.digest, { start: 9, end: 9 + backend.length }))).toBe(backend);
  });

  it("accepts a stream and reads a body larger than one chunk intact", async () => {
    const store = makeStore();
    const big = Buffer.alloc(POSTGRES_BLOB_READ_CHUNK * 2 + 123);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
    const stored = await store.put(Readable.from([big.subarray(0, 1000), big.subarray(1000)]));
    expect(stored.digest).toBe(sha256Hex(big));
    const chunks: Buffer[] = [];
    for await (const chunk of store.read(stored.digest)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(big)).toBe(true);
    const tail: Buffer[] = [];
    for await (const chunk of store.read(stored.digest, { start: big.length - 10 }))
      tail.push(chunk as Buffer);
    expect(Buffer.concat(tail).equals(big.subarray(big.length - 10))).toBe(true);
  });

  it("stores the same body once", async () => {
    const store = makeStore();
    const body = Buffer.from(`same body ${backend}`);
    const [a, b] = await Promise.all([store.put(body), store.put(body)]);
    expect(a).toEqual(b);
    if (backend === "postgres") {
      const rows = await db.pool.oneFirst(
        sql.unsafe`SELECT count(*)::int AS n FROM blobs WHERE digest = ${a.digest}`,
      );
      expect(rows).toBe(1);
    } else {
      const leaf = path.join(fsDir, a.digest.slice(0, 2), a.digest.slice(2, 4));
      expect((await readdir(leaf)).filter((name) => name === a.digest)).toHaveLength(1);
      expect(await readdir(path.join(fsDir, ".tmp"))).toEqual([]);
    }
  });

  it("reports a missing blob", async () => {
    const store = makeStore();
    const missing = "0".repeat(64);
    expect(await store.has(missing)).toBe(false);
    expect(await store.size(missing)).toBeNull();
    await expect(text(store.read(missing))).rejects.toBeInstanceOf(BlobNotFoundError);
  });

  it("never builds a path or query from something that is not a digest", async () => {
    const store = makeStore();
    await expect(store.has("../../etc/passwd")).rejects.toThrow(RangeError);
    await expect(store.delete("ABC")).rejects.toThrow(RangeError);
  });

  it("collects unreferenced blobs older than the grace period, and only those", async () => {
    const store = makeStore();
    const longAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    const referenced = await store.put(Buffer.from(`referenced ${backend}`));
    const orphan = await store.put(Buffer.from(`orphan ${backend}`));
    const fresh = await store.put(Buffer.from(`fresh orphan ${backend}`));
    const putAgain = await store.put(Buffer.from(`put again ${backend}`));
    await referenceFromMessage(referenced.digest, uid++);
    for (const blob of [referenced, orphan, putAgain]) await agePut(store, blob.digest, longAgo);
    // An APPEND storing the same body again, not yet committed: it must survive.
    await store.put(Buffer.from(`put again ${backend}`));

    const result = await collectGarbage(db.pool, store, { gracePeriodMs: 60 * 60 * 1000 });
    expect(result.deleted).toContain(orphan.digest);
    expect(await store.has(orphan.digest)).toBe(false);
    for (const kept of [referenced, fresh, putAgain]) {
      expect(result.deleted).not.toContain(kept.digest);
      expect(await store.has(kept.digest)).toBe(true);
    }
  });

  it("does not delete a blob put again after the cutoff", async () => {
    const store = makeStore();
    const blob = await store.put(Buffer.from(`conditional ${backend}`));
    expect(await store.delete(blob.digest, { ifNotPutSince: new Date(Date.now() - 60_000) })).toBe(false);
    expect(await store.delete(blob.digest)).toBe(true);
    expect(await store.has(blob.digest)).toBe(false);
    if (backend === "filesystem") await expect(stat(path.join(fsDir, ".tmp"))).resolves.toBeTruthy();
  });
});
