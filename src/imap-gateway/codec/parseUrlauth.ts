// URLAUTH (RFC 4467 7) and URLAUTH=BINARY (RFC 5524 6):
//   GENURLAUTH 1*(SP url-rump SP mechanism)
//   RESETKEY [SP mailbox *(SP mechanism)]
//   URLFETCH 1*(SP url-full / SP "(" url-full *(SP urlfetch-param) ")")
//   urlfetch-param = "BODYPARTSTRUCTURE" / "BINARY" / "BODY"
// URLs are astrings; what they say is read by the URLAUTH module.
import type { UrlFetchItem } from "./commands.ts";
import { parseMailbox } from "./mailbox.ts";
import type { Scanner } from "./scanner.ts";

type UrlFetchParam = NonNullable<UrlFetchItem["params"]>[number];
const FETCH_PARAMS = new Set(["BODYPARTSTRUCTURE", "BINARY", "BODY"]);

export function parseGenUrlauth(s: Scanner): { urls: { url: string; mechanism: string }[] } {
  const urls: { url: string; mechanism: string }[] = [];
  while (s.trySp()) {
    const url = s.astring("URL");
    s.sp();
    urls.push({ url, mechanism: s.keyword("URLAUTH mechanism") });
  }
  if (urls.length === 0) s.fail("GENURLAUTH names no URL");
  return { urls };
}

export function parseResetKey(s: Scanner): { mailbox: string | undefined; mechanisms: string[] } {
  if (!s.trySp()) return { mailbox: undefined, mechanisms: [] };
  const mailbox = parseMailbox(s);
  const mechanisms: string[] = [];
  while (s.trySp()) mechanisms.push(s.keyword("URLAUTH mechanism"));
  return { mailbox, mechanisms };
}

export function parseUrlFetch(s: Scanner): { items: UrlFetchItem[] } {
  const items: UrlFetchItem[] = [];
  while (s.trySp()) {
    if (s.peek() !== 0x28) {
      items.push({ url: s.astring("URL"), params: undefined });
      continue;
    }
    s.expectByte(0x28, '"("');
    const url = s.astring("URL");
    const params: UrlFetchParam[] = [];
    while (s.trySp()) {
      const param = s.keyword("URLFETCH parameter");
      if (!FETCH_PARAMS.has(param)) s.fail(`unknown URLFETCH parameter ${param.slice(0, 40)} (RFC 5524)`);
      if (params.includes(param as UrlFetchParam)) s.fail(`${param} given twice`);
      params.push(param as UrlFetchParam);
    }
    s.expectByte(0x29, '")"');
    items.push({ url, params });
  }
  if (items.length === 0) s.fail("URLFETCH names no URL");
  return { items };
}
