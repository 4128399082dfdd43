// The shapes the MIME projection stores in a jsonb column. Everything is plain JSON: byte
// offsets are numbers into the stored blob (end exclusive), never Buffers, so a FETCH of
// BODY[1.2] is one ranged read of the blob.

/** A Content-Type / Content-Disposition parameter, name lower-cased, value as written. */
export interface MimeParam {
  name: string;
  value: string;
}

/** One entry of an ENVELOPE address list (RFC 3501 7.4.2). */
export interface EnvelopeAddress {
  name: string | null;
  adl: string | null;
  /** For a start-of-group marker: the group name (and host null). */
  mailbox: string | null;
  /** null marks group syntax: with mailbox set a group start, with all null a group end. */
  host: string | null;
}

/** RFC 3501 ENVELOPE; header values are raw (encoded words kept) but unfolded. */
export interface Envelope {
  date: string | null;
  subject: string | null;
  from: EnvelopeAddress[] | null;
  sender: EnvelopeAddress[] | null;
  replyTo: EnvelopeAddress[] | null;
  to: EnvelopeAddress[] | null;
  cc: EnvelopeAddress[] | null;
  bcc: EnvelopeAddress[] | null;
  inReplyTo: string | null;
  messageId: string | null;
}

export interface ContentDisposition {
  /** Lower-cased disposition type, e.g. "attachment". */
  type: string;
  params: MimeParam[];
}

/**
 * One MIME entity. The header is [headerStart, headerEnd) and includes the blank line that
 * ends it (when there is one); the body is [bodyStart, bodyEnd). For a multipart child the
 * CRLF in front of the next delimiter belongs to the delimiter (RFC 2046 5.1.1), not to the body.
 */
export interface BodyPart {
  /** Lower-cased media type ("text", "multipart", ...), RFC 2045 defaults applied. */
  type: string;
  subtype: string;
  params: MimeParam[];
  id: string | null;
  description: string | null;
  /** Lower-cased Content-Transfer-Encoding, "7bit" when absent. */
  encoding: string;
  md5: string | null;
  disposition: ContentDisposition | null;
  language: string[] | null;
  location: string | null;
  headerStart: number;
  headerEnd: number;
  bodyStart: number;
  bodyEnd: number;
  /** Body size in octets, in its transfer encoding (RFC 3501 body-fld-octets). */
  size: number;
  /** Body size in text lines, only for text/* and message/rfc822; null otherwise. */
  lines: number | null;
  /** Multipart only: the boundary parameter, and the parts found between its delimiters. */
  boundary: string | null;
  children: BodyPart[];
  /** message/rfc822 only: the encapsulated message, whose header starts at bodyStart. */
  message: EncapsulatedMessage | null;
}

export interface EncapsulatedMessage {
  envelope: Envelope;
  /** The encapsulated message as an entity: its header is the message header. */
  body: BodyPart;
}

export interface MessageStructure {
  /** Bumped when the shape or the parsing rules change, so a projection knows to rebuild. */
  version: 1;
  size: number;
  envelope: Envelope;
  /** The message as an entity: headerStart is 0 and bodyEnd is size. */
  body: BodyPart;
}

export interface ByteRange {
  start: number;
  end: number;
}
