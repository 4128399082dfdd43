// APPEND over TCP with imapflow, Python's imaplib and the raw wire: flags and dates, APPENDUID,
// TRYCREATE, the global APPENDLIMIT (TOOBIG before the literal is sent), per-mailbox limits,
// MULTIAPPEND all or nothing, large literals streamed through the spool, EXISTS for the
// selected mailbox, a malformed date → BAD.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setMailboxAppendLimit } from "../../src/commands/index.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { asOperator, dataLines, imapflowConnected, imaplib, rawLoggedIn } from "./helpers/clients.ts";

const APPEND_LIMIT = 2 * 1024 * 1024;
let server: TestMailServer;
let aliceId: string;
const alice = { user: "alice", pass: "alice-password" };

beforeAll(async () => {
  server = await startTestMailServer({ env: { APPEND_LIMIT: String(APPEND_LIMIT) } });
  aliceId = await server.createUser(alice.user, alice.pass);
});
afterAll(async () => server?.close());

function message(subject: string, body = "hello\r\n"): string {
  return `From: a@example.org\r\nTo: b@example.org\r\nSubject: ${subject}\r\n\r\n${body}`;
}

/** What the projection stored for one UID of a mailbox (independent of FETCH). */
async function stored(mailbox: string, uid: number) {
  const status = await server.node.runtime.queries.mailboxStatus(aliceId, mailbox);
  const {
    messages: [fetched],
  } = await server.node.runtime.queries.fetchMessages(
    aliceId,
    status!.mailboxId,
    [{ start: uid, end: uid }],
    ["flags", "internalDate", "size", "blobDigest"],
  );
  return fetched;
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

async function statusOf(mailbox: string): Promise<string> {
  const raw = await rawLoggedIn(server, alice);
  const answer = await raw.command("s", `STATUS ${mailbox} (MESSAGES)`);
  raw.close();
  return answer[0]!;
}

describe("APPEND", () => {
  it("advertises APPENDLIMIT=<global limit>, UIDPLUS and MULTIAPPEND", async () => {
    const raw = await rawLoggedIn(server, alice);
    const [line] = (await raw.command("c", "CAPABILITY")).filter((l) => l.startsWith("* CAPABILITY "));
    expect(line!.split(" ")).toEqual(
      expect.arrayContaining([`APPENDLIMIT=${APPEND_LIMIT}`, "UIDPLUS", "MULTIAPPEND"]),
    );
    raw.close();
  });

  it("appends with flags and a date and answers APPENDUID (imapflow)", async () => {
    const flow = await imapflowConnected(server, alice);
    const date = new Date("2021-03-04T05:06:07Z");
    const first = await flow.append("INBOX", message("one"), ["\\Seen", "\\Flagged", "$Work"], date);
    const second = await flow.append("INBOX", message("two"));
    expect(first).toMatchObject({ uid: 1 });
    expect(second).toMatchObject({ uid: 2 });
    expect(Number((first as { uidValidity: bigint }).uidValidity)).toBeGreaterThan(0);
    await flow.logout();

    const one = await stored("INBOX", 1);
    expect(one?.flags).toEqual(expect.arrayContaining(["\\Seen", "\\Flagged", "$Work"]));
    expect(one?.internalDate?.toISOString()).toBe(date.toISOString());
    expect(one?.blobDigest).toBe(sha256(message("one")));
  });

  it("appends with imaplib, answering APPENDUID; TRYCREATE for a missing mailbox; BAD for a bad date", async () => {
    const [ok, missing, badDate, status] = await imaplib(server, alice, [
      ["append", "INBOX", "(\\Draft)", '"14-Jul-2020 10:00:00 +0200"', message("three")],
      ["append", "Nowhere", null, null, message("lost")],
      ["append", "INBOX", null, '"32-Foo-2020 99:00:00 +0000"', message("bad date")],
      ["status", "INBOX", "(MESSAGES)"],
    ]);
    expect(ok!.typ).toBe("OK");
    expect(dataLines(ok)[0]).toMatch(/^\[APPENDUID [1-9]\d* 3\] /);
    expect(missing!.typ).toBe("NO");
    expect(dataLines(missing)[0]).toMatch(/^\[TRYCREATE\] /);
    expect(badDate!.error).toMatch(/BAD/);
    expect(dataLines(status)).toEqual(["INBOX (MESSAGES 3)"]);
    const three = await stored("INBOX", 3);
    expect(three?.internalDate?.toISOString()).toBe("2020-07-14T08:00:00.000Z");
    expect(three?.flags).toContain("\\Draft");
  });

  it("refuses a message over the limit with TOOBIG before it is sent; imapflow sees TRYCREATE", async () => {
    const [tooBig] = await imaplib(server, alice, [["append_generated", "INBOX", String(APPEND_LIMIT + 1)]]);
    expect(tooBig!.typ).toBe("NO");
    expect(dataLines(tooBig)[0]).toMatch(/^\[TOOBIG\] /);

    const raw = await rawLoggedIn(server, alice);
    // A synchronizing literal over the limit is refused before the client sends it.
    expect(await raw.command("t", `APPEND INBOX {${APPEND_LIMIT + 1}}`)).toEqual([
      expect.stringMatching(/^t NO \[TOOBIG\] /),
    ]);
    raw.close();

    const flow = await imapflowConnected(server, alice);
    await expect(flow.append("Nowhere", message("x"))).rejects.toMatchObject({
      serverResponseCode: "TRYCREATE",
    });
    await flow.logout();
  });

  it("streams a large literal through the spool and stores it byte for byte", async () => {
    const body = Buffer.alloc(1536 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = 0x41 + (i % 26);
    for (let i = 76; i < body.length; i += 78) {
      body[i] = 0x0d;
      body[i + 1] = 0x0a;
    }
    const full = Buffer.concat([Buffer.from("Subject: large\r\n\r\n"), body]);
    const flow = await imapflowConnected(server, alice);
    await flow.mailboxCreate("Large");
    const appended = await flow.append("Large", full);
    expect(appended).toMatchObject({ uid: 1 });
    await flow.logout();
    const large = await stored("Large", 1);
    expect(large?.size).toBe(full.length);
    expect(large?.blobDigest).toBe(sha256(full));
  });

  it("sends EXISTS to the session that has the target selected, before the OK", async () => {
    const raw = await rawLoggedIn(server, alice);
    await raw.command("s", "SELECT INBOX");
    const body = message("selected");
    const answer = await raw.command("a", `APPEND INBOX {${body.length}+}\r\n${body}`);
    expect(answer).toContain("* 4 EXISTS");
    expect(answer.at(-1)).toMatch(/^a OK \[APPENDUID [1-9]\d* 4\] APPEND completed$/);
    raw.close();
  });

  it("gives the appending session its new messages as \\Recent, with what others appended meanwhile", async () => {
    const raw = await rawLoggedIn(server, alice);
    await raw.command("c", "CREATE Own");
    expect(await raw.command("s", "SELECT Own")).toContain("* 0 RECENT");
    const [a, b, c, d] = [message("own a"), message("own b"), message("own c"), message("theirs")];
    const first = await raw.command("a", `APPEND Own (\\Flagged) {${a.length}+}\r\n${a}`);
    expect(first.slice(0, -1)).toEqual(["* 1 EXISTS", "* 1 RECENT"]);
    const multi = await raw.command("m", `APPEND Own {${b.length}+}\r\n${b} {${c.length}+}\r\n${c}`);
    expect(multi.slice(0, -1)).toEqual(["* 3 EXISTS", "* 3 RECENT"]);
    // Another session appends; this session has not looked since: its next APPEND brings both.
    const other = await rawLoggedIn(server, alice);
    expect((await other.command("o", `APPEND Own {${d.length}+}\r\n${d}`)).at(-1)).toMatch(/^o OK/);
    const after = await raw.command("b", `APPEND Own {${a.length}+}\r\n${a}`);
    expect(after.filter((line) => line.startsWith("* "))).toEqual(["* 5 EXISTS", "* 5 RECENT"]);
    expect(await raw.command("f", "FETCH 1:* (UID FLAGS)")).toEqual([
      "* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))",
      "* 2 FETCH (UID 2 FLAGS (\\Recent))",
      "* 3 FETCH (UID 3 FLAGS (\\Recent))",
      "* 4 FETCH (UID 4 FLAGS (\\Recent))",
      "* 5 FETCH (UID 5 FLAGS (\\Recent))",
      expect.stringMatching(/^f OK/),
    ]);
    expect(await raw.command("n", "NOOP")).toEqual([expect.stringMatching(/^n OK/)]);
    // Nobody else gets them.
    expect(await other.command("s", "SELECT Own")).toContain("* 0 RECENT");
    raw.close();
    other.close();
  });
});

describe("APPEND of binary content (RFC 3516 literal8)", () => {
  /** APPENDs `body` as a literal8 and fetches it back as BODY[] and BINARY[1]. */
  async function appendBinary(mailbox: string, body: Buffer) {
    const raw = await rawLoggedIn(server, alice);
    await raw.command("c", `CREATE ${mailbox}`);
    const from = raw.lines.length;
    await raw.write(`a APPEND ${mailbox} ~{${body.length}}\r\n`);
    await raw.waitFor((line) => line.startsWith("+"), 5000, from);
    await raw.write(Buffer.concat([body, Buffer.from("\r\n")]));
    await raw.waitFor((line) => line.startsWith("a "), 10_000, from);
    expect(raw.lines.at(-1)).toMatch(/^a OK \[APPENDUID /);
    await raw.command("s", `SELECT ${mailbox}`);
    raw.close();
    const flow = await imapflowConnected(server, alice);
    await flow.mailboxOpen(mailbox);
    const whole = await flow.fetchOne("1", { source: true, bodyStructure: true });
    // imapflow downloads a part with BINARY.PEEK when the server offers BINARY.
    const download = await flow.download("1", "1", { uid: false });
    const chunks: Buffer[] = [];
    for await (const chunk of download.content!) chunks.push(chunk as Buffer);
    await flow.logout();
    if (!whole) throw new Error("the appended message was not fetched");
    return { source: whole.source!, structure: whole.bodyStructure!, binary: Buffer.concat(chunks) };
  }

  const header = (encoding: string) =>
    Buffer.from(
      `From: a@example.org\r\nSubject: bytes\r\nContent-Type: application/octet-stream\r\n` +
        `Content-Transfer-Encoding: ${encoding}\r\n\r\n`,
    );

  it("stores binary parts in base64: BODY[] carries no NUL, BINARY[1] gives the bytes back", async () => {
    const bytes = Buffer.from([0x00, 0x2d, 0xe4, 0x0a, 0x0d, 0x0a, 0x0a, 0xff]);
    const fetched = await appendBinary("Binary", Buffer.concat([header("binary"), bytes]));
    expect(fetched.source.includes(0)).toBe(false);
    expect(fetched.source.toString()).toMatch(
      /\r\nContent-Transfer-Encoding: base64\r\n\r\nAC3kCg0KCv8=\r\n$/,
    );
    expect(fetched.structure).toMatchObject({ type: "application/octet-stream", encoding: "base64" });
    expect(fetched.binary).toEqual(bytes);
  });

  it("does so for a literal8 large enough to be spooled", async () => {
    const bytes = Buffer.alloc(400 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 256;
    const fetched = await appendBinary("BinaryLarge", Buffer.concat([header("binary"), bytes]));
    expect(fetched.source.includes(0)).toBe(false);
    expect(sha256(fetched.binary)).toBe(sha256(bytes));
  });
});

describe("CATENATE (RFC 4469)", () => {
  it("joins TEXT with parts of the user's own messages named by IMAP URLs", async () => {
    const raw = await rawLoggedIn(server, alice);
    expect((await raw.command("c", "CAPABILITY"))[0]).toMatch(/ CATENATE\b/);
    await raw.command("c", "CREATE Sources");
    const original = "From: a@example.org\r\nSubject: original\r\n\r\noriginal body\r\n";
    await raw.command("a", `APPEND Sources {${original.length}+}\r\n${original}`);
    const select = await raw.command("s", "SELECT Sources");
    const uidValidity = /UIDVALIDITY (\d+)/.exec(select.join("\n"))![1];
    const text = "\r\nforwarded: ";
    const answer = await raw.command(
      "j",
      `APPEND Sources (\\Seen) CATENATE (URL "/Sources;UIDVALIDITY=${uidValidity}/;UID=1/;SECTION=HEADER" ` +
        `TEXT {${text.length}+}\r\n${text} URL "imap://alice@localhost/Sources/;uid=1/;section=text/;partial=0.8")`,
    );
    expect(answer.at(-1)).toMatch(/^j OK \[APPENDUID \d+ 2\] /);
    const fetched = await raw.command("f", "FETCH 2 (FLAGS BODY.PEEK[])");
    expect(fetched.join("\r\n")).toContain(
      "From: a@example.org\r\nSubject: original\r\n\r\n\r\nforwarded: original)",
    );
    expect(fetched[0]).toMatch(/FLAGS \(\\Seen/);
    raw.close();
  });

  it("refuses a URL it cannot resolve with NO [BADURL], appending none of a MULTIAPPEND", async () => {
    await server.createUser("mallory", "mallory-password");
    const mallory = await rawLoggedIn(server, { user: "mallory", pass: "mallory-password" });
    await mallory.command("c", "CREATE Secrets");
    const secret = "Subject: secret\r\n\r\nsecret\r\n";
    await mallory.command("a", `APPEND Secrets {${secret.length}+}\r\n${secret}`);
    mallory.close();

    const raw = await rawLoggedIn(server, alice);
    await raw.command("c", "CREATE Target");
    const refused = async (url: string) => {
      const answer = await raw.command(
        "b",
        `APPEND Target CATENATE (TEXT {2+}\r\nok) CATENATE (URL "${url}")`,
      );
      return answer.at(-1)!;
    };
    // Another user's mailbox is not the user's: it is not found, whoever has it.
    expect(await refused("/Secrets/;UID=1")).toBe(
      'b NO [BADURL /Secrets/;UID=1] CATENATE URL refused: there is no mailbox "Secrets"',
    );
    expect(await refused("imap://mallory@localhost/Secrets/;UID=1")).toMatch(
      /^b NO \[BADURL imap:\/\/mallory@localhost\/Secrets\/;UID=1\] .*another user/,
    );
    expect(await refused("/Sources;UIDVALIDITY=1/;UID=1")).toMatch(/^b NO \[BADURL .*UIDVALIDITY/);
    expect(await refused("/Sources/;UID=99")).toMatch(/^b NO \[BADURL .*no message with UID 99/);
    expect(await refused("/Sources/;UID=1;URLAUTH=anonymous:internal:00")).toMatch(/^b NO \[BADURL /);
    expect(await statusOf("Target")).toBe("* STATUS Target (MESSAGES 0)");
    // A missing target is TRYCREATE, whatever its URLs.
    const missing = await raw.command("m", 'APPEND Nowhere CATENATE (URL "/Sources;UIDVALIDITY=1/;UID=1")');
    expect(missing.at(-1)).toMatch(/^m NO \[TRYCREATE\] /);
    raw.close();
  });
});

describe("MULTIAPPEND (RFC 3502)", () => {
  it("appends several messages in one command and answers one APPENDUID with a UID set", async () => {
    const raw = await rawLoggedIn(server, alice);
    await raw.command("c", "CREATE Multi");
    const [a, b, c] = [message("m1"), message("m2"), message("m3")];
    const answer = await raw.command(
      "m",
      `APPEND Multi (\\Seen) {${a.length}+}\r\n${a} {${b.length}+}\r\n${b} (\\Flagged) "01-Jan-2022 00:00:00 +0000" {${c.length}+}\r\n${c}`,
    );
    expect(answer.at(-1)).toMatch(/^m OK \[APPENDUID [1-9]\d* 1:3\] APPEND completed$/);
    expect((await raw.command("s", "STATUS Multi (MESSAGES UNSEEN)")).at(0)).toBe(
      "* STATUS Multi (MESSAGES 3 UNSEEN 2)",
    );
    raw.close();
    expect((await stored("Multi", 3))?.internalDate?.toISOString()).toBe("2022-01-01T00:00:00.000Z");
  });

  it("is all or nothing when one message is over the mailbox's limit", async () => {
    const flow = await imapflowConnected(server, alice);
    await flow.mailboxCreate("Small");
    await flow.logout();
    await asOperator(server, (ctx) =>
      setMailboxAppendLimit(ctx, { userId: aliceId, name: "Small", appendLimit: 100 }),
    );
    const raw = await rawLoggedIn(server, alice);
    expect((await raw.command("l", "STATUS Small (APPENDLIMIT)")).at(0)).toBe(
      "* STATUS Small (APPENDLIMIT 100)",
    );
    const small = "Subject: s\r\n\r\nok\r\n";
    const large = message("large", "y".repeat(200));
    const answer = await raw.command(
      "m",
      `APPEND Small {${small.length}+}\r\n${small} {${large.length}+}\r\n${large}`,
    );
    expect(answer.at(-1)).toMatch(
      /^m NO \[TOOBIG\] message 2 of 2: the message is \d+ octets, above the append limit of 100; none was appended$/,
    );
    expect((await raw.command("s", "STATUS Small (MESSAGES)")).at(0)).toBe("* STATUS Small (MESSAGES 0)");
    // A single message over the mailbox's limit: TOOBIG from the command side.
    expect((await raw.command("o", `APPEND Small {${large.length}+}\r\n${large}`)).at(-1)).toMatch(
      /^o NO \[TOOBIG\] /,
    );
    // MULTIAPPEND to a missing mailbox: TRYCREATE, nothing stored anywhere.
    expect(
      (
        await raw.command("t", `APPEND Gone {${small.length}+}\r\n${small} {${small.length}+}\r\n${small}`)
      ).at(-1),
    ).toMatch(/^t NO \[TRYCREATE\] /);
    raw.close();
  });
});
