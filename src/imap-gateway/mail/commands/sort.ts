// SORT and UID SORT (RFC 5256): the messages SEARCH would find, ordered by the sort criteria,
// ties in mailbox order; with RETURN (ESORT, RFC 5267 3) answered as an ESEARCH in sort order. The query module finds them and reads what the keys are made of; the
// keys themselves (base subject, i;ascii-casemap) are made here.

import { decodeEncodedWords } from "../../../projections/mime/index.ts";
import type { SortField, SortFields } from "../../../projections/queries/index.ts";
import type { SortArgs, SortKey } from "../../codec/index.ts";
import { bad } from "../../errors.ts";
import { defineCommand, SELECTED } from "../../module.ts";
import { esearchLine, returnedResults } from "../esearch.ts";
import type { MailServices } from "../services.ts";
import { expungedMeanwhile, selectedOf } from "../session.ts";
import { asciiCasemapKey, baseSubject } from "../sortKeys.ts";
import { keepLive, toCriteria } from "./search.ts";

type Comparable = number | Buffer;

/** What each sort key is made of. */
const FIELDS: Record<SortKey, readonly SortField[]> = {
  ARRIVAL: ["internalDate"],
  DATE: ["sentDate", "internalDate"],
  SIZE: ["size"],
  SUBJECT: ["subject"],
  FROM: ["from"],
  TO: ["to"],
  CC: ["cc"],
  DISPLAYFROM: ["displayFrom"],
  DISPLAYTO: ["displayTo"],
};

export function sortFieldsOf(criteria: SortArgs["criteria"]): SortField[] {
  return [...new Set(criteria.flatMap((criterion) => FIELDS[criterion.key]))];
}

function compare(a: Comparable, b: Comparable): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return Buffer.compare(a as Buffer, b as Buffer);
}

/** Each message's sort keys (RFC 5256, RFC 5957), in the order of `criteria`. */
export function sortKeysOf(
  messages: readonly SortFields[],
  criteria: SortArgs["criteria"],
): Map<number, Comparable[]> {
  // Many messages share a subject (a thread) or a sender: each distinct text is keyed once.
  const subjects = new Map<string, Buffer>();
  const texts = new Map<string, Buffer>();
  const displays = new Map<string, Buffer>();
  const cached = (cache: Map<string, Buffer>, text: string, make: (text: string) => Buffer) => {
    let key = cache.get(text);
    if (key === undefined) {
      key = make(text);
      cache.set(text, key);
    }
    return key;
  };
  const keyOf = (key: SortKey, message: SortFields): Comparable => {
    switch (key) {
      case "ARRIVAL":
        return message.internalDate;
      case "DATE":
        // RFC 5256: the INTERNALDATE stands in for a Date header that is missing or unparsable.
        return message.sentDate ?? message.internalDate;
      case "SIZE":
        return message.size;
      case "SUBJECT":
        return cached(subjects, message.subject, (subject) => asciiCasemapKey(baseSubject(subject)));
      case "FROM":
        return cached(texts, message.from, asciiCasemapKey);
      case "TO":
        return cached(texts, message.to, asciiCasemapKey);
      case "CC":
        return cached(texts, message.cc, asciiCasemapKey);
      // RFC 5957: the display name, decoded, else the address.
      case "DISPLAYFROM":
        return cached(displays, message.displayFrom, (name) =>
          asciiCasemapKey(decodeEncodedWords(name).trim()),
        );
      case "DISPLAYTO":
        return cached(displays, message.displayTo, (name) =>
          asciiCasemapKey(decodeEncodedWords(name).trim()),
        );
    }
  };
  return new Map(
    messages.map((message) => [message.uid, criteria.map((criterion) => keyOf(criterion.key, message))]),
  );
}

/** The order of `criteria` over keys made by sortKeysOf; 0 for exactly equal keys. */
export function compareSortKeys(
  criteria: SortArgs["criteria"],
): (a: readonly Comparable[], b: readonly Comparable[]) => number {
  return (a, b) => {
    for (let i = 0; i < criteria.length; i += 1) {
      const order = compare(a[i]!, b[i]!);
      if (order !== 0) return criteria[i]!.reverse ? -order : order;
    }
    return 0;
  };
}

/** The UIDs of `messages` (ascending by UID) in the order of `criteria`. */
export function sortMessages(messages: readonly SortFields[], criteria: SortArgs["criteria"]): number[] {
  const keys = sortKeysOf(messages, criteria);
  const byKeys = compareSortKeys(criteria);
  // Exactly equal: in the order they have in the mailbox (REVERSE does not apply).
  return messages.map((message) => message.uid).sort((x, y) => byKeys(keys.get(x)!, keys.get(y)!) || x - y);
}

export function sortCommand(services: MailServices) {
  return defineCommand({
    names: ["SORT"],
    selectedView: "looks-first",
    states: SELECTED,
    holdsExpunge: true,
    // CONTEXT=SORT (RFC 5267 4): RETURN (UPDATE) keeps the sorted result live, ADDTO with positions.
    capabilities: () => ["SORT", "SORT=DISPLAY", "ESORT", "CONTEXT=SORT"],
    async handle(command, context) {
      const { session } = context;
      const controller = selectedOf(session);
      const { returnOptions, partial } = command.args;
      const update = returnOptions?.includes("UPDATE") === true;
      if (update && controller.state.searchContexts.has(context.tag)) {
        throw bad(`a live search already has the tag ${context.tag} (RFC 5267 4.2)`);
      }
      const searched = toCriteria(command.args.search, controller.state);
      const found = await services.queries.sortFields(
        controller.userId,
        controller.mailboxId,
        searched,
        sortFieldsOf(command.args.criteria),
      );
      // Only messages this session knows of, in its numbering.
      const known = found.filter((message) => controller.state.sequenceNumberOf(message.uid) !== undefined);
      const keys = sortKeysOf(known, command.args.criteria);
      const byKeys = compareSortKeys(command.args.criteria);
      // Exactly equal: in the order they have in the mailbox (REVERSE does not apply).
      const uids = known
        .map((message) => message.uid)
        .sort((x, y) => byKeys(keys.get(x)!, keys.get(y)!) || x - y);
      const numbers = command.uid ? uids : uids.map((uid) => controller.state.sequenceNumberOf(uid)!);
      if (update) {
        await keepLive(services, context, controller, searched, uids, command.uid, {
          criteria: command.args.criteria,
          keys,
        });
      }
      if (returnOptions === undefined) {
        await context.untagged(`SORT${numbers.length > 0 ? ` ${numbers.join(" ")}` : ""}`);
        return expungedMeanwhile(controller, "SORT");
      }
      // ESORT (RFC 5267 3): an ESEARCH in sort order; SAVE keeps what it returns (RFC 5182).
      if (returnOptions.includes("SAVE")) {
        controller.state.saveSearchResult(
          returnedResults(uids, returnOptions, partial).sort((a, b) => a - b),
        );
        if (returnOptions.length === 1 && partial === undefined) return expungedMeanwhile(controller, "SORT");
      }
      await context.untagged(
        esearchLine({ tag: context.tag, uid: command.uid, results: numbers, returnOptions, partial }),
      );
      return expungedMeanwhile(controller, "SORT");
    },
  });
}
