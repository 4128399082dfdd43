// METADATA and METADATA-SERVER (RFC 5464) over TCP: SETMETADATA and GETMETADATA (MAXSIZE, DEPTH)
// on mailboxes and on the server, as raw wire lines and through Python's imaplib; the limits'
// response codes; entries that follow RENAME and go with DELETE; private entries per account;
// and the events in `mailledger history`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runHistoryCommand } from "../../src/cli/history.ts";
import { DEFAULT_METADATA_LIMITS } from "../../src/commands/index.ts";
import { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { captureCli } from "../support/cli.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { imaplib, rawLoggedIn } from "./helpers/clients.ts";
import { verifyIndex } from "./helpers/verifyIndex.ts";

let server: TestMailServer;
const mia = { user: "mia", pass: "mia-password" };
const ned = { user: "ned", pass: "ned-password" };

beforeAll(async () => {
  server = await startTestMailServer();
  await server.createUser(mia.user, mia.pass);
  await server.createUser(ned.user, ned.pass);
});
afterAll(async () => server?.close());

describe("METADATA", () => {
  it("advertises METADATA and METADATA-SERVER, and refuses both commands before login", async () => {
    const client = await RawImapClient.connect(server.port);
    await client.greeting();
    expect((await client.command("A", 'GETMETADATA "" /shared/comment')).at(-1)).toMatch(/^A BAD /);
    expect((await client.command("B", 'SETMETADATA "" (/shared/comment "x")')).at(-1)).toMatch(/^B BAD /);
    client.close();
    const raw = await rawLoggedIn(server, mia);
    const capabilities = (await raw.command("C", "CAPABILITY"))[0]!;
    expect(capabilities).toMatch(/ METADATA( |$)/);
    expect(capabilities).toMatch(/ METADATA-SERVER( |$)/);
    raw.close();
  });

  it("sets, reads, replaces and removes mailbox and server entries", async () => {
    const raw = await rawLoggedIn(server, mia);
    expect(
      await raw.command("S1", 'SETMETADATA INBOX (/private/comment "My own" /shared/Comment "For all")'),
    ).toEqual(["S1 OK SETMETADATA completed"]);
    // Names compare case-insensitively; entries come back in the order asked.
    expect(await raw.command("G1", "GETMETADATA INBOX (/shared/comment /PRIVATE/comment)")).toEqual([
      '* METADATA INBOX (/shared/comment "For all" /private/comment "My own")',
      "G1 OK GETMETADATA completed",
    ]);
    // A multi-line value is sent as a literal, and read back as one.
    expect(await raw.command("S2", "SETMETADATA INBOX (/private/comment {9+}\r\nline1\r\nl2)")).toEqual([
      "S2 OK SETMETADATA completed",
    ]);
    expect(await raw.command("G2", "GETMETADATA INBOX /private/comment")).toEqual([
      "* METADATA INBOX (/private/comment {9}",
      "line1",
      "l2)",
      "G2 OK GETMETADATA completed",
    ]);
    // NIL removes; a missing entry reads as NIL.
    expect(await raw.command("S3", "SETMETADATA INBOX (/private/comment NIL)")).toEqual([
      "S3 OK SETMETADATA completed",
    ]);
    expect(await raw.command("G3", "GETMETADATA INBOX /private/comment")).toEqual([
      "* METADATA INBOX (/private/comment NIL)",
      "G3 OK GETMETADATA completed",
    ]);
    // The server's entries (mailbox ""), apart from INBOX's.
    expect(await raw.command("S4", 'SETMETADATA "" (/shared/comment "Server note")')).toEqual([
      "S4 OK SETMETADATA completed",
    ]);
    expect(await raw.command("G4", 'GETMETADATA "" (/shared/comment /private/comment)')).toEqual([
      '* METADATA "" (/shared/comment "Server note" /private/comment NIL)',
      "G4 OK GETMETADATA completed",
    ]);
    expect((await raw.command("G5", "GETMETADATA INBOX /shared/comment"))[0]).toBe(
      '* METADATA INBOX (/shared/comment "For all")',
    );
    raw.close();
  });

  it("DEPTH returns descendants, MAXSIZE leaves long values out with LONGENTRIES", async () => {
    const raw = await rawLoggedIn(server, mia);
    await raw.command("C", "CREATE Filters");
    expect(
      await raw.command(
        "S",
        'SETMETADATA Filters (/private/filters/values/small "SMALLER 5000" /private/filters/values/boss "FROM boss" /private/filters/values/boss/extra "deep" /private/filters "top")',
      ),
    ).toEqual(["S OK SETMETADATA completed"]);
    expect(await raw.command("D1", "GETMETADATA (DEPTH 1) Filters (/private/filters/values)")).toEqual([
      '* METADATA Filters (/private/filters/values NIL /private/filters/values/boss "FROM boss" /private/filters/values/small "SMALLER 5000")',
      "D1 OK GETMETADATA completed",
    ]);
    expect(await raw.command("D2", "GETMETADATA (DEPTH infinity) Filters /private/filters")).toEqual([
      '* METADATA Filters (/private/filters "top" /private/filters/values/boss "FROM boss" /private/filters/values/boss/extra "deep" /private/filters/values/small "SMALLER 5000")',
      "D2 OK GETMETADATA completed",
    ]);
    // A whole scope: every private entry, or (none set here) every shared one.
    expect((await raw.command("D4", "GETMETADATA (DEPTH 1) Filters /private"))[0]).toBe(
      '* METADATA Filters (/private NIL /private/filters "top")',
    );
    expect((await raw.command("D5", "GETMETADATA (DEPTH infinity) Filters /shared"))[0]).toBe(
      "* METADATA Filters (/shared NIL)",
    );
    expect((await raw.command("D6", 'SETMETADATA Filters (/private "x")')).at(-1)).toMatch(/^D6 BAD /);
    expect(await raw.command("D3", "GETMETADATA (DEPTH 0) Filters /private/filters")).toEqual([
      '* METADATA Filters (/private/filters "top")',
      "D3 OK GETMETADATA completed",
    ]);
    expect(
      await raw.command("M", "GETMETADATA (MAXSIZE 9 DEPTH infinity) Filters (/private/filters/values)"),
    ).toEqual([
      '* METADATA Filters (/private/filters/values NIL /private/filters/values/boss "FROM boss" /private/filters/values/boss/extra "deep")',
      "M OK [METADATA LONGENTRIES 12] GETMETADATA completed",
    ]);
    raw.close();
  });

  it("answers bad entry names with BAD and limits with RFC 5464's response codes, changing nothing", async () => {
    const raw = await rawLoggedIn(server, ned);
    for (const [tag, name] of [
      ["B1", "/comment"],
      ["B2", "/private/"],
      ["B3", "/private//x"],
      ["B4", '"/shared/a*"'],
      ["B5", '"/shared/50%"'],
      ["B6", "comment"],
    ] as const) {
      expect((await raw.command(tag, `SETMETADATA INBOX (${name} "x")`)).at(-1)).toMatch(
        new RegExp(`^${tag} BAD .*entry name`),
      );
    }
    expect((await raw.command("B7", 'GETMETADATA INBOX "/private/a%"')).at(-1)).toMatch(/^B7 BAD /);
    expect((await raw.command("B8", "GETMETADATA (COLOR red) INBOX /private/a")).at(-1)).toMatch(
      /^B8 BAD .*unknown GETMETADATA option COLOR/,
    );
    expect((await raw.command("B9", "GETMETADATA (DEPTH 2) INBOX /private/a")).at(-1)).toMatch(/^B9 BAD /);
    expect((await raw.command("B10", "SETMETADATA INBOX (/private/a)")).at(-1)).toMatch(/^B10 BAD /);

    expect((await raw.command("N1", "SETMETADATA Nowhere (/private/comment NIL)")).at(-1)).toMatch(
      /^N1 NO \[NONEXISTENT\] /,
    );
    expect((await raw.command("N2", "GETMETADATA Nowhere /private/comment")).at(-1)).toMatch(
      /^N2 NO \[NONEXISTENT\] /,
    );

    const big = "v".repeat(DEFAULT_METADATA_LIMITS.maxValueSize + 1);
    expect(
      (
        await raw.command(
          "L1",
          `SETMETADATA INBOX (/private/small "ok" /private/big {${big.length}+}\r\n${big})`,
        )
      ).at(-1),
    ).toMatch(new RegExp(`^L1 NO \\[METADATA MAXSIZE ${DEFAULT_METADATA_LIMITS.maxValueSize}\\] `));
    // All or nothing: the small entry of the refused command was not set.
    expect((await raw.command("L2", "GETMETADATA INBOX /private/small"))[0]).toBe(
      "* METADATA INBOX (/private/small NIL)",
    );

    const pairs = Array.from(
      { length: DEFAULT_METADATA_LIMITS.maxEntriesPerMailbox },
      (_, i) => `/shared/n${i} "${i}"`,
    );
    expect(await raw.command("T1", `SETMETADATA INBOX (${pairs.join(" ")})`)).toEqual([
      "T1 OK SETMETADATA completed",
    ]);
    expect((await raw.command("T2", 'SETMETADATA INBOX (/shared/one-more "x")')).at(-1)).toMatch(
      /^T2 NO \[METADATA TOOMANY\] /,
    );
    // Replacing and removing are still allowed at the limit.
    expect((await raw.command("T3", 'SETMETADATA INBOX (/shared/n0 "zero" /shared/n1 NIL)')).at(-1)).toBe(
      "T3 OK SETMETADATA completed",
    );
    expect((await raw.command("T4", 'SETMETADATA INBOX (/shared/one-more "x")')).at(-1)).toBe(
      "T4 OK SETMETADATA completed",
    );
    // Another mailbox has its own count.
    await raw.command("C", "CREATE Other");
    expect((await raw.command("T5", 'SETMETADATA Other (/shared/n0 "x")')).at(-1)).toBe(
      "T5 OK SETMETADATA completed",
    );
    raw.close();
  });

  it("keeps entries through RENAME, drops them with DELETE, and keeps each account's apart", async () => {
    const raw = await rawLoggedIn(server, mia);
    await raw.command("C1", "CREATE Projects");
    await raw.command("S1", 'SETMETADATA Projects (/shared/comment "active" /private/vendor/x/color "red")');
    expect((await raw.command("R", "RENAME Projects Archive/Projects")).at(-1)).toMatch(/^R OK/);
    expect(
      await raw.command("G1", "GETMETADATA Archive/Projects (/shared/comment /private/vendor/x/color)"),
    ).toEqual([
      '* METADATA Archive/Projects (/shared/comment "active" /private/vendor/x/color "red")',
      "G1 OK GETMETADATA completed",
    ]);
    expect((await raw.command("D", "DELETE Archive/Projects")).at(-1)).toMatch(/^D OK/);
    await raw.command("C2", "CREATE Archive/Projects");
    expect((await raw.command("G2", "GETMETADATA Archive/Projects /shared/comment"))[0]).toBe(
      "* METADATA Archive/Projects (/shared/comment NIL)",
    );

    // RENAME INBOX: INBOX keeps its entries and the new mailbox gets a copy (RFC 5464 4.1).
    await raw.command("S2", 'SETMETADATA INBOX (/private/vendor/x/inbox "yes")');
    expect((await raw.command("R2", "RENAME INBOX Old-Inbox")).at(-1)).toMatch(/^R2 OK/);
    expect((await raw.command("G3", "GETMETADATA Old-Inbox /private/vendor/x/inbox"))[0]).toBe(
      '* METADATA Old-Inbox (/private/vendor/x/inbox "yes")',
    );
    expect((await raw.command("G4", "GETMETADATA INBOX /private/vendor/x/inbox"))[0]).toBe(
      '* METADATA INBOX (/private/vendor/x/inbox "yes")',
    );
    raw.close();

    // ned has neither mia's INBOX entries nor her server entries.
    const other = await rawLoggedIn(server, ned);
    expect((await other.command("O1", "GETMETADATA INBOX /private/vendor/x/inbox"))[0]).toBe(
      "* METADATA INBOX (/private/vendor/x/inbox NIL)",
    );
    expect((await other.command("O2", 'GETMETADATA "" /shared/comment'))[0]).toBe(
      '* METADATA "" (/shared/comment NIL)',
    );
    expect((await other.command("O3", "GETMETADATA Old-Inbox /private/comment")).at(-1)).toMatch(
      /^O3 NO \[NONEXISTENT\] /,
    );
    other.close();
  });

  it("works from Python's imaplib", async () => {
    const results = await imaplib(server, mia, [
      ["create", "FromPython"],
      ["xatom", "SETMETADATA", 'FromPython (/private/comment "from imaplib")'],
      ["xatom", "GETMETADATA", "FromPython /private/comment"],
      ["xatom", "SETMETADATA", 'FromPython ("/private/bad*" "x")'],
    ]);
    expect(results[1]).toMatchObject({ typ: "OK" });
    expect(results[2]).toMatchObject({
      typ: "OK",
      untagged: { METADATA: ['FromPython (/private/comment "from imaplib")'] },
    });
    expect(results[3]).toMatchObject({ error: expect.stringMatching(/entry name/) });
  });

  it("records each SETMETADATA as an event `mailledger history` shows", async () => {
    const human = await captureCli((io) =>
      runHistoryCommand(["mia", "INBOX"], { pool: server.db.pool, ...io }),
    );
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(
      'set metadata of INBOX: /private/comment = "My own", /shared/comment = "For all"',
    );
    expect(human.stdout).toContain("set metadata of INBOX: removed /private/comment");
    const all = await captureCli((io) =>
      runHistoryCommand(["mia", "--json"], { pool: server.db.pool, ...io }),
    );
    const entries = JSON.parse(all.stdout) as { type: string; command: string | null; description: string }[];
    const server_ = entries.find((entry) => entry.description.startsWith("set metadata of the server"));
    expect(server_).toMatchObject({
      type: "MetadataEntriesSet",
      command: "SETMETADATA",
      description: 'set metadata of the server: /shared/comment = "Server note"',
    });
  });

  it("leaves an index (entries included) that a replay of the log equals", async () => {
    const { code, out } = await verifyIndex(server.db.pool);
    expect(code, out).toBe(0);
    expect(out).toContain('"metadata_entries"');
  });
});
