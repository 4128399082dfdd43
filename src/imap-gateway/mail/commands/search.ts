// SEARCH and UID SEARCH (RFC 3501 6.4.4), CONDSTORE's MODSEQ key (RFC 7162 3.1.5) and ESEARCH
// RETURN options (RFC 4731). Executed in PostgreSQL by the query module; this module turns what
// belongs to the session (sequence numbers, \Recent) into UID sets first.

import type { SearchKey, UidSet } from "../../../projections/queries/index.ts";
import type { SearchKey as WireKey } from "../../codec/index.ts";
import { encodeSequenceNumbers } from "../../codec/index.ts";
import { bad } from "../../errors.ts";
import { defineCommand, SELECTED } from "../../module.ts";
import type { SelectedMailboxState } from "../../selected/selectedMailbox.ts";
import type { MailServices } from "../services.ts";
import { selectedOf, userIdOf } from "../session.ts";
import { toUidSet } from "./fetch.ts";

const NOTHING: SearchKey = { type: "not", key: { type: "all" } };

function uidKey(uids: readonly number[]): SearchKey {
  return uids.length === 0 ? NOTHING : { type: "uid", uids: toUidSet(uids) as UidSet };
}

function isoDay(date: { year: number; month: number; day: number }): string {
  return `${String(date.year).padStart(4, "0")}-${String(date.month).padStart(2, "0")}-${String(date.day).padStart(2, "0")}`;
}

const ADDRESS_FIELDS = new Set(["from", "to", "cc", "bcc"]);

/** The wire's search key as the query module's criteria, with session-owned parts resolved. */
export function toCriteria(key: WireKey, state: SelectedMailboxState): SearchKey {
  switch (key.type) {
    case "all":
      return { type: "all" };
    case "seq":
    case "uid": {
      const resolved = state.resolve(key.set, key.type === "uid");
      if (!resolved.ok) {
        // A search over numbers that do not exist matches nothing rather than failing (RFC 3501 6.4.4).
        return key.type === "seq" && state.exists === 0
          ? NOTHING
          : (() => {
              throw bad(resolved.message);
            })();
      }
      return uidKey(resolved.uids);
    }
    case "flag":
      if (key.flag === "\\Recent") {
        const recent = state.uids.filter((uid) => state.isRecent(uid));
        return key.present ? uidKey(recent) : { type: "not", key: uidKey(recent) };
      }
      return { type: "flag", flag: key.flag, set: key.present };
    case "header": {
      const field = key.field.toLowerCase();
      if (ADDRESS_FIELDS.has(field))
        return { type: "address", field: field as "from" | "to" | "cc" | "bcc", value: key.value };
      if (field === "subject") return { type: "subject", value: key.value };
      return { type: "header", field: key.field, value: key.value };
    }
    case "body":
      return { type: "body", value: key.value };
    case "text":
      return { type: "text", value: key.value };
    case "date":
      return {
        type: key.field === "internal" ? "internalDate" : "sentDate",
        comparison: key.op,
        date: isoDay(key.date),
      };
    case "size":
      return { type: "size", comparison: key.op, octets: key.size };
    case "age":
      return { type: "age", comparison: key.op, seconds: key.seconds };
    case "objectid": {
      // EMAILIDs are "M" and 32 hex digits of the body's digest (emailIdOf); THREADIDs are all NIL.
      const email = /^M([0-9a-f]{32})$/.exec(key.id);
      return key.kind === "email" && email ? { type: "digestPrefix", prefix: email[1]! } : NOTHING;
    }
    case "modseq":
      return { type: "modseq", modseq: Number(key.modSeq) };
    case "not":
      return { type: "not", key: toCriteria(key.key, state) };
    case "or":
      return { type: "or", left: toCriteria(key.left, state), right: toCriteria(key.right, state) };
    case "and":
      return { type: "and", keys: key.keys.map((inner) => toCriteria(inner, state)) };
    default: {
      const exhaustive: never = key;
      throw bad(`unknown search key ${JSON.stringify(exhaustive)}`);
    }
  }
}

function usesModSeq(key: WireKey): boolean {
  switch (key.type) {
    case "modseq":
      return true;
    case "not":
      return usesModSeq(key.key);
    case "or":
      return usesModSeq(key.left) || usesModSeq(key.right);
    case "and":
      return key.keys.some(usesModSeq);
    default:
      return false;
  }
}

export function searchCommand(services: MailServices) {
  return defineCommand({
    names: ["SEARCH"],
    selectedView: "compares-itself",
    states: SELECTED,
    holdsExpunge: true,
    capabilities: () => ["ESEARCH", "WITHIN", "SEARCHRES"],
    async handle(command, context) {
      const { session } = context;
      const userId = userIdOf(session);
      const controller = selectedOf(session);
      const { criteria, returnOptions } = command.args;
      const save = returnOptions?.includes("SAVE") === true;
      const withModSeq = usesModSeq(criteria);
      if (withModSeq) session.enable(["CONDSTORE"]);

      let result: Awaited<ReturnType<typeof services.queries.search>>;
      try {
        const search = () =>
          services.queries.search(userId, controller.mailboxId, toCriteria(criteria, controller.state));
        result = await search();
        // Contract 9: the mailbox moved since the session looked (another node's change), or a
        // doorbell queued new messages the session has not announced (they have no number yet):
        // look, announce, and search again so the answer includes them in this session's numbering.
        if (
          controller.state.hasUnannouncedAppends ||
          (result.mailboxHighestModSeq !== null &&
            result.mailboxHighestModSeq > controller.state.highestModSeq)
        ) {
          await controller.sync();
          await session.flushUpdates({ holdExpunge: true });
          result = await search();
        }
      } catch (error) {
        // RFC 5182 2.1: a SEARCH that would have saved and failed leaves `$` empty.
        if (save) controller.state.saveSearchResult([]);
        throw error;
      }
      // Only messages this session knows of, in its numbering.
      const found = result.uids.filter((uid) => controller.state.sequenceNumberOf(uid) !== undefined);
      const numbers = command.uid ? found : found.map((uid) => controller.state.sequenceNumberOf(uid)!);
      if (save) {
        // With MIN and/or MAX, only those are saved (RFC 5182 2.4).
        const extremes = returnOptions!.filter((option) => option === "MIN" || option === "MAX");
        const saved =
          extremes.length === 0 || found.length === 0
            ? found
            : [...new Set(extremes.map((option) => (option === "MIN" ? found[0]! : found.at(-1)!)))];
        controller.state.saveSearchResult(saved);
        // SAVE alone: no ESEARCH response.
        if (returnOptions!.length === 1) return undefined;
      }

      if (returnOptions === undefined) {
        const modseq =
          withModSeq && found.length > 0 && result.highestModSeq !== null
            ? ` (MODSEQ ${result.highestModSeq})`
            : "";
        await context.untagged(`SEARCH${numbers.length > 0 ? ` ${numbers.join(" ")}` : ""}${modseq}`);
        return undefined;
      }
      const options = returnOptions.length === 0 ? ["ALL"] : returnOptions;
      const parts = [`(TAG "${context.tag}")`];
      if (command.uid) parts.push("UID");
      if (numbers.length > 0) {
        if (options.includes("MIN")) parts.push(`MIN ${Math.min(...numbers)}`);
        if (options.includes("MAX")) parts.push(`MAX ${Math.max(...numbers)}`);
        if (options.includes("ALL")) parts.push(`ALL ${encodeSequenceNumbers(numbers)}`);
      }
      if (options.includes("COUNT")) parts.push(`COUNT ${numbers.length}`);
      if (withModSeq && found.length > 0 && result.highestModSeq !== null)
        parts.push(`MODSEQ ${result.highestModSeq}`);
      await context.untagged(`ESEARCH ${parts.join(" ")}`);
      return undefined;
    },
  });
}
