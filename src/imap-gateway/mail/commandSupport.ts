// Small helpers every mailbox command module uses: who the user is, which mailbox is selected.
import type { SequenceSet } from "../codec/index.ts";
import { bad, no } from "../errors.ts";
import type { CommandContext, CommandOutcome, SessionControl } from "../module.ts";
import { SelectedMailbox } from "../selected/mailbox.ts";

export function userIdOf(session: SessionControl): string {
  const user = session.user;
  if (user === undefined) throw no("not authenticated");
  return user.userId;
}

/** The session's selected mailbox controller (the gatekeeper already checked the state). */
export function selectedOf(session: SessionControl): SelectedMailbox {
  const selected = session.selected;
  if (!(selected instanceof SelectedMailbox)) throw no("no mailbox is selected");
  return selected;
}

export function requireWritable(controller: SelectedMailbox, what: string): void {
  if (controller.readOnly)
    throw no(`${what} is not allowed: the mailbox is open read-only (EXAMINE)`, "READ-ONLY");
}

/**
 * Contract 9 for a command that compares in its own read (CommandModule.selectedView): when its
 * UID set may name messages the session has not been told of (another node appended them), the
 * session looks first and announces them, so the set resolves to them too.
 */
export async function lookFirstIfUnknown(
  context: CommandContext,
  controller: SelectedMailbox,
  set: SequenceSet,
  byUid: boolean,
): Promise<void> {
  if (!byUid || !controller.namesUnknownUids(set)) return;
  await controller.sync();
  await context.session.flushUpdates({ holdExpunge: true });
}

/** The UIDs a (UID) sequence set names in this session's view, or BAD when it names nothing valid. */
export function resolveUids(controller: SelectedMailbox, set: SequenceSet, byUid: boolean): number[] {
  const resolved = controller.state.resolve(set, byUid);
  if (!resolved.ok) throw bad(resolved.message);
  return resolved.uids;
}

/**
 * A CONDSTORE enabling command (RFC 7162 3.1: FETCH or SEARCH naming MODSEQ, FETCH CHANGEDSINCE,
 * STORE UNCHANGEDSINCE, STATUS HIGHESTMODSEQ, SELECT/EXAMINE with CONDSTORE) turns CONDSTORE on
 * for the rest of the session. The first one issued while a mailbox is selected also reports that
 * mailbox's HIGHESTMODSEQ, which the client had no reason to record at SELECT.
 */
export async function enableCondstore(context: CommandContext): Promise<void> {
  const { session } = context;
  if (session.enable(["CONDSTORE"]).length === 0) return;
  const selected = session.selected;
  if (selected instanceof SelectedMailbox) {
    await context.untagged(`OK [HIGHESTMODSEQ ${selected.state.highestModSeq}] Highest`);
  }
}

export type { CommandContext };

/**
 * The tagged OK of a SEARCH, SORT or THREAD whose result may lack messages the client still has
 * (expunged by another session, their EXPUNGE held back until a command that may carry it):
 * OK [EXPUNGEISSUED] (RFC 5530), so the client knows to look again after the next NOOP. The
 * query may have seen an expunge the session had not read yet (committed after it last looked):
 * the session reads what changed first, unless the query saw the mailbox as the session knows
 * it (`seenHighestModSeq`, when the query reports it). What it reads stays pending.
 */
export async function expungedMeanwhile(
  controller: SelectedMailbox,
  name: string,
  seenHighestModSeq?: number | null,
): Promise<CommandOutcome | undefined> {
  const moved =
    seenHighestModSeq === undefined ||
    (seenHighestModSeq !== null && seenHighestModSeq > controller.state.highestModSeq);
  if (moved) await controller.sync();
  if (!controller.state.expungedUnannounced) return undefined;
  return {
    code: "EXPUNGEISSUED",
    text: `${name} completed; messages expunged meanwhile are not in the result`,
  };
}
