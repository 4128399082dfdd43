// SASL PLAIN (RFC 4616): message = [authzid] NUL authcid NUL passwd, UTF-8, base64 on the wire.

export type PlainCredentials =
  | { readonly ok: true; readonly authzid: string; readonly username: string; readonly password: string }
  | { readonly ok: false; readonly message: string };

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** RFC 4616 section 2: each field at most 255 octets. */
const MAX_FIELD_OCTETS = 255;

export function decodeBase64Strict(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !BASE64_RE.test(text)) return undefined;
  return Buffer.from(text, "base64");
}

export function decodePlain(payload: Buffer): PlainCredentials {
  const first = payload.indexOf(0);
  const second = first === -1 ? -1 : payload.indexOf(0, first + 1);
  if (first === -1 || second === -1 || payload.indexOf(0, second + 1) !== -1) {
    return { ok: false, message: "PLAIN message must be authzid NUL authcid NUL password" };
  }
  const fields = [
    payload.subarray(0, first),
    payload.subarray(first + 1, second),
    payload.subarray(second + 1),
  ];
  if (fields.some((f) => f.length > MAX_FIELD_OCTETS)) return { ok: false, message: "PLAIN field too long" };
  try {
    const [authzid, username, password] = fields.map((f) => strictUtf8.decode(f)) as [string, string, string];
    if (username.length === 0) return { ok: false, message: "PLAIN authcid is empty" };
    return { ok: true, authzid, username, password };
  } catch {
    return { ok: false, message: "PLAIN message is not UTF-8" };
  }
}
