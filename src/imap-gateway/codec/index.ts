/**
 * IMAP wire codec (RFC 3501 + extensions). Knows nothing of sessions or storage.
 *
 * Input, in two steps:
 * - `new CommandReader(options)`: framing. `push(socketChunk)`, then call `next()` until it answers
 *   `need-more`. Other answers: `command` (a complete CommandFrame), `continuation-needed` (send
 *   `+ Ready`, or `cancelCommand()` and a tagged NO to refuse), `error` (send `tag status [code] text`;
 *   the reader already skips the rest of that command). Literals above `streamThreshold` go to
 *   `openLiteralSink` as they arrive; the frame then holds the sink's handle. Per-command literal
 *   limits come from `literalLimit(name)` (e.g. APPEND → APPENDLIMIT) and are enforced before the
 *   bytes arrive. `close()` aborts an in-flight sink.
 * - `parseCommand(frame, { utf8Accept })`: a typed `Command` ({ tag, name, uid, args }) or
 *   `{ ok: false, tag, message, code, status }` for a tagged BAD, or NO [code] for a well-formed
 *   command that cannot be done (BADCHARSET, TOOBIG, a name no mailbox can have).
 *   Mailbox names come back decoded (modified UTF-7 → Unicode), INBOX normalised. Lines outside the
 *   command grammar (IDLE's DONE, SASL responses) are read with `isIdleDone(frame)` / `frameLine(frame)`.
 *
 * Output:
 * - `encodeString`/`encodeAString`/`encodeNString`/`encodeMailbox`/`encodeList`/`encodeFlagList`/
 *   `encodeSequenceNumbers`/`encodeDateTime`/`encodeDate` build wire bytes;
 * - `taggedStatus`/`untaggedStatus`/`continuationRequest`/`untaggedData`/`responseCode` build lines;
 * - `ResponseWriter` writes them with backpressure and streams literals (`writeLiteral(size, readable)`).
 *
 * Modified UTF-7: `encodeMailboxName` / `decodeMailboxName` (strict; errors as values).
 */

export type {
  AppendLiteral,
  AppendMessage,
  BodySection,
  CatenatePart,
  Command,
  CommandName,
  FetchArgs,
  FetchItem,
  ImapDate,
  ListArgs,
  NotifyArgs,
  NotifyEventGroup,
  NotifyEventName,
  NotifyFilter,
  ParseResult,
  PartialRange,
  QresyncParams,
  ResultWindow,
  SearchArgs,
  SearchKey,
  SearchReturnOption,
  SectionText,
  SelectArgs,
  SeqBound,
  SeqRange,
  SequenceSet,
  SortArgs,
  SortKey,
  StatusItem,
  StoreArgs,
  ThreadArgs,
  UrlFetchItem,
} from "./commands.ts";
export { dateFromString, dateTimeFromString } from "./dates.ts";
export {
  encodeAString,
  encodeDate,
  encodeDateTime,
  encodeFlagList,
  encodeList,
  encodeMailbox,
  encodeNString,
  encodeSequenceNumbers,
  encodeSequenceSet,
  encodeString,
  isAtom,
  MAX_QUOTED_LENGTH,
  type StringEncodingOptions,
} from "./encode.ts";
export { type CommandFrame, frameLine, isIdleDone, type LiteralValue } from "./frame.ts";
export * from "./limits.ts";
export { encodeBodyStructure, encodeEnvelope } from "./mimeEncode.ts";
export { decodeMailboxName, encodeMailboxName, type MailboxNameResult } from "./mutf7.ts";
export { parseCommand } from "./parseCommand.ts";
export { parseSectionSpec } from "./parseFetch.ts";
export { MESSAGE_EVENTS } from "./parseNotify.ts";
export {
  CommandReader,
  type CommandReaderOptions,
  isValidTag,
  type LiteralSink,
  type NonSyncLiteralMode,
  type ReaderRefusal,
  type ReaderResult,
  readAllFrames,
  type StreamedLiteralInfo,
} from "./reader.ts";
export {
  continuationRequest,
  responseCode,
  type StatusCondition,
  sanitizeText,
  statusResponse,
  taggedStatus,
  untaggedData,
  untaggedStatus,
} from "./responses.ts";
export {
  LiteralSizeMismatchError,
  type ResponsePart,
  ResponseWriter,
  type StreamedLiteral,
  streamedLiteral,
} from "./responseWriter.ts";
export type { ParseOptions } from "./scanner.ts";
export { sequenceSetFromString } from "./sequenceSet.ts";
