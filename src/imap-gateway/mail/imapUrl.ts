// IMAP URLs (RFC 5092) of one message or a part of it, as CATENATE names them (RFC 4469):
//   imap://user@host/Mailbox;UIDVALIDITY=n/;UID=n/;SECTION=spec/;PARTIAL=offset.length
// or relative, from the mailbox on: /Mailbox;UIDVALIDITY=n/;UID=n/... Pure: parsing only.

/** What a message URL names. */
export interface ImapMessageUrl {
  /** The user of an absolute URL (its enc-user), undefined for a relative one. */
  readonly user: string | undefined;
  readonly mailbox: string;
  readonly uidValidity: number | undefined;
  readonly uid: number;
  /** The section-spec, decoded ("HEADER", "1.2", "HEADER.FIELDS (From)"), or undefined for the whole. */
  readonly section: string | undefined;
  /** ;PARTIAL=offset[.length] (RFC 5092 5). */
  readonly partial: { readonly offset: number; readonly count: number | undefined } | undefined;
}

export type ParsedImapUrl = { ok: true; url: ImapMessageUrl } | { ok: false; error: string };

const MAX_UINT32 = 0xffff_ffff;

function nzNumber(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return undefined;
  const value = Number(text);
  return value <= MAX_UINT32 ? value : undefined;
}

/** %-decoded UTF-8 (RFC 5092 3: names are UTF-8, escaped); undefined when not valid. */
function percentDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** Splits `;NAME=value` off the end of a path segment, NAME case-insensitively. */
function splitParameter(segment: string, name: string): [string, string | undefined] {
  const at = segment.toUpperCase().lastIndexOf(`;${name}=`);
  return at === -1 ? [segment, undefined] : [segment.slice(0, at), segment.slice(at + name.length + 2)];
}

export function parseImapUrl(raw: string): ParsedImapUrl {
  const fail = (error: string): ParsedImapUrl => ({ ok: false, error });
  let user: string | undefined;
  let path: string;
  if (/^imap:\/\//i.test(raw)) {
    const rest = raw.slice("imap://".length);
    const slash = rest.indexOf("/");
    if (slash === -1) return fail("the URL names no mailbox");
    const server = rest.slice(0, slash);
    const at = server.lastIndexOf("@");
    if (at !== -1) {
      // iuserinfo = enc-user [";AUTH=" ...]: the mechanism does not matter here.
      const [encUser] = splitParameter(server.slice(0, at), "AUTH");
      user = encUser === "" ? undefined : percentDecode(encUser);
      if (encUser !== "" && user === undefined) return fail("the user name is not valid UTF-8");
    }
    path = rest.slice(slash);
  } else if (raw.startsWith("/")) {
    path = raw;
  } else {
    return fail("a URL is absolute (imap://) or starts with / and the mailbox");
  }
  if (/;urlauth=/i.test(path)) return fail("a URLAUTH URL names a message to fetch, not to copy");
  // "/" + enc-mailbox [uidvalidity] "/;UID=" n ["/;SECTION=" s] ["/;PARTIAL=" p]
  const uidAt = path.toUpperCase().indexOf("/;UID=");
  if (uidAt === -1) return fail("the URL names no message (/;UID=)");
  const [encMailbox, validityText] = splitParameter(path.slice(1, uidAt), "UIDVALIDITY");
  const mailbox = percentDecode(encMailbox);
  if (mailbox === undefined || mailbox === "") return fail("the mailbox name is missing or not valid UTF-8");
  const uidValidity = validityText === undefined ? undefined : nzNumber(validityText);
  if (validityText !== undefined && uidValidity === undefined) return fail("UIDVALIDITY is not a number");
  const [uidText = "", ...parts] = path.slice(uidAt + "/;UID=".length).split("/");
  const uid = nzNumber(uidText);
  if (uid === undefined) return fail("UID is not a number");
  let section: string | undefined;
  let partial: ImapMessageUrl["partial"];
  for (const part of parts) {
    const upper = part.toUpperCase();
    if (upper.startsWith(";SECTION=") && section === undefined && partial === undefined) {
      section = percentDecode(part.slice(";SECTION=".length));
      if (section === undefined || section === "") return fail("SECTION is empty or not valid UTF-8");
    } else if (upper.startsWith(";PARTIAL=") && partial === undefined) {
      const match = /^([0-9]{1,10})(?:\.([0-9]{1,10}))?$/.exec(part.slice(";PARTIAL=".length));
      const count = match?.[2] === undefined ? undefined : nzNumber(match[2]);
      if (!match || (match[2] !== undefined && count === undefined))
        return fail("PARTIAL is not offset[.length]");
      partial = { offset: Number(match[1]), count };
    } else {
      return fail(`unknown URL part ${JSON.stringify(part.slice(0, 40))}`);
    }
  }
  return { ok: true, url: { user, mailbox, uidValidity, uid, section, partial } };
}

/** Who may fetch a URLAUTH URL (RFC 4467 3): one user, any user of the server, anyone. */
export type UrlAccess =
  | { readonly kind: "user" | "submit"; readonly user: string }
  | { readonly kind: "authuser" }
  | { readonly kind: "anonymous" };

/** A URLAUTH-authorized URL (RFC 4467 2): a message URL with an access and, when full, a token. */
export interface UrlauthUrl {
  /** Everything up to and with the access: what GENURLAUTH is given, and what the token signs. */
  readonly rump: string;
  readonly message: ImapMessageUrl & { readonly user: string };
  /** ;EXPIRE= (RFC 4467 3): after it, the URL fetches nothing. */
  readonly expire: Date | undefined;
  readonly access: UrlAccess;
  /** Lower-cased ("internal"); undefined for a rump. */
  readonly mechanism: string | undefined;
  readonly token: string | undefined;
}

export type ParsedUrlauthUrl = { ok: true; url: UrlauthUrl } | { ok: false; error: string };

/**
 * authimapurl [";EXPIRE=" date-time] ";URLAUTH=" access [":" mechanism ":" token] (RFC 4467 7),
 * where authimapurl is an absolute message URL with its user: imap://user@host/mailbox/;uid=n...
 */
export function parseUrlauthUrl(raw: string): ParsedUrlauthUrl {
  const fail = (error: string): ParsedUrlauthUrl => ({ ok: false, error });
  const at = raw.toUpperCase().lastIndexOf(";URLAUTH=");
  if (at === -1) return fail("the URL has no ;URLAUTH=");
  let base = raw.slice(0, at);
  const [accessText = "", mechanism, token, ...extra] = raw.slice(at + ";URLAUTH=".length).split(":");
  if (extra.length > 0 || (mechanism !== undefined && token === undefined))
    return fail("the URL's authorization is not access[:mechanism:token]");
  let expire: Date | undefined;
  const expireAt = base.toUpperCase().lastIndexOf(";EXPIRE=");
  if (expireAt !== -1) {
    const text = decodeURIComponent(base.slice(expireAt + ";EXPIRE=".length));
    // RFC 3339 date-time.
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(text))
      return fail("EXPIRE is not an RFC 3339 date-time");
    expire = new Date(text);
    if (Number.isNaN(expire.getTime())) return fail("EXPIRE is not a date");
    base = base.slice(0, expireAt);
  }
  const message = parseImapUrl(base);
  if (!message.ok) return message;
  if (message.url.user === undefined || !/^imap:\/\//i.test(raw))
    return fail("a URLAUTH URL is absolute and names its user (imap://user@host/...)");
  let access: UrlAccess;
  const lower = accessText.toLowerCase();
  if (lower === "authuser" || lower === "anonymous") access = { kind: lower };
  else if (lower.startsWith("user+") || lower.startsWith("submit+")) {
    const plus = accessText.indexOf("+");
    const user = percentDecode(accessText.slice(plus + 1));
    if (user === undefined || user === "") return fail("the access names no user");
    access = { kind: lower.startsWith("user+") ? "user" : "submit", user };
  } else return fail(`unknown access ${JSON.stringify(accessText.slice(0, 40))}`);
  if (token !== undefined && !/^[0-9a-f]{32,}$/i.test(token)) return fail("the token is not hexadecimal");
  return {
    ok: true,
    url: {
      rump: raw.slice(0, at + ";URLAUTH=".length + accessText.length),
      message: { ...message.url, user: message.url.user },
      expire,
      access,
      mechanism: mechanism?.toLowerCase(),
      token: token?.toLowerCase(),
    },
  };
}
