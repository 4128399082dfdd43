import { describe, expect, it } from "vitest";
import type { ListedMailbox } from "../../projections/queries/index.ts";
import { delimiterLine, type ListRequest, listEntries, listLine, type Namespace } from "./list.ts";

function mailbox(name: string, ...attributes: string[]): ListedMailbox {
  return { name, delimiter: "/", attributes, mailboxId: `id-${name}` };
}

const namespace: Namespace = {
  mailboxes: [
    mailbox("INBOX", "\\HasNoChildren"),
    mailbox("Archive", "\\HasChildren"),
    mailbox("Archive/2023", "\\HasNoChildren", "\\Subscribed"),
    mailbox("Old", "\\Noselect", "\\HasChildren"),
    mailbox("Old/Kept", "\\HasNoChildren"),
    mailbox("Sent", "\\HasNoChildren", "\\Sent", "\\Subscribed"),
  ],
  subscriptions: new Set(["Archive/2023", "Sent", "Vanished"]),
};

function request(overrides: Partial<ListRequest>): ListRequest {
  return {
    command: "LIST",
    reference: "",
    patterns: ["*"],
    selection: [],
    returnOptions: [],
    extended: false,
    ...overrides,
  };
}

const names = (entries: { name: string }[]) => entries.map((e) => e.name);

describe("listEntries", () => {
  it("LIST * lists every mailbox, INBOX first, without \\Subscribed", () => {
    const entries = listEntries(request({}), namespace);
    expect(names(entries)).toEqual(["INBOX", "Archive", "Archive/2023", "Old", "Old/Kept", "Sent"]);
    expect(entries.find((e) => e.name === "Sent")!.attributes).toEqual(["\\HasNoChildren", "\\Sent"]);
    expect(entries.find((e) => e.name === "Old")!.selectable).toBe(false);
  });

  it("% stops at the delimiter and the reference prefixes the pattern", () => {
    expect(names(listEntries(request({ patterns: ["%"] }), namespace))).toEqual([
      "INBOX",
      "Archive",
      "Old",
      "Sent",
    ]);
    expect(names(listEntries(request({ reference: "Archive/", patterns: ["%"] }), namespace))).toEqual([
      "Archive/2023",
    ]);
  });

  it("LIST (SUBSCRIBED) lists subscriptions, \\NonExistent for names that are gone", () => {
    const entries = listEntries(request({ selection: ["SUBSCRIBED"], extended: true }), namespace);
    expect(entries.map((e) => [e.name, e.attributes])).toEqual([
      ["Archive/2023", ["\\HasNoChildren", "\\Subscribed"]],
      ["Sent", ["\\HasNoChildren", "\\Sent", "\\Subscribed"]],
      ["Vanished", ["\\NonExistent", "\\Subscribed"]],
    ]);
  });

  it("RECURSIVEMATCH lists a parent whose child is subscribed, with CHILDINFO", () => {
    const entries = listEntries(
      request({ selection: ["SUBSCRIBED", "RECURSIVEMATCH"], patterns: ["%"], extended: true }),
      namespace,
    );
    expect(entries.map((e) => [e.name, e.childInfo])).toEqual([
      ["Archive", ["SUBSCRIBED"]],
      ["Sent", []],
      ["Vanished", []],
    ]);
  });

  it("RECURSIVEMATCH reports a subscribed inferior once: by its own line, else by its nearest listed superior", () => {
    const deep: Namespace = {
      mailboxes: [
        mailbox("Projects", "\\HasChildren"),
        mailbox("Projects/Alpha", "\\HasChildren"),
        mailbox("Projects/Alpha/Notes", "\\HasNoChildren", "\\Subscribed"),
      ],
      subscriptions: new Set(["Projects/Alpha/Notes"]),
    };
    const childInfo = (patterns: string[]) =>
      listEntries(
        request({ selection: ["SUBSCRIBED", "RECURSIVEMATCH"], patterns, extended: true }),
        deep,
      ).map((e) => [e.name, e.childInfo]);
    // The inferior is listed itself: no superior is listed for it.
    expect(childInfo(["*"])).toEqual([["Projects/Alpha/Notes", []]]);
    expect(childInfo(["Projects/Alpha", "Projects/Alpha/Notes"])).toEqual([["Projects/Alpha/Notes", []]]);
    // It is not: the nearest superior the patterns list reports it, and only that one.
    expect(childInfo(["Projects", "Projects/Alpha"])).toEqual([["Projects/Alpha", ["SUBSCRIBED"]]]);
    expect(childInfo(["%"])).toEqual([["Projects", ["SUBSCRIBED"]]]);
  });

  it("RETURN (SUBSCRIBED) marks subscribed names; SPECIAL-USE selection keeps only special-use ones", () => {
    const returned = listEntries(request({ returnOptions: ["SUBSCRIBED"], extended: true }), namespace);
    expect(returned.find((e) => e.name === "Archive/2023")!.attributes).toContain("\\Subscribed");
    expect(returned.find((e) => e.name === "Archive")!.attributes).not.toContain("\\Subscribed");
    const special = listEntries(request({ selection: ["SPECIAL-USE"], extended: true }), namespace);
    expect(names(special)).toEqual(["Sent"]);
  });

  it("several patterns list each name once", () => {
    expect(
      names(listEntries(request({ patterns: ["INBOX", "S*", "*t"], extended: true }), namespace)),
    ).toEqual(["INBOX", "Old/Kept", "Sent"]);
  });

  it("LSUB lists subscriptions; with % an unsubscribed superior shows as \\Noselect", () => {
    const all = listEntries(request({ command: "LSUB" }), namespace);
    expect(all.map((e) => [e.name, e.attributes])).toEqual([
      ["Archive/2023", ["\\HasNoChildren"]],
      ["Sent", ["\\HasNoChildren", "\\Sent"]],
      ["Vanished", ["\\Noselect"]],
    ]);
    const top = listEntries(request({ command: "LSUB", patterns: ["%"] }), namespace);
    expect(top.map((e) => [e.name, e.attributes])).toEqual([
      ["Archive", ["\\Noselect", "\\HasChildren"]],
      ["Sent", ["\\HasNoChildren", "\\Sent"]],
      ["Vanished", ["\\Noselect"]],
    ]);
  });
});

describe("listLine", () => {
  const wire = (parts: (string | Buffer)[]) =>
    Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : p))).toString(
      "latin1",
    );

  it("encodes names in modified UTF-7, quoting when needed", () => {
    const entry = {
      name: "Entwürfe/Été 日本",
      attributes: ["\\HasNoChildren"],
      childInfo: [],
      selectable: true,
    };
    expect(wire(listLine("LIST", entry, false))).toBe(
      'LIST (\\HasNoChildren) "/" "Entw&APw-rfe/&AMk-t&AOk- &ZeVnLA-"',
    );
  });

  it("sends UTF-8 once UTF8=ACCEPT is enabled, and CHILDINFO extended data", () => {
    const entry = { name: "Été", attributes: ["\\HasChildren"], childInfo: ["SUBSCRIBED"], selectable: true };
    expect(
      Buffer.concat(
        listLine("LIST", entry, true).map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : p)),
      ).toString("utf8"),
    ).toBe('LIST (\\HasChildren) "/" "Été" ("CHILDINFO" ("SUBSCRIBED"))');
  });

  it('LIST "" "" gives the delimiter', () => {
    expect(delimiterLine("LIST")).toBe('LIST (\\Noselect) "/" ""');
  });
});
