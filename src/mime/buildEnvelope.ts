import { parseAddressList } from "./addressList.ts";
import { firstFieldValue, type HeaderField, readHeaderBlock } from "./headerBlock.ts";
import type { Envelope, EnvelopeAddress } from "./types.ts";

/** ENVELOPE from header fields already located in buf. */
export function envelopeFromFields(buf: Buffer, fields: readonly HeaderField[]): Envelope {
  const value = (name: string) => firstFieldValue(buf, fields, name);
  const addresses = (name: string): EnvelopeAddress[] | null => parseAddressList(value(name));
  const from = addresses("from");
  return {
    date: value("date"),
    subject: value("subject"),
    from,
    // RFC 3501 7.4.2: an absent or empty Sender or Reply-To takes the value of From.
    sender: addresses("sender") ?? from,
    replyTo: addresses("reply-to") ?? from,
    to: addresses("to"),
    cc: addresses("cc"),
    bcc: addresses("bcc"),
    inReplyTo: value("in-reply-to"),
    messageId: value("message-id"),
  };
}

/**
 * The ENVELOPE of a message header (the bytes of BODY[HEADER]). Values are unfolded but not
 * decoded: IMAP returns encoded words as the sender wrote them.
 */
export function buildEnvelope(headerBytes: Buffer): Envelope {
  const block = readHeaderBlock(headerBytes, 0, headerBytes.length);
  return envelopeFromFields(headerBytes, block.fields);
}
