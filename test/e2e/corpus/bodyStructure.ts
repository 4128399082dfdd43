// Reads a BODYSTRUCTURE (RFC 3501 7.4.2) as sent on the wire into the same tree shape as the
// reference parser's, so the two can be compared part by part.
import { isAtom, text, type WireValue } from "./imapWire.ts";

export interface WirePart {
  type: string;
  subtype: string;
  params: Map<string, string>;
  encoding: string | null;
  size: number | null;
  lines: number | null;
  disposition: string | null;
  children: WirePart[];
  /** message/rfc822: the envelope and body of the encapsulated message. */
  envelope?: WireValue;
  message?: WirePart;
}

function params(value: WireValue | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!Array.isArray(value)) return out;
  for (let i = 0; i + 1 < value.length; i += 2)
    out.set(text(value[i])!.toLowerCase(), text(value[i + 1]) ?? "");
  return out;
}

function number(value: WireValue | undefined): number | null {
  return isAtom(value) && /^\d+$/.test(value.atom) ? Number(value.atom) : null;
}

function disposition(value: WireValue | undefined): string | null {
  return Array.isArray(value) ? (text(value[0])?.toLowerCase() ?? null) : null;
}

export function readBodyStructure(value: WireValue): WirePart {
  if (!Array.isArray(value) || value.length === 0) throw new Error("BODYSTRUCTURE is not a list");
  if (Array.isArray(value[0])) {
    const children: WirePart[] = [];
    let i = 0;
    while (Array.isArray(value[i])) children.push(readBodyStructure(value[i++]!));
    // body-ext-mpart: parameters, disposition, language, location.
    return {
      type: "multipart",
      subtype: text(value[i])!.toLowerCase(),
      params: params(value[i + 1]),
      encoding: null,
      size: null,
      lines: null,
      disposition: disposition(value[i + 2]),
      children,
    };
  }
  const type = text(value[0])!.toLowerCase();
  const subtype = text(value[1])!.toLowerCase();
  const part: WirePart = {
    type,
    subtype,
    params: params(value[2]),
    encoding: text(value[5])?.toLowerCase() ?? null,
    size: number(value[6]),
    lines: null,
    disposition: null,
    children: [],
  };
  // body-ext-1part starts with MD5, then disposition.
  if (type === "text") {
    part.lines = number(value[7]);
    part.disposition = disposition(value[9]);
  } else if (type === "message" && subtype === "rfc822") {
    part.envelope = value[7];
    part.message = readBodyStructure(value[8]!);
    part.lines = number(value[9]);
    part.disposition = disposition(value[11]);
  } else {
    part.disposition = disposition(value[8]);
  }
  return part;
}

/** Every entity in pre-order with its IMAP part path, as reference.ts flatten() numbers them. */
export function flattenWire(part: WirePart, path = ""): { path: string; part: WirePart }[] {
  const out = [{ path, part }];
  part.children.forEach((child, i) => {
    out.push(...flattenWire(child, path === "" ? String(i + 1) : `${path}.${i + 1}`));
  });
  if (part.message) out.push(...flattenWire(part.message, `${path}(msg)`));
  return out;
}
