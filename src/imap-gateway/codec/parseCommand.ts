// parseCommand: a complete CommandFrame → a typed Command, or an error value for a tagged BAD.
// No exception escapes: grammar failures are ParseError values, anything unexpected is reported too.

import type { Command, ParseResult } from "./commands.ts";
import type { CommandFrame } from "./frame.ts";
import { parseAclIdentifier, parseSetAcl } from "./parseAcl.ts";
import { parseAppend, parseReplace } from "./parseAppend.ts";
import { parseFetch } from "./parseFetch.ts";
import { parseList, parseLsub } from "./parseList.ts";
import { parseGetMetadata, parseSetMetadata } from "./parseMetadata.ts";
import { parseNotify } from "./parseNotify.ts";
import { parseSearch, parseSort, parseThread } from "./parseSearch.ts";
import { parseSelect } from "./parseSelect.ts";
import {
  parseAuthenticate,
  parseCancelUpdate,
  parseCompress,
  parseCopyMove,
  parseCreate,
  parseEnable,
  parseExpunge,
  parseGetQuota,
  parseId,
  parseLogin,
  parseMailboxOnly,
  parseRename,
} from "./parseSimple.ts";
import { parseStatus } from "./parseStatus.ts";
import { parseStore } from "./parseStore.ts";
import { parseGenUrlauth, parseResetKey, parseUrlFetch } from "./parseUrlauth.ts";
import { isValidTag } from "./reader.ts";
import { ParseError, type ParseOptions, Scanner } from "./scanner.ts";

/**
 * Commands that take a UID prefix (RFC 3501, RFC 4315 UID EXPUNGE, RFC 6851 UID MOVE, RFC 5256
 * UID SORT and UID THREAD, RFC 8508 UID REPLACE).
 */
const UID_COMMANDS = new Set([
  "COPY",
  "MOVE",
  "FETCH",
  "SEARCH",
  "SORT",
  "THREAD",
  "STORE",
  "EXPUNGE",
  "REPLACE",
]);

export function parseCommand(frame: CommandFrame, options?: ParseOptions): ParseResult {
  const s: Scanner = new Scanner(frame, options);
  let tag: string | undefined;
  let name: string | undefined;
  try {
    // Read the whole first word so that a tag with a forbidden character is not half-echoed.
    const rawTag = s.takeWhile((b) => b !== 0x20);
    if (rawTag.length === 0) s.fail(s.atEnd() ? "empty command" : "missing tag");
    if (!isValidTag(rawTag)) s.fail("invalid tag");
    tag = rawTag;
    if (!s.trySp()) s.fail("missing command name");
    name = s.keyword("command name");
    let uid = false;
    if (name === "UID") {
      uid = true;
      s.sp();
      const afterUid = s.keyword("command name after UID");
      if (!UID_COMMANDS.has(afterUid)) s.fail(`${afterUid} cannot follow UID`);
      name = afterUid;
    }
    const command = parseArguments(s, tag, name, uid);
    if (command === undefined) {
      const unknown = name;
      name = undefined;
      s.fail(`unknown command ${unknown.slice(0, 40)}`);
    }
    s.expectEnd();
    if (s.refusal !== undefined) throw s.refusal;
    return { ok: true, command };
  } catch (error) {
    const prefix = name === undefined ? "" : `${name}: `;
    if (error instanceof ParseError)
      return { ok: false, tag, message: prefix + error.message, code: error.code, status: error.status };
    // Not expected; still an answer rather than a crashed connection (a RangeError from deep input, say).
    return { ok: false, tag, message: `${prefix}cannot parse command`, code: undefined, status: "BAD" };
  }
}

function parseArguments(s: Scanner, tag: string, name: string, uid: boolean): Command | undefined {
  const base = { tag, uid, args: {} as Record<string, never> };
  switch (name) {
    case "CAPABILITY":
    case "NOOP":
    case "LOGOUT":
    case "STARTTLS":
    case "CHECK":
    case "CLOSE":
    case "UNSELECT":
    case "UNAUTHENTICATE":
    case "IDLE":
    case "NAMESPACE":
      return { ...base, name };
    case "AUTHENTICATE":
      return { tag, uid, name, args: parseAuthenticate(s) };
    case "LOGIN":
      return { tag, uid, name, args: parseLogin(s) };
    case "SELECT":
    case "EXAMINE":
      return { tag, uid, name, args: parseSelect(s) };
    case "CREATE":
      return { tag, uid, name, args: parseCreate(s) };
    case "DELETE":
    case "UNSUBSCRIBE":
      return { tag, uid, name, args: parseMailboxOnly(s) };
    case "SUBSCRIBE":
      return { tag, uid, name, args: parseMailboxOnly(s, "new") };
    case "GETQUOTAROOT":
      return { tag, uid, name, args: parseMailboxOnly(s) };
    case "GETQUOTA":
      return { tag, uid, name, args: parseGetQuota(s) };
    case "GETMETADATA":
      return { tag, uid, name, args: parseGetMetadata(s) };
    case "SETMETADATA":
      return { tag, uid, name, args: parseSetMetadata(s) };
    case "RENAME":
      return { tag, uid, name, args: parseRename(s) };
    case "LIST":
      return { tag, uid, name, args: parseList(s) };
    case "LSUB":
      return { tag, uid, name, args: parseLsub(s) };
    case "STATUS":
      return { tag, uid, name, args: parseStatus(s) };
    case "APPEND":
      return { tag, uid, name, args: parseAppend(s) };
    case "EXPUNGE":
      return { tag, uid, name, args: parseExpunge(s, uid) };
    case "SEARCH":
      return { tag, uid, name, args: parseSearch(s) };
    case "SORT":
      return { tag, uid, name, args: parseSort(s) };
    case "THREAD":
      return { tag, uid, name, args: parseThread(s) };
    case "FETCH":
      return { tag, uid, name, args: parseFetch(s, uid) };
    case "STORE":
      return { tag, uid, name, args: parseStore(s) };
    case "COPY":
    case "MOVE":
      return { tag, uid, name, args: parseCopyMove(s) };
    case "REPLACE":
      return { tag, uid, name, args: parseReplace(s) };
    case "ID":
      return { tag, uid, name, args: parseId(s) };
    case "ENABLE":
      return { tag, uid, name, args: parseEnable(s) };
    case "COMPRESS":
      return { tag, uid, name, args: parseCompress(s) };
    case "CANCELUPDATE":
      return { tag, uid, name, args: parseCancelUpdate(s) };
    case "NOTIFY":
      return { tag, uid, name, args: parseNotify(s) };
    case "GENURLAUTH":
      return { tag, uid, name, args: parseGenUrlauth(s) };
    case "RESETKEY":
      return { tag, uid, name, args: parseResetKey(s) };
    case "URLFETCH":
      return { tag, uid, name, args: parseUrlFetch(s) };
    case "SETACL":
      return { tag, uid, name, args: parseSetAcl(s) };
    case "DELETEACL":
    case "LISTRIGHTS":
      return { tag, uid, name, args: parseAclIdentifier(s) };
    case "GETACL":
    case "MYRIGHTS":
      return { tag, uid, name, args: parseMailboxOnly(s) };
    default:
      return undefined;
  }
}
