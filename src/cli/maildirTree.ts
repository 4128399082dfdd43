// The Maildir++ layout as Dovecot and Courier keep it, read and written by `mailledger import
// maildir` and `mailledger export maildir`: the root Maildir is INBOX; every other mailbox is a
// directory ".A.B" beside cur/ new/ tmp/ ("A/B", levels in modified UTF-7, "." between them; a
// "." or "/" inside a level as Dovecot's listescape writes it, "\2e" and "\2f"). Each Maildir
// may hold `dovecot-uidlist` (UIDVALIDITY, UIDNEXT and the UID of each file) and
// `dovecot-keywords` (the keyword of each letter a-z after the ":2," flags). The root may hold
// `subscriptions`.
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { MAILBOX_HIERARCHY_SEPARATOR } from "../events/domain/common.ts";
import { decodeMailboxName, encodeMailboxName } from "../imap-gateway/codec/mutf7.ts";

export const UIDLIST_FILE = "dovecot-uidlist";
export const KEYWORDS_FILE = "dovecot-keywords";
export const SUBSCRIPTIONS_FILE = "subscriptions";
/** Keyword letters after the system flags in a file name: a-z, 26 at most (Dovecot's limit). */
export const MAX_MAILDIR_KEYWORDS = 26;

const SEP = MAILBOX_HIERARCHY_SEPARATOR;

/** The mailbox name of a Maildir++ folder directory (".A.B" → "A/B"); null when it is not one. */
export function folderNameOfDirectory(directory: string): string | null {
  if (!directory.startsWith(".") || directory === "." || directory === "..") return null;
  const levels = directory.slice(1).split(".");
  const names: string[] = [];
  for (const level of levels) {
    if (level === "") return null;
    const decoded = decodeMailboxName(level);
    const text = decoded.ok ? decoded.name : level;
    names.push(
      text.replace(/\\([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    );
  }
  return names.join(SEP);
}

/** The Maildir++ directory of a mailbox name ("A/B" → ".A.B"). */
export function directoryOfFolderName(name: string): string {
  const levels = name
    .split(SEP)
    .map((level) => encodeMailboxName(level.replace(/\\/g, "\\5c").replace(/\./g, "\\2e")));
  return `.${levels.join(".")}`;
}

export interface UidList {
  uidValidity: number;
  uidNext: number;
  /** UID of each file, by its base name (the file name up to ":2,"). */
  uids: Map<string, number>;
}

/** A dovecot-uidlist file, version 1 or 3; null when it is neither. */
export function parseUidList(text: string): UidList | null {
  const lines = text.split("\n");
  const header = lines[0]!.trim().split(/\s+/);
  let uidValidity = 0;
  let uidNext = 0;
  if (header[0] === "1" && header.length >= 3) {
    uidValidity = Number(header[1]);
    uidNext = Number(header[2]);
  } else if (header[0] === "3") {
    for (const field of header.slice(1)) {
      if (field.startsWith("V")) uidValidity = Number(field.slice(1));
      if (field.startsWith("N")) uidNext = Number(field.slice(1));
    }
  } else {
    return null;
  }
  if (!Number.isSafeInteger(uidValidity) || uidValidity < 1 || uidValidity > 0xffff_ffff) return null;
  const uids = new Map<string, number>();
  for (const line of lines.slice(1)) {
    if (line.trim() === "") continue;
    // Version 3: "UID [EXTENSIONS] :BASE"; version 1: "UID BASE".
    const match = header[0] === "3" ? /^(\d+)(?: [^:]*)? ?:(.+)$/.exec(line) : /^(\d+) (.+)$/.exec(line);
    if (!match) continue;
    const uid = Number(match[1]);
    if (uid >= 1 && uid <= 0xffff_ffff) uids.set(maildirBaseName(match[2]!), uid);
  }
  const highest = Math.max(0, ...uids.values());
  return { uidValidity, uidNext: Math.max(uidNext, highest + 1), uids };
}

export function formatUidList(list: {
  uidValidity: number;
  uidNext: number;
  files: [number, string][];
}): string {
  return `3 V${list.uidValidity} N${list.uidNext}\n${list.files.map(([uid, base]) => `${uid} :${base}\n`).join("")}`;
}

/** dovecot-keywords: "INDEX KEYWORD" lines; index 0 is letter a. */
export function parseKeywords(text: string): Map<string, string> {
  const letters = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^(\d+) (\S+)$/.exec(line.trim());
    if (!match) continue;
    const index = Number(match[1]);
    if (index < MAX_MAILDIR_KEYWORDS) letters.set(String.fromCharCode(0x61 + index), match[2]!);
  }
  return letters;
}

export function formatKeywords(keywords: readonly string[]): string {
  return keywords.map((keyword, index) => `${index} ${keyword}\n`).join("");
}

/** The file name without its ":2," info (and without Courier's ":2," on Windows, "!2,"). */
export function maildirBaseName(name: string): string {
  const colon = name.search(/[:!]2,/);
  return colon === -1 ? name : name.slice(0, colon);
}

/** The keyword letters (a-z) of a file name's ":2," info. */
export function keywordLetters(name: string): string[] {
  const info = /[:!]2,([^:/]*)$/.exec(name)?.[1] ?? "";
  return [...new Set(info)].filter((letter) => letter >= "a" && letter <= "z");
}

export interface MaildirFolder {
  /** The mailbox name relative to the tree's root: "" for the root (INBOX). */
  name: string;
  dir: string;
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

/** The Maildirs of a Maildir++ tree: the root when it has cur/ or new/, then every ".A.B" folder by name. */
export async function maildirFolders(root: string): Promise<MaildirFolder[]> {
  const folders: MaildirFolder[] = [];
  if ((await isDirectory(path.join(root, "cur"))) || (await isDirectory(path.join(root, "new")))) {
    folders.push({ name: "", dir: root });
  }
  let entries: string[] = [];
  try {
    entries = await readdir(root);
  } catch {
    return folders;
  }
  const subfolders: MaildirFolder[] = [];
  for (const entry of entries) {
    const name = folderNameOfDirectory(entry);
    if (name === null) continue;
    const dir = path.join(root, entry);
    if ((await isDirectory(path.join(dir, "cur"))) || (await isDirectory(path.join(dir, "new")))) {
      subfolders.push({ name, dir });
    }
  }
  subfolders.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [...folders, ...subfolders];
}

/** A file of the Maildir, or undefined when it is missing. */
export async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return undefined;
    throw error;
  }
}

/** The root's subscriptions file: Dovecot's version 2 (tab between levels) or one name a line. */
export function parseSubscriptions(text: string): string[] {
  const lines = text.split("\n");
  if (/^V\t\d+$/.test(lines[0]!.trim())) {
    return lines
      .slice(1)
      .filter((line) => line !== "")
      .map((line) => line.split("\t").join(SEP));
  }
  return lines.map((line) => line.trim()).filter((line) => line !== "");
}

export function formatSubscriptions(names: readonly string[]): string {
  return `V\t2\n\n${names.map((name) => `${name.split(SEP).join("\t")}\n`).join("")}`;
}
