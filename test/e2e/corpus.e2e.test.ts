// The corpus test of issue 6: 220 real-world-shaped messages (multipart/alternative, attachments,
// message/rfc822 inside, non-UTF-8 charsets, encoded words, malformed MIME, bare LF) APPENDed
// over TCP, then fetched back. BODY[] must be the appended bytes; BODYSTRUCTURE and ENVELOPE must
// say what mailparser and its splitter read in the same bytes; partial fetches must return the
// byte ranges computed here from the raw message. One pipelined connection keeps it fast.
import { ImapFlow } from "imapflow";
import { type AddressObject, simpleParser } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CorpusMessage, generateCorpus } from "../fixtures/mime/corpus.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { flattenWire, readBodyStructure } from "./corpus/bodyStructure.ts";
import { parseFetch, text, WireClient, type WireValue } from "./corpus/imapWire.ts";
import {
  flatten,
  lineCounts,
  type ReferencePart,
  referenceTree,
  splitAtBlankLine,
} from "./corpus/reference.ts";

const MAILBOX = "Corpus";
const corpus = generateCorpus(220);

interface Fetched {
  message: CorpusMessage;
  seq: number;
  uid: number;
  items: Map<string, WireValue>;
}

let server: TestMailServer;
let client: WireClient;
/** By sequence number - 1, in APPEND order. */
let fetched: Fetched[] = [];

beforeAll(async () => {
  server = await startTestMailServer();
  await server.createUser("corpus", "corpus-password");
  ({ client } = await WireClient.connect(server.host, server.port));
  await client.expectOk("LOGIN corpus corpus-password");
  await client.expectOk(`CREATE ${MAILBOX}`);
  // All APPENDs in flight at once (LITERAL+); the server answers them in order.
  const appended = await Promise.all(corpus.map((m) => client.command(`APPEND ${MAILBOX}`, m.raw)));
  const uids = appended.map((result, i) => {
    const uid = /\[APPENDUID \d+ (\d+)\]/.exec(result.status);
    if (!uid) throw new Error(`APPEND of ${corpus[i]!.name}: ${result.status}`);
    return Number(uid[1]);
  });
  const select = await client.expectOk(`SELECT ${MAILBOX}`);
  expect(select.untagged.map(String)).toContain(`* ${corpus.length} EXISTS`);
  const all = await client.expectOk("FETCH 1:* (UID RFC822.SIZE BODY.PEEK[] BODYSTRUCTURE ENVELOPE)");
  const bySeq = new Map(all.untagged.map(parseFetch).flatMap((f) => (f ? [[f.seq, f.items] as const] : [])));
  fetched = corpus.map((message, i) => ({ message, seq: i + 1, uid: uids[i]!, items: bySeq.get(i + 1)! }));
}, 120_000);

afterAll(async () => {
  client?.close();
  await server?.close();
});

describe("corpus: BODY[]", () => {
  it("returns every message byte for byte as appended, with its UID and RFC822.SIZE", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(200);
    for (const { message, uid, items } of fetched) {
      expect(items, message.name).toBeDefined();
      expect(text(items.get("UID")), message.name).toBe(String(uid));
      expect(text(items.get("RFC822.SIZE")), message.name).toBe(String(message.raw.length));
      const body = items.get("BODY[]");
      expect(Buffer.isBuffer(body) && body.equals(message.raw), `${message.name} BODY[]`).toBe(true);
    }
  });

  it("hands the same bytes to imapflow", async () => {
    const imap = new ImapFlow({
      host: server.host,
      port: server.port,
      secure: false,
      auth: { user: "corpus", pass: "corpus-password" },
      logger: false,
    });
    await imap.connect();
    try {
      await imap.mailboxOpen(MAILBOX, { readOnly: true });
      let seen = 0;
      for await (const message of imap.fetch("1:*", { uid: true, source: true, envelope: true })) {
        const expected = fetched[message.seq - 1]!;
        expect(message.uid, expected.message.name).toBe(expected.uid);
        expect(message.source?.equals(expected.message.raw), `${expected.message.name} via imapflow`).toBe(
          true,
        );
        seen++;
      }
      expect(seen).toBe(corpus.length);
    } finally {
      await imap.logout();
    }
  });
});

/** One line per entity: what BODYSTRUCTURE states about it, in comparable form. */
function describeReference(part: ReferencePart): string {
  if (part.type === "multipart") return `multipart/${part.subtype} boundary=${part.boundary}`;
  const charset = part.charset ?? (part.type === "text" ? "us-ascii" : "-");
  return `${part.type}/${part.subtype} charset=${charset.toLowerCase()} encoding=${part.encoding} size=${part.body.length} disposition=${part.disposition ?? "-"}`;
}

function describeWire(part: ReturnType<typeof readBodyStructure>): string {
  if (part.type === "multipart") return `multipart/${part.subtype} boundary=${part.params.get("boundary")}`;
  const charset = part.params.get("charset") ?? "-";
  return `${part.type}/${part.subtype} charset=${charset.toLowerCase()} encoding=${part.encoding} size=${part.size} disposition=${part.disposition ?? "-"}`;
}

describe("corpus: BODYSTRUCTURE", () => {
  it("has the parts, types, charsets, encodings, sizes and dispositions mailsplit finds", async () => {
    let parts = 0;
    for (const { message, items } of fetched.filter((f) => f.message.wellFormed)) {
      const reference = flatten(await referenceTree(message.raw));
      const wire = flattenWire(readBodyStructure(items.get("BODYSTRUCTURE")!));
      expect(
        wire.map((w) => `${w.path} ${describeWire(w.part)}`),
        message.name,
      ).toEqual(reference.map((r) => `${r.path} ${describeReference(r.part)}`));
      for (const [i, { path, part }] of wire.entries()) {
        const ref = reference[i]!.part;
        if (part.type === "text" || (part.type === "message" && part.subtype === "rfc822")) {
          expect(lineCounts(ref.body), `${message.name} ${path} lines`).toContain(part.lines);
        }
      }
      parts += wire.length;
    }
    expect(parts).toBeGreaterThan(450);
  });

  it("answers for every malformed message with a structure whose leaf sizes stay within the message", () => {
    const malformed = fetched.filter((f) => !f.message.wellFormed);
    expect(malformed.length).toBeGreaterThan(20);
    for (const { message, items } of malformed) {
      const structure = readBodyStructure(items.get("BODYSTRUCTURE")!);
      for (const { path, part } of flattenWire(structure)) {
        if (part.type !== "multipart") {
          expect(part.size, `${message.name} ${path}`).toBeGreaterThanOrEqual(0);
          expect(part.size!, `${message.name} ${path}`).toBeLessThanOrEqual(message.raw.length);
        }
      }
    }
  });
});

/** Decodes RFC 2047 words (and raw 8-bit UTF-8) the way mailparser does, via a one-field header. */
async function decodeWords(value: Buffer | null): Promise<string> {
  if (value === null) return "";
  const mail = await simpleParser(Buffer.concat([Buffer.from("Subject: "), value, Buffer.from("\r\n\r\n")]));
  return normalize(mail.subject ?? "");
}

const normalize = (s: string) => s.replace(/\s+/g, " ").trim();

/** An ENVELOPE address list as "name <mailbox@host>", with group start/end markers. */
async function wireAddresses(value: WireValue | undefined): Promise<string[]> {
  if (!Array.isArray(value)) return [];
  const out: string[] = [];
  for (const address of value) {
    if (!Array.isArray(address)) throw new Error("address is not a list");
    const [name, , mailbox, host] = [0, 1, 2, 3].map((k) => {
      const v = address[k];
      return Buffer.isBuffer(v) ? v : null;
    });
    if (!mailbox && !host) out.push("end of group");
    else if (!host) out.push(`group ${mailbox!.toString("utf8")}`);
    else
      out.push(`${await decodeWords(name ?? null)} <${mailbox!.toString("utf8")}@${host.toString("utf8")}>`);
  }
  return out;
}

function referenceAddresses(value: AddressObject | AddressObject[] | undefined): string[] {
  const out: string[] = [];
  for (const object of [value ?? []].flat()) {
    for (const address of object.value) {
      if (address.group) {
        out.push(`group ${address.name}`);
        for (const member of address.group) out.push(`${normalize(member.name)} <${member.address}>`);
        out.push("end of group");
      } else out.push(`${normalize(address.name)} <${address.address}>`);
    }
  }
  return out;
}

async function compareEnvelope(envelope: WireValue, raw: Buffer, where: string): Promise<void> {
  if (!Array.isArray(envelope) || envelope.length !== 10)
    throw new Error(`${where}: ENVELOPE is not 10 fields`);
  const mail = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
  const [date, subject, from, sender, replyTo, to, cc, , inReplyTo, messageId] = envelope;
  const wireDate = text(date);
  if (mail.headers.has("date")) expect(Date.parse(wireDate!), `${where} date`).toBe(mail.date!.getTime());
  else expect(wireDate, `${where} date`).toBeNull();
  expect(await decodeWords(subject as Buffer | null), `${where} subject`).toBe(normalize(mail.subject ?? ""));
  expect(await wireAddresses(from), `${where} from`).toEqual(referenceAddresses(mail.from));
  // RFC 3501 7.4.2: Sender and Reply-To default to From.
  const senderHeader = mail.headers.get("sender") as AddressObject | undefined;
  expect(await wireAddresses(sender), `${where} sender`).toEqual(
    referenceAddresses(senderHeader ?? mail.from),
  );
  expect(await wireAddresses(replyTo), `${where} reply-to`).toEqual(
    referenceAddresses(mail.replyTo ?? mail.from),
  );
  expect(await wireAddresses(to), `${where} to`).toEqual(referenceAddresses(mail.to));
  expect(await wireAddresses(cc), `${where} cc`).toEqual(referenceAddresses(mail.cc));
  expect(text(inReplyTo), `${where} in-reply-to`).toBe(mail.inReplyTo ?? null);
  expect(text(messageId), `${where} message-id`).toBe(mail.messageId ?? null);
}

describe("corpus: ENVELOPE", () => {
  it("has the date, subject, addresses and ids mailparser reads, for messages and attached messages", async () => {
    let envelopes = 0;
    for (const { message, items } of fetched.filter((f) => f.message.wellFormed)) {
      await compareEnvelope(items.get("ENVELOPE")!, message.raw, message.name);
      envelopes++;
      const reference = flatten(await referenceTree(message.raw));
      const wire = flattenWire(readBodyStructure(items.get("BODYSTRUCTURE")!));
      for (const [i, { path, part }] of wire.entries()) {
        if (!part.envelope) continue;
        await compareEnvelope(part.envelope, reference[i]!.part.body, `${message.name} ${path}`);
        envelopes++;
      }
    }
    expect(envelopes).toBeGreaterThan(220);
  });

  it("answers ENVELOPE for every malformed message", () => {
    for (const { message, items } of fetched.filter((f) => !f.message.wellFormed)) {
      const envelope = items.get("ENVELOPE");
      expect(Array.isArray(envelope) && envelope.length === 10, message.name).toBe(true);
    }
  });
});

/** Deterministic offsets for the partial fetches of message i. */
function window(i: number, length: number, salt: number): { origin: number; size: number } {
  const origin = length === 0 ? 0 : (i * 7919 + salt * 104729) % length;
  return { origin, size: 1 + ((i * 31 + salt * 17) % 300) };
}

describe("corpus: sections and partial fetches", () => {
  it("returns exact byte ranges for BODY[]<o.n>, HEADER, TEXT, 1, 1<o.n>, 1.MIME and attached messages' parts", async () => {
    const requests = await Promise.all(
      fetched.map(async ({ message, seq }, i) => {
        const raw = message.raw;
        const expected = new Map<string, Buffer>();
        const ask: string[] = [];
        const want = (section: string, bytes: Buffer, partial?: { origin: number; size: number }) => {
          const key = partial ? `BODY[${section}]<${partial.origin}>` : `BODY[${section}]`;
          ask.push(
            partial ? `BODY.PEEK[${section}]<${partial.origin}.${partial.size}>` : `BODY.PEEK[${section}]`,
          );
          expected.set(key, partial ? bytes.subarray(partial.origin, partial.origin + partial.size) : bytes);
        };
        want("", raw, window(i, raw.length, 1));
        // An origin past the end returns an empty string (RFC 3501 6.4.5).
        want("", raw, { origin: raw.length + 3, size: 10 });
        const split = splitAtBlankLine(raw);
        if (message.wellFormed) {
          if (!split) throw new Error(`${message.name} has no blank line`);
          want("HEADER", split.header);
          want("TEXT", split.text);
          const tree = await referenceTree(raw);
          if (tree.type === "multipart") {
            // The first leaf down the first children: 1, 1.1, ... with its MIME header.
            let path = "1";
            let first = tree.children[0]!;
            while (first.type === "multipart" && first.children[0]) {
              first = first.children[0];
              path += ".1";
            }
            want(path, first.body);
            want(path, first.body, window(i, first.body.length, 2));
            want(`${path}.MIME`, first.header);
          } else {
            // A single-part message's part 1 is its body (RFC 3501 6.4.5).
            want("1", split.text);
            want("1", split.text, window(i, split.text.length, 2));
          }
          for (const [n, child] of tree.children.entries()) {
            if (!child.message) continue;
            const inner = splitAtBlankLine(child.body)!;
            want(`${n + 1}.HEADER`, inner.header);
            want(`${n + 1}.TEXT`, inner.text, window(i, inner.text.length, 3));
          }
        }
        return { message, seq, expected, response: client.expectOk(`FETCH ${seq} (${ask.join(" ")})`) };
      }),
    );
    let ranges = 0;
    for (const { message, seq, expected, response } of requests) {
      const result = await response;
      const parsed = result.untagged.map(parseFetch).find((f) => f?.seq === seq);
      expect(parsed, message.name).toBeDefined();
      for (const [key, bytes] of expected) {
        const got = parsed!.items.get(key.toUpperCase());
        expect(Buffer.isBuffer(got), `${message.name} ${key} present`).toBe(true);
        expect((got as Buffer).toString("latin1"), `${message.name} ${key}`).toBe(bytes.toString("latin1"));
        ranges++;
      }
    }
    expect(ranges).toBeGreaterThan(1200);
  });

  it("splits malformed messages into a HEADER and TEXT that together are the message", async () => {
    for (const { message, seq } of fetched.filter((f) => !f.message.wellFormed)) {
      const result = await client.expectOk(`FETCH ${seq} (BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1])`);
      const items = parseFetch(result.untagged[0]!)!.items;
      const header = items.get("BODY[HEADER]") as Buffer;
      const body = items.get("BODY[TEXT]") as Buffer;
      expect(Buffer.concat([header, body]).equals(message.raw), message.name).toBe(true);
      expect(Buffer.isBuffer(items.get("BODY[1]")), `${message.name} BODY[1]`).toBe(true);
    }
  });

  it("leaves every message unseen: BODY.PEEK never sets \\Seen", async () => {
    const result = await client.expectOk("SEARCH SEEN");
    expect(result.untagged.map(String)).toEqual(["* SEARCH"]);
  });
});
