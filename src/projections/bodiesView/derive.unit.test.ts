// The events' header summary (what `history` shows) and the bodies view (what SEARCH and FETCH
// read) decode a header with the one MIME library: the same message shows one subject in both.
import { describe, expect, it } from "vitest";
import { summarizeMessage } from "../../events/messageSummary.ts";
import { deriveMessage } from "./derive.ts";

describe("one subject for history and FETCH", () => {
  it("the events' header summary decodes a subject as the views' search text does", () => {
    for (const subject of ["=?UTF-7?Q?+AOk-?=", "=?utf-8?B?w6l*?=", "=?ISO-8859-1?Q?caf=E9?= ok"]) {
      const raw = Buffer.from(`Subject: ${subject}\r\nFrom: a@example.org\r\n\r\nbody\r\n`, "latin1");
      const summary = summarizeMessage(raw).headerSummary.subject;
      const derived = deriveMessage(raw).searchSubject;
      expect(summary?.toLowerCase(), subject).toBe(derived);
    }
  });
});
