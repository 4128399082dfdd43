// The MIME projection: ENVELOPE, BODYSTRUCTURE and section byte ranges derived from a stored
// blob by pure functions, so a parser fix plus a projection rebuild corrects every old message.
export { parseAddressList } from "./addressList.ts";
export { encodeBinaryParts } from "./binaryParts.ts";
export { decodeCharset, decodeEncodedWords, decodeTransferEncoding } from "./charset.ts";
export { encodeBodyStructure, encodeEnvelope } from "./encode.ts";
export { buildEnvelope } from "./envelope.ts";
export { imapNString, imapString } from "./imapString.ts";
export { MAX_MIME_DEPTH, MAX_MIME_PARTS, parseMessageStructure } from "./parseMessageStructure.ts";
export { PREVIEW_MAX_CHARS, previewText } from "./previewText.ts";
export { DEFAULT_SEARCH_TEXT_BYTES, extractSearchText, type SearchTextOptions } from "./searchText.ts";
export { filterHeaderFields, resolvePart, sectionRange } from "./sectionRange.ts";
export type {
  BodyPart,
  ByteRange,
  ContentDisposition,
  EncapsulatedMessage,
  Envelope,
  EnvelopeAddress,
  MessageStructure,
  MimeParam,
} from "./types.ts";
