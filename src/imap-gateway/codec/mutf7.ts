// Modified UTF-7 for mailbox names (RFC 3501 section 5.1.3).
//
// Printable US-ASCII stands for itself except "&", written "&-". Anything else is UTF-16BE in a
// modified base64 ("," for "/", no "=" padding) between "&" and "-". Decoding is strict: every
// name has exactly one encoding, so two spellings can never name the same mailbox.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

function isPrintableAscii(code: number): boolean {
  return code >= 0x20 && code <= 0x7e;
}

export function encodeMailboxName(name: string): string {
  let out = "";
  let i = 0;
  while (i < name.length) {
    const code = name.charCodeAt(i);
    if (code === 0x26) {
      out += "&-";
      i++;
    } else if (isPrintableAscii(code)) {
      out += name[i];
      i++;
    } else {
      // Encode the whole run of non-printable characters as one base64 section (shortest form).
      const units: number[] = [];
      while (i < name.length && !isPrintableAscii(name.charCodeAt(i))) {
        units.push(name.charCodeAt(i));
        i++;
      }
      out += `&${base64Units(units)}-`;
    }
  }
  return out;
}

function base64Units(units: readonly number[]): string {
  let out = "";
  let bits = 0;
  let bitCount = 0;
  for (const unit of units) {
    bits = (bits << 16) | unit;
    bitCount += 16;
    while (bitCount >= 6) {
      bitCount -= 6;
      out += ALPHABET[(bits >> bitCount) & 0x3f];
    }
    bits &= (1 << bitCount) - 1;
  }
  if (bitCount > 0) out += ALPHABET[(bits << (6 - bitCount)) & 0x3f];
  return out;
}

export type MailboxNameResult = { ok: true; name: string } | { ok: false; error: string };

export function decodeMailboxName(encoded: string): MailboxNameResult {
  let out = "";
  let i = 0;
  let previousWasEncoded = false;
  while (i < encoded.length) {
    const code = encoded.charCodeAt(i);
    if (!isPrintableAscii(code)) {
      return { ok: false, error: `character 0x${code.toString(16)} must be encoded in a mailbox name` };
    }
    if (code !== 0x26) {
      out += encoded[i];
      i++;
      previousWasEncoded = false;
      continue;
    }
    const end = encoded.indexOf("-", i + 1);
    if (end === -1) return { ok: false, error: '"&" without a closing "-"' };
    if (end === i + 1) {
      out += "&";
      i = end + 1;
      previousWasEncoded = false;
      continue;
    }
    if (previousWasEncoded)
      return { ok: false, error: "two adjacent encoded sections (not the shortest form)" };
    const decoded = decodeSection(encoded.slice(i + 1, end));
    if (typeof decoded !== "string") return { ok: false, error: decoded.error };
    out += decoded;
    i = end + 1;
    previousWasEncoded = true;
  }
  return { ok: true, name: out };
}

function decodeSection(section: string): string | { error: string } {
  const units: number[] = [];
  let bits = 0;
  let bitCount = 0;
  for (let k = 0; k < section.length; k++) {
    const code = section.charCodeAt(k);
    const value = code < 128 ? DECODE[code]! : -1;
    if (value < 0) return { error: `invalid character ${JSON.stringify(section[k])} in encoded section` };
    bits = ((bits << 6) | value) & 0xffffff;
    bitCount += 6;
    if (bitCount >= 16) {
      bitCount -= 16;
      units.push((bits >> bitCount) & 0xffff);
    }
  }
  // Leftover bits are padding: fewer than 6 and all zero, or the section was cut short.
  if (bitCount >= 6 || (bits & ((1 << bitCount) - 1)) !== 0)
    return { error: "bad padding in encoded section" };
  let text = "";
  for (let k = 0; k < units.length; k++) {
    const unit = units[k]!;
    if (isPrintableAscii(unit)) return { error: "encoded section contains printable ASCII" };
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const low = units[k + 1];
      if (low === undefined || low < 0xdc00 || low > 0xdfff) return { error: "unpaired UTF-16 surrogate" };
      text += String.fromCharCode(unit, low);
      k++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      return { error: "unpaired UTF-16 surrogate" };
    } else {
      text += String.fromCharCode(unit);
    }
  }
  return text;
}
