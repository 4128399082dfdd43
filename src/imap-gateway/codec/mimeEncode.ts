// The wire encoders of FETCH ENVELOPE and BODY/BODYSTRUCTURE (RFC 3501 7.4.2), from the MIME
// library's parsed structures, with the codec's one string encoder.
import type {
  BodyPart,
  ContentDisposition,
  Envelope,
  EnvelopeAddress,
  MessageStructure,
  MimeParam,
} from "../../mime/types.ts";
import { encodeNStringText as imapNString, encodeStringText as imapString } from "./encode.ts";

function encodeAddresses(list: EnvelopeAddress[] | null): string {
  if (list === null || list.length === 0) return "NIL";
  // RFC 3501 grammar: env-from = "(" 1*address ")", addresses follow each other without a space.
  return `(${list
    .map(
      (a) =>
        `(${imapNString(a.name)} ${imapNString(a.adl)} ${imapNString(a.mailbox)} ${imapNString(a.host)})`,
    )
    .join("")})`;
}

/** FETCH ENVELOPE wire text (RFC 3501 7.4.2). */
export function encodeEnvelope(envelope: Envelope): string {
  return `(${[
    imapNString(envelope.date),
    imapNString(envelope.subject),
    encodeAddresses(envelope.from),
    encodeAddresses(envelope.sender),
    encodeAddresses(envelope.replyTo),
    encodeAddresses(envelope.to),
    encodeAddresses(envelope.cc),
    encodeAddresses(envelope.bcc),
    imapNString(envelope.inReplyTo),
    imapNString(envelope.messageId),
  ].join(" ")})`;
}

function encodeParams(params: readonly MimeParam[]): string {
  if (params.length === 0) return "NIL";
  return `(${params.map((p) => `${imapString(p.name.toUpperCase())} ${imapString(p.value)}`).join(" ")})`;
}

function encodeDisposition(disposition: ContentDisposition | null): string {
  if (disposition === null) return "NIL";
  return `(${imapString(disposition.type.toUpperCase())} ${encodeParams(disposition.params)})`;
}

function encodeLanguage(language: string[] | null): string {
  if (language === null) return "NIL";
  if (language.length === 1) return imapString(language[0]!);
  return `(${language.map((tag) => imapString(tag)).join(" ")})`;
}

/** Parameters as reported: a text part without charset has us-ascii (RFC 2046 4.1.2). */
function reportedParams(part: BodyPart): MimeParam[] {
  if (part.type === "text" && !part.params.some((p) => p.name === "charset")) {
    return [{ name: "charset", value: "us-ascii" }, ...part.params];
  }
  return part.params;
}

/**
 * A multipart must contain at least one body (RFC 3501 body-type-mpart = 1*body). One without
 * parts (no boundary, no delimiter, or cut off at the depth limit) is reported the way Dovecot
 * does: with a single empty text/plain part.
 */
const EMPTY_TEXT_PART = '("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0)';

const EMPTY_ENVELOPE = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)";

function encodeBody(part: BodyPart, extensible: boolean): string {
  if (part.type === "multipart") {
    const children =
      part.children.length > 0
        ? part.children.map((c) => encodeBody(c, extensible)).join("")
        : EMPTY_TEXT_PART;
    const fields = [children, imapString(part.subtype.toUpperCase())];
    if (extensible) {
      fields.push(
        encodeParams(part.params),
        encodeDisposition(part.disposition),
        encodeLanguage(part.language),
        imapNString(part.location),
      );
    }
    return `(${fields.join(" ")})`;
  }
  const fields = [
    imapString(part.type.toUpperCase()),
    imapString(part.subtype.toUpperCase()),
    encodeParams(reportedParams(part)),
    imapNString(part.id),
    imapNString(part.description),
    imapString(part.encoding.toUpperCase()),
    String(part.size),
  ];
  if (part.type === "message" && part.subtype === "rfc822") {
    if (part.message !== null) {
      fields.push(encodeEnvelope(part.message.envelope), encodeBody(part.message.body, extensible));
    } else {
      // Encapsulated bytes we could not descend into (base64-encoded, or past the depth limit):
      // clients parse MESSAGE/RFC822 with envelope and body, so give empty ones, not a short list.
      fields.push(EMPTY_ENVELOPE, EMPTY_TEXT_PART);
    }
    fields.push(String(part.lines ?? 0));
  } else if (part.type === "text") {
    fields.push(String(part.lines ?? 0));
  }
  if (extensible) {
    fields.push(
      imapNString(part.md5),
      encodeDisposition(part.disposition),
      encodeLanguage(part.language),
      imapNString(part.location),
    );
  }
  return `(${fields.join(" ")})`;
}

/**
 * FETCH BODY (extensible: false) or BODYSTRUCTURE (extensible: true) wire text for a message (or one
 * of its parts), per RFC 3501 7.4.2.
 */
export function encodeBodyStructure(
  structure: MessageStructure | BodyPart,
  options: { extensible: boolean },
): string {
  return encodeBody("version" in structure ? structure.body : structure, options.extensible);
}
