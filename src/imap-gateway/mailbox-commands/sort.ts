// SORT and UID SORT (RFC 5256): the messages SEARCH would find, ordered by the sort criteria,
// ties in mailbox order; with RETURN (ESORT, RFC 5267 3) answered as an ESEARCH in sort order.
// The query module finds them and reads what the keys are made of; the keys themselves (base
// subject, i;ascii-casemap) are made by mail/sortKeys.ts.

import { bad } from "../errors.ts";
import { expungedMeanwhile, selectedOf } from "../mail/commandSupport.ts";
import { esearchLine, returnedResults } from "../mail/esearch.ts";
import type { MailServices } from "../mail/services.ts";
import { compareSortKeys, sortFieldsOf, sortKeysOf } from "../mail/sortKeys.ts";
import { UTF8_ACCEPT } from "../modes.ts";
import { defineCommand, SELECTED } from "../module.ts";
import { keepLive, toCriteria } from "./search.ts";

export function sortCommand(_services: MailServices) {
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
      // RFC 6855 3 (erratum 4029): once UTF8=ACCEPT is enabled, a charset other than UTF-8 is BAD.
      if (session.enabled.has(UTF8_ACCEPT) && command.args.charset !== "UTF-8") {
        throw bad("SORT takes charset UTF-8 once UTF8=ACCEPT is enabled (RFC 6855 3)");
      }
      const { returnOptions, partial } = command.args;
      const update = returnOptions?.includes("UPDATE") === true;
      if (update && controller.state.searchContexts.has(context.tag)) {
        throw bad(`a live search already has the tag ${context.tag} (RFC 5267 4.2)`);
      }
      const searched = toCriteria(command.args.search, controller.state);
      const found = await controller.queries.sortFields(
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
        await keepLive(context, controller, searched, uids, command.uid, {
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
