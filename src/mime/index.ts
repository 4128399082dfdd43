// The MIME library, a leaf both sides import (it imports neither events nor projections nor the
// gateway): header fields and RFC 2047/2231 decoding, ENVELOPE, BODYSTRUCTURE and section byte
// ranges derived from a stored blob by pure functions, so a parser fix plus a projection rebuild
// corrects every old message, and the events' header summary reads headers as FETCH does.
export { parseAddressList } from "./addressList.ts";
export { encodeBinaryParts } from "./binaryParts.ts";
export { buildEnvelope } from "./buildEnvelope.ts";
export { decodeCharset, decodeEncodedWords, decodeTransferEncoding, isKnownCharset } from "./charset.ts";
export { headerBytes, MAX_HEADER_BYTES, parseHeaderFields, splitAddressList } from "./headerFields.ts";
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
