import { describe, expect, it } from "vitest";
import { encodeThreads, orderedSubjectThreads, referencesThreads, type ThreadMessage } from "./threading.ts";

const message = (
  id: number,
  subject: string,
  date: number,
  headers: { messageId?: string; inReplyTo?: string; references?: string } = {},
): ThreadMessage => ({
  id,
  subject,
  date,
  messageId: headers.messageId ?? null,
  inReplyTo: headers.inReplyTo ?? null,
  references: headers.references ?? null,
});

describe("THREAD=REFERENCES", () => {
  it("follows References, falls back to In-Reply-To, promotes a missing parent's only child, merges by subject", () => {
    const threads = referencesThreads([
      message(1, "Plan", 1, { messageId: "<a@x>" }),
      message(2, "Re: Plan", 2, { messageId: "<b@x>", references: "<a@x>" }),
      message(3, "Re: Plan", 3, { messageId: "<c@x>", references: "<A@x> <b@x>" }),
      message(4, "Re: Plan", 4, { messageId: "<d@x>", inReplyTo: "<a@x>" }),
      message(5, "Lunch", 5, { messageId: "<e@x>" }),
      // Its parent is not in the mailbox: the placeholder goes, and the subject joins it to 5.
      message(6, "Re: Lunch", 6, { messageId: "<f@x>", references: "<gone@x>" }),
    ]);
    expect(encodeThreads(threads)).toBe("(1 (2 3)(4))(5 6)");
  });

  it("breaks a parent link another message's References made, even when the new one would loop", () => {
    // imaptest thread: 2 says a > c > 2; 3 (= c) says its parent is 2, which is below it. RFC 5256
    // step 1B drops c's link to a before refusing the loop, so c heads its own thread.
    const messages = [
      message(1, "", 3, { messageId: "<a@b>" }),
      message(2, "", 1, { messageId: "<b@b>", references: "<a@b> <c@b>" }),
      message(3, "", 2, { messageId: "<c@b>", references: "<b@b>" }),
    ];
    expect(encodeThreads(referencesThreads(messages))).toBe("(3 2)(1)");
    // Without message 1, its placeholder holds nothing and goes.
    expect(encodeThreads(referencesThreads(messages.slice(1)))).toBe("(3 2)");
  });

  it("puts two originals of one subject under a placeholder, in date order", () => {
    const threads = referencesThreads([
      message(8, "News", 20, { messageId: "<n2@x>" }),
      message(7, "News", 10, { messageId: "<n1@x>" }),
      message(9, "Other", 15),
    ]);
    expect(encodeThreads(threads)).toBe("((7)(8))(9)");
  });

  it("keeps a placeholder root for siblings whose parent is missing", () => {
    const threads = referencesThreads([
      message(1, "Re: Gone", 1, { messageId: "<1@x>", references: "<root@x>" }),
      message(2, "Re: Gone", 2, { messageId: "<2@x>", references: "<root@x>" }),
    ]);
    expect(encodeThreads(threads)).toBe("((1)(2))");
  });

  it("never links a loop, and treats a repeated Message-ID as a message of its own", () => {
    const looped = referencesThreads([
      message(1, "One", 1, { messageId: "<x@x>", references: "<y@x>" }),
      message(2, "Two", 2, { messageId: "<y@x>", references: "<x@x>" }),
    ]);
    expect(encodeThreads(looped)).toBe("(2 1)");
    const repeated = referencesThreads([
      message(1, "Same", 1, { messageId: "<dup@x>" }),
      message(2, "Same", 2, { messageId: "<dup@x>" }),
    ]);
    expect(encodeThreads(repeated)).toBe("((1)(2))");
  });
});

describe("deep threads", () => {
  it("threads and encodes a reply chain 20,000 deep, and a comb of two replies per message", () => {
    const n = 20_000;
    const chain = Array.from({ length: n }, (_, i) =>
      message(i + 1, "Re: long", i, { messageId: `<c${i}@x>`, references: i > 0 ? `<c${i - 1}@x>` : "" }),
    );
    const ids = Array.from({ length: n }, (_, i) => i + 1).join(" ");
    expect(encodeThreads(referencesThreads(chain))).toBe(`(${ids})`);
    // Every message has a dead-end reply and a reply that goes on: nested lists 1,000 deep.
    const comb: ThreadMessage[] = [];
    for (let i = 0; i < 1_000; i += 1) {
      comb.push(
        message(2 * i + 1, "Comb", 2 * i, {
          messageId: `<k${i}@x>`,
          references: i > 0 ? `<k${i - 1}@x>` : "",
        }),
      );
      comb.push(message(2 * i + 2, "Comb", 2 * i + 1, { messageId: `<d${i}@x>`, references: `<k${i}@x>` }));
    }
    const encoded = encodeThreads(referencesThreads(comb));
    expect(encoded.startsWith("(1 (2)(3 (4)(5 (6)(7")).toBe(true);
    expect(encoded.split("(").length).toBe(encoded.split(")").length);
  });
});

describe("THREAD=ORDEREDSUBJECT", () => {
  it("groups by base subject, the earliest message the parent of the others, threads by date", () => {
    const threads = orderedSubjectThreads([
      message(1, "B", 3),
      message(2, "Re: A", 1),
      message(3, "A", 2),
      message(4, "b", 4),
      message(5, "[list] a", 5),
    ]);
    expect(encodeThreads(threads)).toBe("(2 (3)(5))(1 4)");
  });
});
