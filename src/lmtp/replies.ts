// The LMTP replies (RFC 2033, with the enhanced status codes of RFC 3463) for each recipient's
// outcome. A reply text starting with an enhanced code is sent as it is (see server.ts).
import { isDomainError } from "../commands/errors.ts";
import type { LmtpSettings } from "../config.ts";
import type { DeliveryOutcome } from "./delivery.ts";

export interface LmtpReply {
  code: number;
  /** Starts with the enhanced status code. */
  text: string;
}

/** What the metrics count a recipient's outcome as. */
export type DeliveryResult =
  | "delivered"
  | "duplicate"
  | "unknown_user"
  | "over_quota"
  | "too_big"
  | "refused"
  | "temporary_failure";

export function unknownRecipientReply(address: string, reason: string): LmtpReply {
  switch (reason) {
    case "domain-not-served":
      return { code: 550, text: `5.1.2 <${address}>: this server does not deliver mail for that domain` };
    case "bad-address":
      return { code: 553, text: `5.1.3 <${address}>: not a mailbox address` };
    default:
      return { code: 550, text: `5.1.1 <${address}>: no such user here` };
  }
}

export function tooBigReply(address: string, size: number, limit: number): LmtpReply {
  return {
    code: 552,
    text: `5.3.4 <${address}>: the message is ${size} octets, above this mailbox's limit of ${limit}`,
  };
}

export function outcomeReply(
  address: string,
  outcome: DeliveryOutcome,
  quotaReply: LmtpSettings["quotaReply"],
): { reply: LmtpReply; result: DeliveryResult } {
  switch (outcome.status) {
    case "delivered":
      return {
        reply: {
          code: 250,
          text: `2.0.0 <${address}> delivered to ${outcome.mailboxName}, UID ${outcome.uid}`,
        },
        result: "delivered",
      };
    case "duplicate":
      return {
        reply: {
          code: 250,
          text: `2.0.0 <${address}> already delivered to ${outcome.mailboxName} (UID ${outcome.uid}); not stored again`,
        },
        result: "duplicate",
      };
    case "failed":
      return failureReply(address, outcome.error, quotaReply);
    default: {
      const unknown: never = outcome;
      throw new Error(`no reply for ${JSON.stringify(unknown)}`);
    }
  }
}

function failureReply(
  address: string,
  error: unknown,
  quotaReply: LmtpSettings["quotaReply"],
): { reply: LmtpReply; result: DeliveryResult } {
  if (!isDomainError(error)) {
    return {
      reply: {
        code: 451,
        text: `4.3.0 <${address}>: local error while storing the message; try again later`,
      },
      result: "temporary_failure",
    };
  }
  switch (error.code) {
    case "OVERQUOTA":
      return {
        reply:
          quotaReply === "temporary"
            ? { code: 452, text: `4.2.2 <${address}>: mailbox is over quota; try again later` }
            : { code: 552, text: `5.2.2 <${address}>: mailbox is over quota` },
        result: "over_quota",
      };
    case "TOOBIG":
      return { reply: { code: 552, text: `5.3.4 <${address}>: ${error.message}` }, result: "too_big" };
    case "TRYCREATE":
    case "NONEXISTENT":
      return {
        reply: { code: 550, text: `5.1.1 <${address}>: no such user or mailbox here` },
        result: "refused",
      };
    case "LIMIT":
      return { reply: { code: 552, text: `5.2.2 <${address}>: ${error.message}` }, result: "refused" };
    case "INUSE":
      return {
        reply: { code: 451, text: `4.2.0 <${address}>: mailbox busy; try again later` },
        result: "temporary_failure",
      };
    default:
      return {
        reply: { code: 451, text: `4.3.0 <${address}>: ${error.message}; try again later` },
        result: "temporary_failure",
      };
  }
}
