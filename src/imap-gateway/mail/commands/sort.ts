// SORT and UID SORT (RFC 5256): the messages SEARCH would find, ordered by the sort criteria,
// ties in mailbox order; with RETURN (ESORT, RFC 5267 3) answered as an ESEARCH in sort order. The query module finds them and reads what the keys are made of; the
// keys themselves (base subject, i;ascii-casemap) are made here.

import { decodeEncodedWords } from "../../../projections/mime/index.ts";
import type { SortField, SortFields } from "../../../projections/queries/index.ts";
import type { SortArgs, SortKey } from "../../codec/index.ts";
import { defineCommand, SELECTED } from "../../module.ts";
import { esearchLine, returnedResults } from "../esearch.ts";
import type { MailServices } from "../services.ts";
import { selectedOf, userIdOf } from "../session.ts";
import { asciiCasemapKey, baseSubject } from "../sortKeys.ts";
import { toCriteria } from "./search.ts";

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

/** The UIDs of `messages` (ascending by UID) in the order of `criteria`. */
export function sortMessages(messages: readonly SortFields[], criteria: SortArgs["criteria"]): number[] {
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
    selectedView: "looks-first",
    states: SELECTED,
    holdsExpunge: true,
    capabilities: () => ["SORT", "SORT=DISPLAY", "ESORT"],
    async handle(command, context) {
      const { session } = context;
      const controller = selectedOf(session);
      const found = await services.queries.sortFields(
        userIdOf(session),
        controller.mailboxId,
        toCriteria(command.args.search, controller.state),
        sortFieldsOf(command.args.criteria),
      );
      // Only messages this session knows of, in its numbering.
      const known = found.filter((message) => controller.state.sequenceNumberOf(message.uid) !== undefined);
      const uids = sortMessages(known, command.args.criteria);
      const numbers = command.uid ? uids : uids.map((uid) => controller.state.sequenceNumberOf(uid)!);
      const { returnOptions, partial } = command.args;
      if (returnOptions === undefined) {
        await context.untagged(`SORT${numbers.length > 0 ? ` ${numbers.join(" ")}` : ""}`);
        return undefined;
      }
      // ESORT (RFC 5267 3): an ESEARCH in sort order; SAVE keeps what it returns (RFC 5182).
      if (returnOptions.includes("SAVE")) {
        controller.state.saveSearchResult(
          returnedResults(uids, returnOptions, partial).sort((a, b) => a - b),
        );
        if (returnOptions.length === 1 && partial === undefined) return undefined;
      }
      await context.untagged(
        esearchLine({ tag: context.tag, uid: command.uid, results: numbers, returnOptions, partial }),
      );
      return undefined;
    },
  });
}
