import { describe, expect, it } from "vitest";
import {
  directoryOfFolderName,
  folderNameOfDirectory,
  formatSubscriptions,
  keywordLetters,
  maildirBaseName,
  parseKeywords,
  parseSubscriptions,
  parseUidList,
} from "./maildirTree.ts";

describe("Maildir++ layout", () => {
  it("maps folder directories to mailbox names and back (modified UTF-7, listescape)", () => {
    expect(folderNameOfDirectory(".Work.Reports")).toBe("Work/Reports");
    expect(folderNameOfDirectory(".Entw&APw-rfe")).toBe("Entwürfe");
    expect(folderNameOfDirectory(".v1\\2e0")).toBe("v1.0");
    expect(folderNameOfDirectory("cur")).toBeNull();
    expect(folderNameOfDirectory(".")).toBeNull();
    expect(folderNameOfDirectory(".a..b")).toBeNull();
    for (const name of ["Work/Reports", "Entwürfe/2024", "v1.0", "a\\b"]) {
      expect(folderNameOfDirectory(directoryOfFolderName(name))).toBe(name);
    }
    expect(directoryOfFolderName("Entwürfe/v1.0")).toBe(".Entw&APw-rfe.v1\\2e0");
  });

  it("reads dovecot-uidlist versions 3 and 1; refuses anything else", () => {
    expect(parseUidList("3 V1234 N20 G0123\n3 :a.host,S=40\n7 W41 S40 :b.host:2,S\n")).toEqual({
      uidValidity: 1234,
      uidNext: 20,
      uids: new Map([
        ["a.host,S=40", 3],
        ["b.host", 7],
      ]),
    });
    expect(parseUidList("1 556 3\n2 c.host\n")).toEqual({
      uidValidity: 556,
      uidNext: 3,
      uids: new Map([["c.host", 2]]),
    });
    // UIDNEXT is at least above the highest UID listed.
    expect(parseUidList("3 V9 N2\n5 :d.host\n")?.uidNext).toBe(6);
    expect(parseUidList("2 V9 N2\n")).toBeNull();
    expect(parseUidList("3 V0 N2\n")).toBeNull();
  });

  it("reads keyword letters, base names and subscriptions", () => {
    expect(parseKeywords("0 $Junk\n1 Project\n30 Lost\n")).toEqual(
      new Map([
        ["a", "$Junk"],
        ["b", "Project"],
      ]),
    );
    expect(keywordLetters("x.host,S=4:2,FSba")).toEqual(["b", "a"]);
    expect(keywordLetters("x.host")).toEqual([]);
    expect(maildirBaseName("x.host,S=4:2,FS")).toBe("x.host,S=4");
    expect(parseSubscriptions("V\t2\n\nWork\nWork\tReports\n")).toEqual(["Work", "Work/Reports"]);
    expect(parseSubscriptions("Work\nWork/Reports\n")).toEqual(["Work", "Work/Reports"]);
    expect(formatSubscriptions(["Work", "Work/Reports"])).toBe("V\t2\n\nWork\nWork\tReports\n");
  });
});
