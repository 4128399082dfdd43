// URLAUTH (RFC 4467) and URLAUTH=BINARY (RFC 5524): GENURLAUTH signs a URL of one of the user's
// messages so that whoever its access names may fetch it, URLFETCH fetches what such URLs name,
// RESETKEY makes every URL signed before it useless. The one mechanism is INTERNAL: the token is
// an HMAC-SHA256, under the server's own secret (commands/serverSecret.ts), of the URL's user and
// mailbox, the salts of their access keys (the index, from MailboxAccessKeyReset events) and the
// URL itself. A URL that does not check out fetches NIL, whatever the reason (RFC 4467 6).
import { createHmac, timingSafeEqual } from "node:crypto";
import { canonicalUsername, resetAccessKey, serverSecret } from "../../commands/index.ts";
import { type BodyPart, parseMessageStructure, resolvePart } from "../../mime/index.ts";
import type { AccessKeyMaterial } from "../../projections/queries/index.ts";
import {
  encodeAString,
  encodeBodyStructure,
  parseSectionSpec,
  type ResponsePart,
  type UrlFetchItem,
} from "../codec/index.ts";
import { bad, no } from "../errors.ts";
import { binaryContent, sectionContent } from "../fetch/renderFetch.ts";
import { userIdOf } from "../mail/commandSupport.ts";
import { parseUrlauthUrl, type UrlauthUrl } from "../mail/imapUrl.ts";
import { messageBytes } from "../mail/messageBytes.ts";
import { domainContext, type MailServices } from "../mail/services.ts";
import { AUTHENTICATED_OR_SELECTED, type CommandContext, defineCommand } from "../module.ts";

/** The only URLAUTH mechanism this server offers (RFC 4467 5.2: INTERNAL is the one all must). */
const MECHANISM = "internal";
const SECRET_NAME = "urlauth";

function tokenOf(secret: Buffer, key: AccessKeyMaterial, rump: string): string {
  return createHmac("sha256", secret)
    .update([key.userId, key.mailboxId, key.userSalt, key.mailboxSalt, rump].join("\0"))
    .digest("hex");
}

function sameToken(a: string, b: string): boolean {
  const left = Buffer.from(a, "latin1");
  const right = Buffer.from(b, "latin1");
  return left.length === right.length && timingSafeEqual(left, right);
}

/** May the session's user fetch what a URL with this access names (RFC 4467 3)? */
function mayFetch(url: UrlauthUrl, username: string | undefined): boolean {
  switch (url.access.kind) {
    case "anonymous":
      return true;
    case "authuser":
      return username !== undefined;
    case "user":
      return username !== undefined && safeUsername(url.access.user) === safeUsername(username);
    // Only a submit server acting for that user: this server has none.
    case "submit":
      return false;
    default: {
      const unknown: never = url.access;
      return unknown;
    }
  }
}

function safeUsername(name: string): string | undefined {
  try {
    return canonicalUsername(name);
  } catch {
    return undefined;
  }
}

async function keyOf(services: MailServices, url: UrlauthUrl): Promise<AccessKeyMaterial | null> {
  const username = safeUsername(url.message.user);
  if (username === undefined) return null;
  const key = await services.queries.accessKeyOf(username, url.message.mailbox);
  if (key === null) return null;
  if (url.message.uidValidity !== undefined && url.message.uidValidity !== key.uidValidity) return null;
  return key;
}

function newlines(bytes: Buffer): number {
  let count = 0;
  for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) count += 1;
  return count;
}

/** `part` with the sizes and line counts of `decoded`'s parts, tree by tree (same shape). */
function withSizesOf(part: BodyPart, decoded: BodyPart, bytes: Buffer): BodyPart {
  const content = bytes.subarray(decoded.bodyStart, decoded.bodyEnd);
  return {
    ...part,
    size: content.length,
    lines: part.lines === null ? null : newlines(content),
    children: part.children.map((child, i) =>
      decoded.children[i] ? withSizesOf(child, decoded.children[i]!, bytes) : child,
    ),
    message:
      part.message !== null && decoded.message !== null
        ? { ...part.message, body: withSizesOf(part.message.body, decoded.message.body, bytes) }
        : part.message,
  };
}

/**
 * BODYPARTSTRUCTURE beside BINARY (RFC 5524 3.2), as Dovecot reads it: the part described as
 * BINARY returns it, so its sizes and line counts are those of the decoded content (the
 * declared encodings stay as the message declares them).
 */
function decodedStructure(part: BodyPart, binary: Buffer): BodyPart {
  if (part.message === null && part.type !== "multipart") {
    return { ...part, size: binary.length, lines: part.lines === null ? null : newlines(binary) };
  }
  const parsed = parseMessageStructure(binary).body;
  if (part.message !== null) {
    return {
      ...part,
      size: binary.length,
      lines: part.lines === null ? null : newlines(binary),
      message: { ...part.message, body: withSizesOf(part.message.body, parsed, binary) },
    };
  }
  return withSizesOf(part, parsed, binary);
}

interface Fetched {
  content: Buffer;
  binary: Buffer | null;
  bodyStructure: string | null;
}

/** What a full URL names, when its token, access and expiry check out; null otherwise. */
async function fetchUrl(
  services: MailServices,
  raw: string,
  username: string | undefined,
  wants: { binary: boolean },
): Promise<Fetched | null> {
  const parsed = parseUrlauthUrl(raw);
  if (!parsed.ok) return null;
  const url = parsed.url;
  if (url.mechanism !== MECHANISM || url.token === undefined) return null;
  if (url.expire !== undefined && url.expire.getTime() <= Date.now()) return null;
  if (!mayFetch(url, username)) return null;
  const key = await keyOf(services, url);
  if (key === null) return null;
  const secret = await serverSecret(services.pool, SECRET_NAME);
  if (!sameToken(tokenOf(secret, key, url.rump), url.token)) return null;
  // The token checks out: only now is the (possibly other user's) message read.
  const {
    messages: [message],
  } = await services.queries.fetchMessages(
    key.userId,
    key.mailboxId,
    [{ start: url.message.uid, end: url.message.uid }],
    ["blobDigest", "structure", "size"],
  );
  if (message?.blobDigest === undefined || !message.structure) return null;
  const structure = message.structure;
  const section =
    url.message.section === undefined
      ? { part: [], text: undefined, fields: [] }
      : parseSectionSpec(url.message.section);
  if (section === undefined) return null;
  const bytes = messageBytes(services.blobStore, message.blobDigest);
  const partial =
    url.message.partial === undefined
      ? undefined
      : { offset: url.message.partial.offset, count: url.message.partial.count ?? Number.MAX_SAFE_INTEGER };
  const content = await sectionContent(structure, bytes, section, partial);
  const whole = section.text === undefined;
  const part = section.part.length === 0 ? structure.body : resolvePart(structure.body, section.part);
  const binary = wants.binary && whole ? await binaryContent(structure, bytes, section.part) : null;
  const described = part !== null && binary !== null ? decodedStructure(part, binary) : part;
  return {
    content,
    binary,
    bodyStructure: whole && described !== null ? encodeBodyStructure(described, { extensible: true }) : null,
  };
}

/** `* URLFETCH url content` or, with RFC 5524 parameters, `* URLFETCH url (items)`. */
async function urlFetchResponse(
  services: MailServices,
  context: CommandContext,
  item: UrlFetchItem,
): Promise<ResponsePart[]> {
  const username = context.session.user?.username;
  const binary = item.params?.includes("BINARY") === true;
  const fetched = await fetchUrl(services, item.url, username, { binary });
  const url = encodeAString(item.url);
  if (item.params === undefined) {
    if (fetched === null) return ["URLFETCH ", url, " NIL"];
    return ["URLFETCH ", url, ` {${fetched.content.length}}\r\n`, fetched.content];
  }
  if (fetched === null) return ["URLFETCH ", url, " NIL"];
  const parts: ResponsePart[] = [];
  const add = (...more: ResponsePart[]) => {
    if (parts.length > 0) parts.push(" ");
    parts.push(...more);
  };
  if (item.params.includes("BODYPARTSTRUCTURE")) {
    add(
      "BODYPARTSTRUCTURE ",
      fetched.bodyStructure === null ? "NIL" : Buffer.from(fetched.bodyStructure, "utf8"),
    );
  }
  if (binary) {
    if (fetched.binary === null) add("BINARY NIL");
    // RFC 5524 with RFC 3516: literal8 when the decoded octets hold a NUL.
    else add(`BINARY ${fetched.binary.includes(0) ? "~" : ""}{${fetched.binary.length}}\r\n`, fetched.binary);
  }
  if (item.params.includes("BODY")) add(`BODY {${fetched.content.length}}\r\n`, fetched.content);
  return ["URLFETCH ", url, " (", ...parts, ")"];
}

export function urlauthCommand(services: MailServices) {
  return defineCommand({
    names: ["GENURLAUTH", "RESETKEY", "URLFETCH"],
    states: AUTHENTICATED_OR_SELECTED,
    capabilities: (session) =>
      session.state === "authenticated" || session.state === "selected" ? ["URLAUTH", "URLAUTH=BINARY"] : [],
    async handle(command, context) {
      const { session } = context;
      const userId = userIdOf(session);
      switch (command.name) {
        case "GENURLAUTH": {
          const secret = await serverSecret(services.pool, SECRET_NAME);
          const signed: Buffer[] = [];
          for (const { url: raw, mechanism } of command.args.urls) {
            if (mechanism.toLowerCase() !== MECHANISM)
              throw no(`the URLAUTH mechanism ${mechanism} is not offered: INTERNAL is`);
            const parsed = parseUrlauthUrl(raw);
            if (!parsed.ok) throw bad(`${raw.slice(0, 80)}: ${parsed.error}`);
            const url = parsed.url;
            if (url.token !== undefined) throw bad("GENURLAUTH takes a URL without a token (a rump)");
            // RFC 4467 6: only the owner of the mailbox makes URLs of it.
            if (safeUsername(url.message.user) !== safeUsername(session.user!.username))
              throw no("a URL may only name the logged-in user's own mailboxes", "BADURL");
            const key = await keyOf(services, url);
            if (key === null || key.userId !== userId)
              throw no(`there is no mailbox "${url.message.mailbox}" (of that UIDVALIDITY)`, "BADURL");
            signed.push(encodeAString(`${url.rump}:${MECHANISM}:${tokenOf(secret, key, url.rump)}`));
          }
          await context.untagged(
            "GENURLAUTH ",
            ...signed.flatMap((url, i) => (i === 0 ? [url] : [" ", url])),
          );
          return { text: "GENURLAUTH completed" };
        }
        case "RESETKEY": {
          const { mailbox, mechanisms } = command.args;
          const other = mechanisms.find((mechanism) => mechanism.toLowerCase() !== MECHANISM);
          if (other !== undefined) throw no(`the URLAUTH mechanism ${other} is not offered: INTERNAL is`);
          const ctx = domainContext(services, context);
          await resetAccessKey(ctx, { userId, name: mailbox ?? null });
          return { text: "RESETKEY completed" };
        }
        case "URLFETCH": {
          for (const item of command.args.items) {
            await context.untagged(...(await urlFetchResponse(services, context, item)));
          }
          return { text: "URLFETCH completed" };
        }
        default: {
          const unknown: never = command;
          throw new Error(`unhandled ${(unknown as { name: string }).name}`);
        }
      }
    },
  });
}
