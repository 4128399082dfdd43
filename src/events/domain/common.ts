// Value schemas shared by the event definitions of both aggregates.
import { z } from "zod";

/**
 * The hierarchy separator of mailbox names. Names are UTF-8 strings (modified UTF-7 is the
 * gateway's business); "INBOX" is case-insensitive and always stored as "INBOX", and so is
 * the "INBOX/" prefix of its inferiors.
 */
export const MAILBOX_HIERARCHY_SEPARATOR = "/";

/**
 * The form a mailbox name is stored in, for looking one up: Unicode NFC, a trailing separator
 * dropped (it only declares inferiors, RFC 3501 6.3.3), INBOX's spellings and the "INBOX/"
 * prefix as "INBOX" (RFC 3501 5.1). It never refuses: a name no mailbox can have is simply not
 * found. The domain's canonicalMailboxName (src/commands/names.ts) checks a name for a write,
 * then gives this same form, so a lookup finds what a write stored.
 */
export function mailboxLookupName(raw: string): string {
  let name = raw.normalize("NFC");
  if (name.endsWith(MAILBOX_HIERARCHY_SEPARATOR)) name = name.slice(0, -1);
  const head = name.slice(0, 5);
  if (head.toUpperCase() === "INBOX" && (name.length === 5 || name[5] === MAILBOX_HIERARCHY_SEPARATOR)) {
    return `INBOX${name.slice(5)}`;
  }
  return name;
}

/** RFC 3501 2.3.1.1: UIDs and UIDVALIDITY are non-zero unsigned 32-bit numbers. */
export const MAX_UID = 0xffff_ffff;

export const uidSchema = z.number().int().min(1).max(MAX_UID);
/** UIDNEXT may be one past the last possible UID: the mailbox is then full. */
export const uidNextSchema = z
  .number()
  .int()
  .min(1)
  .max(MAX_UID + 1);
export const uidValiditySchema = z.number().int().min(1).max(MAX_UID);
/** RFC 7162: a positive 63-bit number; here the version of the mailbox stream. */
export const modSeqSchema = z.number().int().min(1);
export const mailboxIdSchema = z.string().min(1);
export const mailboxNameSchema = z.string().min(1);
/** A flag as stored: system flags in canonical case (\Seen), keywords as first given. */
export const flagSchema = z.string().min(1);
export const flagListSchema = z.array(flagSchema);
/** An append limit in octets (RFC 7889); null: no limit at this level. */
export const appendLimitSchema = z.number().int().min(0).nullable();
/** SHA-256 of the message body, lowercase hex: the blob store's key. */
export const blobDigestSchema = z.string().regex(/^[0-9a-f]{64}$/);

/** RFC 6154 special-use attributes a mailbox may carry. */
export const SPECIAL_USES = [
  "\\All",
  "\\Archive",
  "\\Drafts",
  "\\Flagged",
  "\\Junk",
  "\\Sent",
  "\\Trash",
] as const;
export const specialUseSchema = z.enum(SPECIAL_USES);
export type SpecialUse = z.infer<typeof specialUseSchema>;

/**
 * What the header of a message says, decoded (RFC 2047), taken at append from the header
 * bytes only. Addresses are the decoded strings of each list member ("Ann <a@b.example>").
 * Fields the message lacks or that cannot be parsed are null or empty; the body is never here.
 */
export const headerSummarySchema = z.object({
  messageId: z.string().nullable(),
  /** The Date header as an ISO 8601 instant, null if missing or unparseable. */
  date: z.string().nullable(),
  from: z.array(z.string()),
  to: z.array(z.string()),
  cc: z.array(z.string()),
  subject: z.string().nullable(),
  inReplyTo: z.string().nullable(),
});
export type HeaderSummary = z.infer<typeof headerSummarySchema>;

/** Every field a stored message carries in an event that brings it into a mailbox. */
export const storedMessageFields = {
  uid: uidSchema,
  flags: flagListSchema,
  /** ISO 8601 instant: the IMAP INTERNALDATE. */
  internalDate: z.string(),
  size: z.number().int().min(0),
  blobDigest: blobDigestSchema,
  headerSummary: headerSummarySchema,
};
