// The server's own secrets: random bytes made once by the first server that needs one, kept in
// the database (server_secrets) and never in the log or the topic. URLAUTH tokens (RFC 4467) are
// HMACs under one, so whoever reads the events cannot make a token.
import { randomBytes } from "node:crypto";
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";

const SECRET_BYTES = 32;
const secretRow = z.object({ value: z.instanceof(Buffer) });

/** Secrets already read, per database: a secret never changes once made. */
const known = new WeakMap<CommonQueryMethods, Map<string, Promise<Buffer>>>();

/** The secret named `name`, made if there is none yet (every server then reads the same one). */
export function serverSecret(db: CommonQueryMethods, name: string): Promise<Buffer> {
  let secrets = known.get(db);
  if (secrets === undefined) {
    secrets = new Map();
    known.set(db, secrets);
  }
  let secret = secrets.get(name);
  if (secret === undefined) {
    secret = readOrMake(db, name);
    secrets.set(name, secret);
    // A failed read is not remembered: the next caller tries again.
    secret.catch(() => secrets.delete(name));
  }
  return secret;
}

async function readOrMake(db: CommonQueryMethods, name: string): Promise<Buffer> {
  await db.query(sql.unsafe`
    INSERT INTO server_secrets (name, value) VALUES (${name}, ${sql.binary(randomBytes(SECRET_BYTES))})
    ON CONFLICT (name) DO NOTHING`);
  return db.oneFirst(sql.type(secretRow)`SELECT value FROM server_secrets WHERE name = ${name}`);
}
