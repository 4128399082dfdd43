import { describe, expect, it } from "vitest";
import { DomainError } from "../commands/errors.ts";
import { bareLineBreak, deliveryHeaders } from "./delivery.ts";
import { domainAccepted, parseRecipient } from "./recipients.ts";
import { outcomeReply } from "./replies.ts";

describe("parseRecipient", () => {
  it("splits user+detail@domain, the local part and domain lowercased, the detail as given", () => {
    expect(parseRecipient("Alice+Lists@Example.ORG", "+")).toEqual({
      local: "alice",
      detail: "Lists",
      domain: "example.org",
    });
    expect(parseRecipient("alice@example.org", "+")).toEqual({
      local: "alice",
      detail: null,
      domain: "example.org",
    });
    expect(parseRecipient("alice-work@example.org", "-")!.detail).toBe("work");
  });

  it("keeps the delimiter in the local part when there is none configured", () => {
    expect(parseRecipient("a+b@example.org", "")).toEqual({
      local: "a+b",
      detail: null,
      domain: "example.org",
    });
  });

  it("gives null for an address without a local part", () => {
    expect(parseRecipient("@example.org", "+")).toBeNull();
    expect(parseRecipient("+x@example.org", "+")).toBeNull();
  });
});

describe("domainAccepted", () => {
  it("accepts any domain without a list, else only the listed ones", () => {
    expect(domainAccepted("example.org", null)).toBe(true);
    expect(domainAccepted("example.org", ["example.org"])).toBe(true);
    expect(domainAccepted("example.net", ["example.org"])).toBe(false);
    expect(domainAccepted("", ["example.org"])).toBe(false);
  });
});

describe("deliveryHeaders", () => {
  it("adds Return-Path, and Delivered-To only for a single recipient (as Dovecot)", () => {
    expect(deliveryHeaders("s@example.net", ["a@example.org"]).toString()).toBe(
      "Return-Path: <s@example.net>\r\nDelivered-To: a@example.org\r\n",
    );
    expect(deliveryHeaders("", ["a@example.org", "b@example.org"]).toString()).toBe("Return-Path: <>\r\n");
  });
});

describe("bareLineBreak", () => {
  it("finds a LF without CR and a CR without LF", () => {
    expect(bareLineBreak(Buffer.from("a\r\nb\r\n"))).toBe(-1);
    expect(bareLineBreak(Buffer.from("a\r\nb\nc\r\n"))).toBe(4);
    expect(bareLineBreak(Buffer.from("\na"))).toBe(0);
    expect(bareLineBreak(Buffer.from("a\rb\r\n"))).toBe(1);
  });
});

describe("outcomeReply", () => {
  const failed = (error: unknown) => ({ status: "failed" as const, error });
  it("says over quota permanently or temporarily as the operator chose", () => {
    const over = failed(new DomainError("OVERQUOTA", "over"));
    expect(outcomeReply("a@x", over, "permanent").reply).toEqual({
      code: 552,
      text: "5.2.2 <a@x>: mailbox is over quota",
    });
    expect(outcomeReply("a@x", over, "temporary").reply.code).toBe(452);
    expect(outcomeReply("a@x", over, "temporary").reply.text).toMatch(/^4\.2\.2 /);
  });

  it("answers too big with 552 5.3.4 and trouble with 451 4.3.0, never 250", () => {
    expect(outcomeReply("a@x", failed(new DomainError("TOOBIG", "big")), "permanent").reply).toEqual({
      code: 552,
      text: "5.3.4 <a@x>: big",
    });
    const trouble = outcomeReply("a@x", failed(new Error("connection terminated")), "permanent");
    expect(trouble).toEqual({
      reply: { code: 451, text: "4.3.0 <a@x>: local error while storing the message; try again later" },
      result: "temporary_failure",
    });
  });
});
