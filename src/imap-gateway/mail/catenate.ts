// CATENATE (RFC 4469): a message made of text the client sends and of messages or parts of
// messages it already has, named by IMAP URLs. Only the user's own mailboxes are reachable: a
// URL of another user, of a mailbox that is not there, of a UIDVALIDITY that is not current or a
// message that is gone is refused with NO [BADURL url] (RFC 4469 4.1).
import { type BodySection, type CatenatePart, parseSectionSpec } from "../codec/index.ts";
import { no } from "../errors.ts";
import { sectionContent } from "../fetch/renderFetch.ts";
import { type ImapMessageUrl, parseImapUrl } from "./imapUrl.ts";
import { messageBytes } from "./messageBytes.ts";
import type { MailServices } from "./services.ts";

export interface CatenateUser {
  readonly userId: string;
  /** As the client logged in: an absolute URL must name this user. */
  readonly username: string;
}

/**
 * resp-text-code "BADURL" SP url-resp-text (RFC 4469 6): the URL as sent, when it can stand in a
 * response code (no "]" or control characters); the bare code otherwise.
 */
function badUrl(url: string, why: string): Error {
  const echo = /^[\x01-\x09\x0b\x0c\x0e-\x5c\x5e-\x7f]+$/.test(url) ? ` ${url}` : "";
  return no(`CATENATE URL refused: ${why}`, `BADURL${echo}`);
}

async function urlContent(
  services: MailServices,
  user: CatenateUser,
  raw: string,
  url: ImapMessageUrl,
): Promise<Buffer> {
  if (url.user !== undefined && url.user.toLowerCase() !== user.username.toLowerCase()) {
    throw badUrl(raw, "it names another user");
  }
  let section: BodySection | undefined;
  if (url.section !== undefined) {
    section = parseSectionSpec(url.section);
    if (section === undefined) throw badUrl(raw, `${url.section} is not a section`);
  }
  const status = await services.queries.mailboxStatus(user.userId, url.mailbox);
  if (status === null || !status.selectable) throw badUrl(raw, `there is no mailbox "${url.mailbox}"`);
  if (url.uidValidity !== undefined && url.uidValidity !== status.uidValidity) {
    throw badUrl(raw, `the UIDVALIDITY of "${url.mailbox}" is not ${url.uidValidity}`);
  }
  const {
    messages: [message],
  } = await services.queries.fetchMessages(
    user.userId,
    status.mailboxId,
    [{ start: url.uid, end: url.uid }],
    ["blobDigest", "structure", "size"],
  );
  if (message?.blobDigest === undefined || !message.structure) {
    throw badUrl(raw, `there is no message with UID ${url.uid}`);
  }
  const bytes = messageBytes(services.blobStore, message.blobDigest);
  // RFC 5092 ;PARTIAL=offset without a length runs to the end.
  const partial =
    url.partial === undefined
      ? undefined
      : { offset: url.partial.offset, count: url.partial.count ?? Number.MAX_SAFE_INTEGER };
  return sectionContent(
    message.structure,
    bytes,
    section ?? { part: [], text: undefined, fields: [] },
    partial,
  );
}

/**
 * The parts of one CATENATE joined into the message to append, with whether any TEXT was sent
 * as literal8 (binary). `textOf` reads a TEXT literal, buffered or spooled.
 */
export async function catenate(
  services: MailServices,
  user: CatenateUser,
  parts: readonly CatenatePart[],
  textOf: (part: Extract<CatenatePart, { kind: "text" }>) => Promise<Buffer>,
): Promise<{ body: Buffer; binary: boolean }> {
  const pieces: Buffer[] = [];
  let binary = false;
  for (const part of parts) {
    if (part.kind === "text") {
      pieces.push(await textOf(part));
      binary ||= part.binary;
      continue;
    }
    const parsed = parseImapUrl(part.url);
    if (!parsed.ok) throw badUrl(part.url, parsed.error);
    pieces.push(await urlContent(services, user, part.url, parsed.url));
  }
  return { body: Buffer.concat(pieces), binary };
}
