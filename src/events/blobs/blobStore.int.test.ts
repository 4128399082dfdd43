import { mkdtemp, readdir, rm, stat, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test/support/database.ts";
import { BlobNotFoundError, type BlobStore, readRangesOf, sha256Hex } from "./blobStore.ts";
import { createCachingBlobStore } from "./cachingBlobStore.ts";
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
    // The same contract through the node's in-memory cache of recent bodies.
    "cached postgres",
    () => createCachingBlobStore(createPostgresBlobStore(db.pool), { maxBytes: 1024 * 1024 }),
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
  let uid = backend === "postgres" ? 1 : backend === "filesystem" ? 1000 : 2000;

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

  it("reads ranges of several bodies in one batch, in the order asked, null for an absent body", async () => {
    const store = makeStore();
    const first = await store.put(Buffer.from(`From: a\r\n\r\nfirst ${backend}`));
    const second = await store.put(Buffer.from(`From: b\r\n\r\nsecond ${backend}`));
    const absent = sha256Hex(Buffer.from(`never stored ${backend}`));
    const read = await readRangesOf(store, [
      { digest: second.digest, start: 11, end: 17 },
      { digest: absent, start: 0, end: 4 },
      { digest: first.digest, start: 0, end: 7 },
      { digest: first.digest, start: 11, end: 1000 },
    ]);
    expect(read.map((buffer) => buffer?.toString() ?? null)).toEqual([
      "second",
      null,
      "From: a",
      `first ${backend}`,
    ]);
  });

  it("stores the same body once", async () => {
    const store = makeStore();
    const body = Buffer.from(`same body ${backend}`);
    const [a, b] = await Promise.all([store.put(body), store.put(body)]);
    expect(a).toEqual(b);
    if (backend !== "filesystem") {
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

describe("the cache of recent bodies", () => {
  const removeBehindItsBack = (digest: string) =>
    db.pool.query(sql.unsafe`DELETE FROM blobs WHERE digest = ${digest}`);

  it("serves the bodies it stored or read from memory, whole or in ranges, and not larger ones", async () => {
    const store = createCachingBlobStore(createPostgresBlobStore(db.pool), {
      maxBytes: 10_000,
      maxBlobBytes: 4_000,
    });
    const small = Buffer.from("Subject: cached\r\n\r\nkept in memory");
    const large = Buffer.alloc(5_000, "x");
    const [smallStored, largeStored] = [await store.put(small), await store.put(large)];
    await removeBehindItsBack(smallStored.digest);
    await removeBehindItsBack(largeStored.digest);
    expect(await text(store.read(smallStored.digest))).toBe(small.toString());
    expect(await text(store.read(smallStored.digest, { start: 9, end: 15 }))).toBe("cached");
    expect(await store.size(smallStored.digest)).toBe(small.length);
    // Too large to keep: the store answers, and it no longer has it.
    await expect(text(store.read(largeStored.digest))).rejects.toBeInstanceOf(BlobNotFoundError);
    // `has` asks the store, the authority on what exists.
    expect(await store.has(smallStored.digest)).toBe(false);

    // A whole body read from the store is kept too.
    const other = createPostgresBlobStore(db.pool);
    const read = Buffer.from("Subject: read once\r\n\r\nthen from memory");
    const readStored = await other.put(read);
    expect(await text(store.read(readStored.digest))).toBe(read.toString());
    await removeBehindItsBack(readStored.digest);
    expect(await text(store.read(readStored.digest))).toBe(read.toString());
  });

  it("forgets the least recently used bodies past its size, and what is deleted through it", async () => {
    const store = createCachingBlobStore(createPostgresBlobStore(db.pool), { maxBytes: 3_000 });
    const bodies = [0, 1, 2, 3].map((i) => Buffer.alloc(1_000, String(i)));
    const digests: string[] = [];
    for (const body of bodies.slice(0, 3)) digests.push((await store.put(body)).digest);
    await text(store.read(digests[0]!)); // 0 is now the most recently used
    digests.push((await store.put(bodies[3]!)).digest); // over 3,000 bytes: 1 goes
    for (const digest of digests) await removeBehindItsBack(digest);
    expect(await text(store.read(digests[0]!))).toBe(bodies[0]!.toString());
    await expect(text(store.read(digests[1]!))).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await text(store.read(digests[2]!))).toBe(bodies[2]!.toString());

    const kept = Buffer.from("Subject: deleted\r\n\r\nthrough the cache");
    const stored = await store.put(kept);
    expect(await store.delete(stored.digest)).toBe(true);
    await expect(text(store.read(stored.digest))).rejects.toBeInstanceOf(BlobNotFoundError);
  });
});
