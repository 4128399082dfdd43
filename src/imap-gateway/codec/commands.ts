// Typed results of parseCommand: one discriminated union member per IMAP command.

import type { LiteralValue } from "./frame.ts";

/** `*` in a sequence set: the largest number in use (RFC 3501 seq-number). */
export type SeqBound = number | "*";

/** A range with start <= stop when both are numbers (`5:2` is stored as 2:5); `*` stays where it was written. */
export interface SeqRange {
  readonly start: SeqBound;
  readonly stop: SeqBound;
}

/** A sequence set, or `$` (RFC 5182 SEARCHRES: the result saved by the last SEARCH ... SAVE). */
export type SequenceSet =
  | { readonly kind: "ranges"; readonly ranges: readonly SeqRange[] }
  | { readonly kind: "saved" };

/** A calendar date without time or zone (SEARCH BEFORE/ON/SINCE, RFC 3501 date). */
export interface ImapDate {
  readonly year: number;
  /** 1..12 */
  readonly month: number;
  readonly day: number;
}

export type StatusItem =
  | "MESSAGES"
  | "RECENT"
  | "UIDNEXT"
  | "UIDVALIDITY"
  | "UNSEEN"
  | "HIGHESTMODSEQ"
  | "SIZE"
  | "DELETED"
  | "APPENDLIMIT"
  /** RFC 8474 OBJECTID. */
  | "MAILBOXID";

export type SearchKey =
  | { readonly type: "all" }
  | { readonly type: "seq"; readonly set: SequenceSet }
  | { readonly type: "uid"; readonly set: SequenceSet }
  /** ANSWERED, DELETED, DRAFT, FLAGGED, SEEN, RECENT, KEYWORD and their UN-/OLD forms. */
  | { readonly type: "flag"; readonly flag: string; readonly present: boolean }
  /** BCC, CC, FROM, SUBJECT, TO are HEADER searches on that field. */
  | { readonly type: "header"; readonly field: string; readonly value: string }
  | { readonly type: "body"; readonly value: string }
  | { readonly type: "text"; readonly value: string }
  | {
      readonly type: "date";
      readonly field: "internal" | "sent" | "saved";
      readonly op: "before" | "on" | "since";
      readonly date: ImapDate;
    }
  | { readonly type: "size"; readonly op: "larger" | "smaller"; readonly size: number }
  /** RFC 5032 OLDER/YOUNGER: internal date relative to now, in seconds. */
  | { readonly type: "age"; readonly op: "older" | "younger"; readonly seconds: number }
  /** RFC 8474 EMAILID / THREADID objectid. */
  | { readonly type: "objectid"; readonly kind: "email" | "thread"; readonly id: string }
  /** RFC 7162 MODSEQ [entry-name entry-type] value. */
  | {
      readonly type: "modseq";
      readonly modSeq: bigint;
      readonly entry: { readonly name: string; readonly kind: "priv" | "shared" | "all" } | undefined;
    }
  /** RFC 8514 SAVEDATESUPPORTED: every message of a mailbox that keeps save dates. */
  | { readonly type: "savedatesupported" }
  | { readonly type: "not"; readonly key: SearchKey }
  | { readonly type: "or"; readonly left: SearchKey; readonly right: SearchKey }
  /** A parenthesized group, or the implicit AND of the top-level keys. */
  | { readonly type: "and"; readonly keys: readonly SearchKey[] };

/** RFC 4731 ESEARCH RETURN options (SAVE from RFC 5182). */
/** RFC 4731, RFC 5182 SAVE and RFC 5267 UPDATE (CONTEXT, a hint, is read and dropped). */
export type SearchReturnOption = "MIN" | "MAX" | "ALL" | "COUNT" | "SAVE" | "UPDATE";

/**
 * RFC 9394 partial-range: positions in a result, 1 the first; counted from the last (-1) when
 * `fromEnd`. `first` <= `last` (500:400 is read as 400:500).
 */
export interface ResultWindow {
  readonly first: number;
  readonly last: number;
  readonly fromEnd: boolean;
}

export interface SearchArgs {
  /** Upper-cased; undefined when no CHARSET was given (US-ASCII). */
  readonly charset: string | undefined;
  readonly criteria: SearchKey;
  /** undefined: a plain SEARCH (untagged SEARCH response); an array, possibly empty: ESEARCH. */
  readonly returnOptions: readonly SearchReturnOption[] | undefined;
  /** RETURN (PARTIAL range) (RFC 9394); with it returnOptions is an array. */
  readonly partial: ResultWindow | undefined;
}

/** RFC 5256 sort keys. */
/** RFC 5256 sort keys, and RFC 5957's DISPLAYFROM and DISPLAYTO. */
export type SortKey =
  | "ARRIVAL"
  | "CC"
  | "DATE"
  | "FROM"
  | "SIZE"
  | "SUBJECT"
  | "TO"
  | "DISPLAYFROM"
  | "DISPLAYTO";

export interface SortArgs {
  readonly criteria: readonly { readonly key: SortKey; readonly reverse: boolean }[];
  /** Upper-cased (SORT requires one). */
  readonly charset: string;
  readonly search: SearchKey;
  /** ESORT (RFC 5267 3): undefined for a plain SORT; an array, possibly empty, answers ESEARCH. */
  readonly returnOptions: readonly SearchReturnOption[] | undefined;
  readonly partial: ResultWindow | undefined;
}

export interface ThreadArgs {
  /** Upper-cased: ORDEREDSUBJECT, REFERENCES, or one this server does not know. */
  readonly algorithm: string;
  readonly charset: string;
  readonly search: SearchKey;
}

export type SectionText = "HEADER" | "HEADER.FIELDS" | "HEADER.FIELDS.NOT" | "TEXT" | "MIME";

export interface BodySection {
  /** Part path (`1.2.3` → [1, 2, 3]); empty for the whole message. */
  readonly part: readonly number[];
  readonly text: SectionText | undefined;
  /** Field names for HEADER.FIELDS(.NOT), as sent. */
  readonly fields: readonly string[];
}

export interface PartialRange {
  readonly offset: number;
  readonly count: number;
}

export type FetchItem =
  | { readonly type: "ENVELOPE" }
  | { readonly type: "FLAGS" }
  | { readonly type: "INTERNALDATE" }
  | { readonly type: "RFC822" }
  | { readonly type: "RFC822.HEADER" }
  | { readonly type: "RFC822.SIZE" }
  | { readonly type: "RFC822.TEXT" }
  | { readonly type: "BODY" }
  | { readonly type: "BODYSTRUCTURE" }
  | { readonly type: "UID" }
  | { readonly type: "MODSEQ" }
  /** RFC 8474 OBJECTID. */
  | { readonly type: "EMAILID" }
  | { readonly type: "THREADID" }
  /** RFC 8514 SAVEDATE. */
  | { readonly type: "SAVEDATE" }
  /** RFC 8970 PREVIEW; LAZY: NIL rather than wait for a preview not computed yet. */
  | { readonly type: "PREVIEW"; readonly lazy: boolean }
  | {
      readonly type: "BODY[]";
      readonly peek: boolean;
      readonly section: BodySection;
      readonly partial: PartialRange | undefined;
    }
  /** RFC 3516 BINARY[part]<partial>. */
  | {
      readonly type: "BINARY[]";
      readonly peek: boolean;
      readonly part: readonly number[];
      readonly partial: PartialRange | undefined;
    }
  | { readonly type: "BINARY.SIZE"; readonly part: readonly number[] };

export interface FetchArgs {
  readonly sequenceSet: SequenceSet;
  /** Macros (ALL, FAST, FULL) are expanded. */
  readonly items: readonly FetchItem[];
  readonly macro: "ALL" | "FAST" | "FULL" | undefined;
  /** RFC 7162 CHANGEDSINCE modifier. */
  readonly changedSince: bigint | undefined;
  /** RFC 7162 VANISHED modifier (UID FETCH only, with CHANGEDSINCE). */
  readonly vanished: boolean;
  /** RFC 9394 PARTIAL modifier: only these positions of the messages the set names. */
  readonly partial: ResultWindow | undefined;
}

export interface StoreArgs {
  readonly sequenceSet: SequenceSet;
  readonly action: "set" | "add" | "remove";
  readonly silent: boolean;
  readonly flags: readonly string[];
  /** RFC 7162 UNCHANGEDSINCE modifier. */
  readonly unchangedSince: bigint | undefined;
}

/** A literal of an APPEND: buffered bytes, or the handle of the sink a large one was streamed to. */
export interface AppendLiteral {
  readonly literal: LiteralValue;
  /** Sent as literal8 `~{n}` (RFC 3516): may contain NUL. */
  readonly binary: boolean;
}

/** One part of a CATENATE (RFC 4469): text sent in a literal, or an IMAP URL of a message or part of one. */
export type CatenatePart =
  | ({ readonly kind: "text" } & AppendLiteral)
  | { readonly kind: "url"; readonly url: string };

export interface AppendMessage {
  readonly flags: readonly string[];
  readonly internalDate: Date | undefined;
  /** The message: one literal (RFC 3501 6.3.11), or parts to join (RFC 4469 CATENATE). */
  readonly content:
    | ({ readonly kind: "literal" } & AppendLiteral)
    | { readonly kind: "catenate"; readonly parts: readonly CatenatePart[] };
}

export interface QresyncParams {
  readonly uidValidity: number;
  readonly modSeq: bigint;
  readonly knownUids: SequenceSet | undefined;
  readonly seqMatch: { readonly seqs: SequenceSet; readonly uids: SequenceSet } | undefined;
}

export interface SelectArgs {
  readonly mailbox: string;
  readonly condstore: boolean;
  readonly qresync: QresyncParams | undefined;
}

export interface ListArgs {
  readonly reference: string;
  /** Without those no name can match (not valid modified UTF-7); may be empty then. */
  readonly patterns: readonly string[];
  /** RFC 5258 selection options, upper-cased (SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE). */
  readonly selectionOptions: readonly string[];
  /** RFC 5258 return options, upper-cased (SUBSCRIBED, CHILDREN, SPECIAL-USE); STATUS is in returnStatus. */
  readonly returnOptions: readonly string[];
  /** RFC 5819 RETURN (STATUS (...)). */
  readonly returnStatus: readonly StatusItem[] | undefined;
  /** True when the LIST-EXTENDED syntax was used (changes the response rules). */
  readonly extended: boolean;
}

/** RFC 5465 5 events; an unknown event-ext keeps its spelling (answered NO [BADEVENT]). */
export type NotifyEventName =
  | "MessageNew"
  | "MessageExpunge"
  | "FlagChange"
  | "AnnotationChange"
  | "MailboxName"
  | "SubscriptionChange"
  | "MailboxMetadataChange"
  | "ServerMetadataChange";

/** RFC 5465 6 filter-mailboxes. */
export type NotifyFilter =
  | { readonly kind: "selected"; readonly delayed: boolean }
  | { readonly kind: "inboxes" }
  | { readonly kind: "personal" }
  | { readonly kind: "subscribed" }
  | { readonly kind: "subtree"; readonly mailboxes: readonly string[] }
  | { readonly kind: "mailboxes"; readonly mailboxes: readonly string[] };

export interface NotifyEventGroup {
  readonly filter: NotifyFilter;
  /** Empty for NONE: nothing of these mailboxes. */
  readonly events: readonly (NotifyEventName | (string & {}))[];
  /** MessageNew's fetch attributes (RFC 5465 5.2), if given. */
  readonly fetchItems: readonly FetchItem[] | undefined;
}

export interface NotifyArgs {
  /** False for NOTIFY NONE. */
  readonly set: boolean;
  /** SET STATUS: a STATUS of each mailbox watched for message events, at once (RFC 5465 3.1). */
  readonly status: boolean;
  readonly groups: readonly NotifyEventGroup[];
}

/** One URL of URLFETCH, with RFC 5524's parameters when given in parentheses. */
export interface UrlFetchItem {
  readonly url: string;
  /** undefined: the plain form, answered with the content as an nstring. */
  readonly params: readonly ("BODYPARTSTRUCTURE" | "BINARY" | "BODY")[] | undefined;
}

/** RFC 5464 GETMETADATA. */
export interface GetMetadataArgs {
  /** "" for the server's entries. */
  readonly mailbox: string;
  /** The entry names as sent (validated by the command side). */
  readonly entries: readonly string[];
  readonly maxSize: number | undefined;
  readonly depth: "0" | "1" | "infinity" | undefined;
}

/** RFC 5464 SETMETADATA: each entry with its new value, null (NIL) to remove it. */
export interface SetMetadataArgs {
  readonly mailbox: string;
  readonly entries: readonly { readonly name: string; readonly value: string | null }[];
}

type Cmd<N extends string, A> = {
  readonly tag: string;
  readonly name: N;
  readonly uid: boolean;
  readonly args: A;
};
type NoArgs = Record<string, never>;

export type Command =
  | Cmd<"CAPABILITY", NoArgs>
  | Cmd<"NOOP", NoArgs>
  | Cmd<"LOGOUT", NoArgs>
  | Cmd<"STARTTLS", NoArgs>
  | Cmd<"AUTHENTICATE", { readonly mechanism: string; readonly initialResponse: string | undefined }>
  | Cmd<"LOGIN", { readonly username: string; readonly password: string }>
  | Cmd<"SELECT", SelectArgs>
  | Cmd<"EXAMINE", SelectArgs>
  | Cmd<"CREATE", { readonly mailbox: string; readonly use?: readonly string[] }>
  | Cmd<"DELETE", { readonly mailbox: string }>
  | Cmd<"RENAME", { readonly from: string; readonly to: string }>
  | Cmd<"SUBSCRIBE", { readonly mailbox: string }>
  | Cmd<"UNSUBSCRIBE", { readonly mailbox: string }>
  | Cmd<"LIST", ListArgs>
  | Cmd<"LSUB", { readonly reference: string; readonly patterns: readonly string[] }>
  | Cmd<"STATUS", { readonly mailbox: string; readonly items: readonly StatusItem[] }>
  | Cmd<"APPEND", { readonly mailbox: string; readonly messages: readonly AppendMessage[] }>
  | Cmd<"CHECK", NoArgs>
  | Cmd<"CLOSE", NoArgs>
  | Cmd<"UNSELECT", NoArgs>
  | Cmd<"UNAUTHENTICATE", NoArgs>
  /** uids is set for UID EXPUNGE (RFC 4315). */
  | Cmd<"EXPUNGE", { readonly uids: SequenceSet | undefined }>
  | Cmd<"SEARCH", SearchArgs>
  | Cmd<"SORT", SortArgs>
  | Cmd<"THREAD", ThreadArgs>
  | Cmd<"FETCH", FetchArgs>
  | Cmd<"STORE", StoreArgs>
  | Cmd<"COPY", { readonly sequenceSet: SequenceSet; readonly mailbox: string }>
  | Cmd<"MOVE", { readonly sequenceSet: SequenceSet; readonly mailbox: string }>
  /** RFC 8508: one message number (a UID under UID), the target mailbox and the new message. */
  | Cmd<
      "REPLACE",
      { readonly sequenceSet: SequenceSet; readonly mailbox: string; readonly message: AppendMessage }
    >
  /** params null for `ID NIL`; values may be NIL. */
  | Cmd<"ID", { readonly params: ReadonlyArray<readonly [string, string | null]> | null }>
  | Cmd<"ENABLE", { readonly capabilities: readonly string[] }>
  /** RFC 4978; the mechanism upper-cased. */
  | Cmd<"COMPRESS", { readonly mechanism: string }>
  | Cmd<"IDLE", NoArgs>
  | Cmd<"NAMESPACE", NoArgs>
  | Cmd<"GETQUOTA", { readonly root: string }>
  | Cmd<"GETQUOTAROOT", { readonly mailbox: string }>
  | Cmd<"GETMETADATA", GetMetadataArgs>
  | Cmd<"SETMETADATA", SetMetadataArgs>
  /** RFC 5267 4.2: the tags of the live searches to end. */
  | Cmd<"CANCELUPDATE", { readonly tags: readonly string[] }>
  | Cmd<"NOTIFY", NotifyArgs>
  /** RFC 4467 URLAUTH. */
  | Cmd<"GENURLAUTH", { readonly urls: readonly { readonly url: string; readonly mechanism: string }[] }>
  | Cmd<"RESETKEY", { readonly mailbox: string | undefined; readonly mechanisms: readonly string[] }>
  | Cmd<"URLFETCH", { readonly items: readonly UrlFetchItem[] }>
  /** RFC 4314 ACL: `rights` as sent, "+" or "-" included. */
  | Cmd<"SETACL", { readonly mailbox: string; readonly identifier: string; readonly rights: string }>
  | Cmd<"DELETEACL", { readonly mailbox: string; readonly identifier: string }>
  | Cmd<"GETACL", { readonly mailbox: string }>
  | Cmd<"LISTRIGHTS", { readonly mailbox: string; readonly identifier: string }>
  | Cmd<"MYRIGHTS", { readonly mailbox: string }>;

export type CommandName = Command["name"];

export type ParseResult =
  | { readonly ok: true; readonly command: Command }
  | {
      readonly ok: false;
      /** The command's tag when it could be read, for a tagged BAD; undefined → untagged `* BAD`. */
      readonly tag: string | undefined;
      readonly message: string;
      /** Response code for the answer, e.g. BADCHARSET, TOOBIG. */
      readonly code: string | undefined;
      /** BAD for a grammar error; NO for a well-formed command that cannot be done as asked. */
      readonly status: "BAD" | "NO";
    };
