// Arguments of the small commands: AUTHENTICATE, LOGIN, mailbox-only commands, RENAME, COPY/MOVE,
// ID, ENABLE and the QUOTA getters.

import type { SequenceSet } from "./commands.ts";
import { ID_MAX_PAIRS } from "./limits.ts";
import { type MailboxRole, parseMailbox } from "./mailbox.ts";
import type { Scanner } from "./scanner.ts";
import { parseSequenceSet } from "./sequenceSet.ts";

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** AUTHENTICATE SP auth-type [SP (base64 / "=")]  (RFC 4959 SASL-IR) */
export function parseAuthenticate(s: Scanner): { mechanism: string; initialResponse: string | undefined } {
  s.sp();
  const mechanism = s.keyword("SASL mechanism");
  if (!s.trySp()) return { mechanism, initialResponse: undefined };
  const initialResponse = s.takeWhile((b) => b !== 0x20);
  if (initialResponse.length === 0) s.fail("empty initial response");
  if (initialResponse !== "=" && (!BASE64_RE.test(initialResponse) || initialResponse.length % 4 !== 0)) {
    s.fail("initial response is not base64");
  }
  return { mechanism, initialResponse };
}

export function parseLogin(s: Scanner): { username: string; password: string } {
  s.sp();
  const username = s.astring("user name");
  s.sp();
  const password = s.astring("password");
  return { username, password };
}

/** DELETE, UNSUBSCRIBE, GETQUOTAROOT name an existing mailbox; SUBSCRIBE may name a new one. */
export function parseMailboxOnly(s: Scanner, role: MailboxRole = "existing"): { mailbox: string } {
  s.sp();
  return { mailbox: parseMailbox(s, "mailbox name", role) };
}

/**
 * CREATE SP mailbox [SP "(" create-param *(SP create-param) ")"] (RFC 4466 2.2), where the one
 * parameter known is USE SP "(" [use-attr *(SP use-attr)] ")" (RFC 6154 3, CREATE-SPECIAL-USE).
 * Unknown parameters are refused (RFC 4466 2.2: BAD).
 */
export function parseCreate(s: Scanner): { mailbox: string; use?: readonly string[] } {
  s.sp();
  const mailbox = parseMailbox(s, "mailbox name", "new");
  if (!s.trySp()) return { mailbox };
  let use: string[] | undefined;
  s.list(() => {
    const name = s.keyword("CREATE parameter");
    if (name !== "USE") s.fail(`unknown CREATE parameter ${name} (this server knows USE)`);
    if (use !== undefined) s.fail("USE given twice");
    s.sp();
    use = s.list(
      () => {
        s.expectByte(0x5c, "a special-use attribute such as \\Drafts");
        return `\\${s.atom("special-use attribute")}`;
      },
      "USE attributes",
      true,
    );
    return name;
  }, "CREATE parameters");
  return use === undefined ? { mailbox } : { mailbox, use };
}

export function parseRename(s: Scanner): { from: string; to: string } {
  s.sp();
  const from = parseMailbox(s, "existing mailbox name");
  s.sp();
  const to = parseMailbox(s, "new mailbox name", "new");
  return { from, to };
}

/** COPY/MOVE sequence-set SP mailbox */
export function parseCopyMove(s: Scanner): { sequenceSet: SequenceSet; mailbox: string } {
  s.sp();
  const sequenceSet = parseSequenceSet(s);
  s.sp();
  return { sequenceSet, mailbox: parseMailbox(s, "destination mailbox") };
}

/** UID EXPUNGE sequence-set (RFC 4315); plain EXPUNGE takes nothing. */
export function parseExpunge(s: Scanner, uid: boolean): { uids: SequenceSet | undefined } {
  if (!uid) return { uids: undefined };
  s.sp();
  return { uids: parseSequenceSet(s, "UID set") };
}

/** ID SP ("(" string SP nstring *(SP string SP nstring) ")" / NIL)  (RFC 2971) */
export function parseId(s: Scanner): { params: Array<readonly [string, string | null]> | null } {
  s.sp();
  if (s.tryKeyword("NIL")) return { params: null };
  const params: Array<readonly [string, string | null]> = [];
  s.expectByte(0x28, '"(" or NIL');
  // RFC 2971 allows "()"? No: the list holds at least one pair, but clients send "()" and it harms nothing.
  if (s.tryByte(0x29)) return { params };
  for (;;) {
    const field = s.string("ID field");
    s.sp();
    const value = s.nstring("ID value");
    params.push([field, value]);
    if (params.length > ID_MAX_PAIRS) s.fail(`more than ${ID_MAX_PAIRS} ID field/value pairs`);
    if (s.tryByte(0x29)) return { params };
    s.sp();
  }
}

/** COMPRESS SP algorithm  (RFC 4978) */
export function parseCompress(s: Scanner): { mechanism: string } {
  s.sp();
  return { mechanism: s.keyword("compression mechanism") };
}

/** ENABLE 1*(SP capability)  (RFC 5161) */
export function parseEnable(s: Scanner): { capabilities: string[] } {
  const capabilities: string[] = [];
  do {
    s.sp();
    capabilities.push(s.keyword("capability"));
  } while (!s.atEnd());
  return { capabilities };
}

export function parseGetQuota(s: Scanner): { root: string } {
  s.sp();
  return { root: s.astring("quota root") };
}

/** CANCELUPDATE 1*(SP tag-string), tag-string = string (RFC 5267 4.2). */
export function parseCancelUpdate(s: Scanner): { tags: string[] } {
  const tags: string[] = [];
  while (s.trySp()) tags.push(s.string("search tag"));
  if (tags.length === 0) s.fail("CANCELUPDATE names no search tag");
  return { tags };
}
