// SEARCH and UID SEARCH (RFC 3501 6.4.4), CONDSTORE's MODSEQ key (RFC 7162 3.1.5) and ESEARCH
// RETURN options (RFC 4731); in IMAP4rev2 every SEARCH answers ESEARCH (RFC 9051 6.4.4). Executed in PostgreSQL by the query module; this module turns what
// belongs to the session (sequence numbers, \Recent) into UID sets first.

import type { SearchKey, UidSet } from "../../projections/queries/index.ts";
import { toUidSet } from "../../projections/queries/index.ts";
import type { SortArgs, SearchKey as WireKey } from "../codec/index.ts";
import { bad } from "../errors.ts";
import { enableCondstore, expungedMeanwhile, selectedOf } from "../mail/commandSupport.ts";
import { esearchLine, returnedResults } from "../mail/esearch.ts";
import type { MailServices } from "../mail/services.ts";
import { compareSortKeys, sortFieldsOf, sortKeysOf } from "../mail/sortKeys.ts";
import { speaksRev2, UTF8_ACCEPT } from "../modes.ts";
import { type CommandContext, defineCommand, SELECTED } from "../module.ts";
import type { SelectedMailbox } from "../selected/mailbox.ts";
import type { SelectedMailboxState, SortKeys } from "../selected/state.ts";

/** Messages whose MODSEQ is read per query when an ESEARCH reports it. */
const MODSEQ_CHUNK = 5_000;

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
    case "uid":
      return uidKey(state.matching(key.set, key.type === "uid"));
    case "flag":
      if (key.flag === "\\Recent") {
        const recent = state.uids.filter((uid) => state.isRecent(uid));
        return key.present ? uidKey(recent) : { type: "not", key: uidKey(recent) };
      }
      return { type: "flag", flag: key.flag, set: key.present };
    case "header": {
      const field = key.field.toLowerCase();
      // HEADER field "" matches every message that has the field (RFC 3501 6.4.4), which only
      // the header key asks; the address and subject columns hold a field's text, not whether
      // it is there.
      if (key.value === "") return { type: "header", field: key.field, value: "" };
      if (ADDRESS_FIELDS.has(field))
        return { type: "address", field: field as "from" | "to" | "cc" | "bcc", value: key.value };
      if (field === "subject") return { type: "subject", value: key.value };
      return { type: "header", field: key.field, value: key.value };
    }
    case "body":
      return { type: "body", value: key.value };
    case "text":
      return { type: "text", value: key.value };
    case "savedatesupported":
      // Every mailbox keeps its messages' save dates (RFC 8514 4.2).
      return { type: "all" };
    case "date":
      return {
        type: key.field === "internal" ? "internalDate" : key.field === "sent" ? "sentDate" : "saveDate",
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

/** The highest MODSEQ of these messages (UIDs), read in chunks; null for none. */
export async function highestModSeqOf(
  services: MailServices,
  userId: string,
  mailboxId: string,
  uids: readonly number[],
): Promise<number | null> {
  let highest: number | null = null;
  for (let i = 0; i < uids.length; i += MODSEQ_CHUNK) {
    const rows = await services.queries.fetchMetadata(
      userId,
      mailboxId,
      toUidSet(uids.slice(i, i + MODSEQ_CHUNK)),
    );
    for (const row of rows.messages) highest = Math.max(highest ?? 0, row.modseq ?? 0);
  }
  return highest;
}

/** Live searches one session may keep at once (RFC 5267 4.2: beyond, NOUPDATE). */
export const MAX_LIVE_SEARCHES = 16;

/** Controllers whose session already has the live-search update source. */
const withLiveSearches = new WeakSet<SelectedMailbox>();

/** What a live SORT looks at again: its search, and the order it keeps. */
interface LiveSortCriteria {
  readonly search: SearchKey;
  readonly sort: SortArgs["criteria"];
}

/**
 * SEARCH or SORT RETURN (UPDATE) (RFC 5267 4): the result stays live. The session's tracker drops
 * expunged messages from it (REMOVEFROM before their EXPUNGE); this source looks again at the
 * messages that are new or have new flags, once they are announced, and sends what changed. A
 * live SORT also reads the sort keys of the messages that join it, to tell where they go.
 */
export async function keepLive(
  context: CommandContext,
  controller: SelectedMailbox,
  criteria: SearchKey,
  found: readonly number[],
  uid: boolean,
  sort?: { readonly criteria: SortArgs["criteria"]; readonly keys: Map<number, SortKeys> },
): Promise<void> {
  const { state } = controller;
  if (state.searchContexts.size >= MAX_LIVE_SEARCHES) {
    await context.untagged(`NO [NOUPDATE "${context.tag}"] at most ${MAX_LIVE_SEARCHES} live searches`);
    return;
  }
  if (sort === undefined) {
    state.addSearchContext({ tag: context.tag, uid, criteria, results: found });
  } else {
    const live: LiveSortCriteria = { search: criteria, sort: sort.criteria };
    state.addSearchContext({
      tag: context.tag,
      uid,
      criteria: live,
      results: found,
      order: { uids: [...found], keys: sort.keys, compare: compareSortKeys(sort.criteria) },
    });
  }
  if (withLiveSearches.has(controller)) return;
  withLiveSearches.add(controller);
  const userId = controller.userId;
  context.session.addUpdateSource(async () => {
    if (state.searchContexts.size === 0) return [];
    const looked = state.takeContextDirty();
    if (looked.length === 0) return [];
    const lines: string[] = [];
    for (const live of state.searchContexts.values()) {
      let line: string | undefined;
      if (live.order === undefined) {
        const matching = await controller.queries.search(userId, controller.mailboxId, {
          type: "and",
          keys: [live.criteria as SearchKey, uidKey(looked)],
        });
        line = state.updateSearchContext(live.tag, looked, new Set(matching.uids));
      } else {
        const { search, sort } = live.criteria as LiveSortCriteria;
        const matching = await controller.queries.sortFields(
          userId,
          controller.mailboxId,
          { type: "and", keys: [search, uidKey(looked)] },
          sortFieldsOf(sort),
        );
        const keys = sortKeysOf(matching, sort);
        line = state.updateSearchContext(live.tag, looked, new Set(keys.keys()), keys);
      }
      if (line !== undefined) lines.push(line);
    }
    return lines;
  });
}

export function searchCommand(services: MailServices) {
  return defineCommand({
    names: ["SEARCH"],
    selectedView: "compares-itself",
    states: SELECTED,
    holdsExpunge: true,
    // PARTIAL (RFC 9394) is SEARCH's RETURN option, also taken by ESORT's SORT and UID FETCH.
    // CONTEXT=SEARCH (RFC 5267 4): UPDATE here, CANCELUPDATE in its own module, PARTIAL.
    capabilities: () => ["ESEARCH", "WITHIN", "SEARCHRES", "PARTIAL", "CONTEXT=SEARCH"],
    async handle(command, context) {
      const { session } = context;
      const controller = selectedOf(session);
      const userId = controller.userId;
      const { criteria, partial, charset } = command.args;
      // RFC 6855 3 (erratum 4029): after ENABLE UTF8=ACCEPT every string is UTF-8; a CHARSET
      // would contradict that.
      if (charset !== undefined && session.enabled.has(UTF8_ACCEPT)) {
        throw bad("SEARCH takes no CHARSET once UTF8=ACCEPT is enabled (RFC 6855 3)");
      }
      // IMAP4rev2 answers every SEARCH with ESEARCH, ALL when no RETURN was given (RFC 9051 6.4.4).
      const returnOptions = command.args.returnOptions ?? (speaksRev2(session) ? [] : undefined);
      const save = returnOptions?.includes("SAVE") === true;
      const withModSeq = usesModSeq(criteria);
      const update = returnOptions?.includes("UPDATE") === true;
      if (update && controller.state.searchContexts.has(context.tag)) {
        throw bad(`a live search already has the tag ${context.tag} (RFC 5267 4.2)`);
      }
      if (withModSeq) await enableCondstore(context);

      let result: Awaited<ReturnType<typeof controller.queries.search>>;
      let searched: SearchKey = { type: "all" };
      try {
        const search = async () => {
          searched = toCriteria(criteria, controller.state);
          return controller.queries.search(userId, controller.mailboxId, searched);
        };
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
      if (update) await keepLive(context, controller, searched, found, command.uid);
      if (returnOptions === undefined) {
        const modseq =
          withModSeq && found.length > 0 && result.highestModSeq !== null
            ? ` (MODSEQ ${result.highestModSeq})`
            : "";
        await context.untagged(`SEARCH${numbers.length > 0 ? ` ${numbers.join(" ")}` : ""}${modseq}`);
        return expungedMeanwhile(controller, "SEARCH", result.mailboxHighestModSeq);
      }
      // What the ESEARCH returns: all of it with ALL or COUNT, else what MIN, MAX and PARTIAL name.
      const returned = returnedResults(found, returnOptions, partial);
      if (save) {
        // RFC 5182 2.4: with MIN, MAX (or PARTIAL), only what they return is saved.
        controller.state.saveSearchResult(returned);
        // SAVE alone: no ESEARCH response.
        if (returnOptions.length === 1 && partial === undefined)
          return expungedMeanwhile(controller, "SEARCH", result.mailboxHighestModSeq);
      }
      let modseq: number | null = null;
      if (withModSeq && returned.length > 0) {
        // RFC 4731 3.2 with RFC 7162 3.1.5: the highest MODSEQ of the messages returned; the
        // query's own is over every match, right when the session knows them all.
        modseq =
          returned.length === result.uids.length
            ? result.highestModSeq
            : await highestModSeqOf(services, userId, controller.mailboxId, returned);
      }
      await context.untagged(
        esearchLine({ tag: context.tag, uid: command.uid, results: numbers, returnOptions, partial, modseq }),
      );
      return expungedMeanwhile(controller, "SEARCH", result.mailboxHighestModSeq);
    },
  });
}
