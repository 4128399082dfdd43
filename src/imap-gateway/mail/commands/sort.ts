// SORT and UID SORT (RFC 5256): the messages SEARCH would find, ordered by the sort criteria,
// ties in mailbox order. The query module finds them and reads what the keys are made of; the
// keys themselves (base subject, i;ascii-casemap) are made here.

import type { SortFields } from "../../../projections/queries/index.ts";
import type { SortArgs, SortKey } from "../../codec/index.ts";
import { defineCommand, SELECTED } from "../../module.ts";
import type { MailServices } from "../services.ts";
import { selectedOf, userIdOf } from "../session.ts";
import { asciiCasemapKey, baseSubject } from "../sortKeys.ts";
import { toCriteria } from "./search.ts";

type Comparable = number | Buffer;

function keyOf(key: SortKey, message: SortFields): Comparable {
  switch (key) {
    case "ARRIVAL":
      return message.internalDate;
    case "DATE":
      // RFC 5256: the INTERNALDATE stands in for a Date header that is missing or unparsable.
      return message.sentDate ?? message.internalDate;
    case "SIZE":
      return message.size;
    case "SUBJECT":
      return asciiCasemapKey(baseSubject(message.subject));
    case "FROM":
      return asciiCasemapKey(message.from);
    case "TO":
      return asciiCasemapKey(message.to);
    case "CC":
      return asciiCasemapKey(message.cc);
  }
}

function compare(a: Comparable, b: Comparable): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return Buffer.compare(a as Buffer, b as Buffer);
}

/** The UIDs of `messages` (ascending by UID) in the order of `criteria`. */
export function sortMessages(messages: readonly SortFields[], criteria: SortArgs["criteria"]): number[] {
  const keyed = messages.map((message) => ({
    uid: message.uid,
    keys: criteria.map((criterion) => keyOf(criterion.key, message)),
  }));
  keyed.sort((x, y) => {
    for (let i = 0; i < criteria.length; i += 1) {
      const order = compare(x.keys[i]!, y.keys[i]!);
      if (order !== 0) return criteria[i]!.reverse ? -order : order;
    }
    // Exactly equal: in the order they have in the mailbox (REVERSE does not apply).
    return x.uid - y.uid;
  });
  return keyed.map((message) => message.uid);
}

export function sortCommand(services: MailServices) {
  return defineCommand({
    names: ["SORT"],
    states: SELECTED,
    holdsExpunge: true,
    capabilities: () => ["SORT"],
    async handle(command, context) {
      const { session } = context;
      const controller = selectedOf(session);
      const found = await services.queries.sortFields(
        userIdOf(session),
        controller.mailboxId,
        toCriteria(command.args.search, controller.state),
      );
      // Only messages this session knows of, in its numbering.
      const known = found.filter((message) => controller.state.sequenceNumberOf(message.uid) !== undefined);
      const uids = sortMessages(known, command.args.criteria);
      const numbers = command.uid ? uids : uids.map((uid) => controller.state.sequenceNumberOf(uid)!);
      await context.untagged(`SORT${numbers.length > 0 ? ` ${numbers.join(" ")}` : ""}`);
      return undefined;
    },
  });
}
