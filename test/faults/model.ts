// What the fault suite's clients were told, and what a server that loses and invents nothing must
// hold afterwards. Each message gets one APPEND and at most one follow-up (flag, move, copy or
// expunge), so its possible final states are few; an answer lost with its connection allows both
// outcomes, an OK allows only the done one, and a NO only the not-done one (NO means not done).

export type Outcome = "ok" | "no" | "unknown";
export type FollowUp = "flag" | "move" | "copy" | "expunge";

export interface MessageRecord {
  key: string;
  /** The user whose mailboxes the message lives in: UIDs are per mailbox, so per user. */
  owner: string;
  append: Outcome;
  /** The UID APPENDUID gave, when the APPEND was answered OK. */
  uid?: number;
  followUp?: { kind: FollowUp; outcome: Outcome; copyUid?: number };
}

/** Where a message is found afterwards: its UIDs per mailbox, and whether INBOX's copy is \Flagged. */
export interface Found {
  inbox: number[];
  archive: number[];
  flagged: boolean;
}

export interface Verdict {
  /** Acknowledged operations whose effect is missing. */
  lost: string[];
  /** More copies than any outcome allows. */
  duplicated: string[];
  /** Operations answered NO whose effect is there anyway. */
  noButDone: string[];
  /** A UID that was acknowledged for this message holds another one, or one UID two messages. */
  reused: string[];
}

interface State {
  inbox: number;
  archive: number;
  flagged: boolean | "either";
}

/** Every state the message may be in, given what its client was told. */
export function allowedStates(record: MessageRecord): State[] {
  const appended: State = { inbox: 1, archive: 0, flagged: false };
  const absent: State = { inbox: 0, archive: 0, flagged: false };
  if (record.append === "no") return [absent];
  const base = record.append === "ok" ? [appended] : [absent, appended];
  const follow = record.followUp;
  if (!follow || record.append !== "ok") return base;
  const done: State =
    follow.kind === "flag"
      ? { inbox: 1, archive: 0, flagged: true }
      : follow.kind === "move"
        ? { inbox: 0, archive: 1, flagged: false }
        : follow.kind === "copy"
          ? { inbox: 1, archive: 1, flagged: false }
          : absent;
  if (follow.outcome === "ok") return [done];
  if (follow.outcome === "no") return [appended];
  return [appended, done];
}

function matches(state: State, found: Found): boolean {
  return (
    state.inbox === found.inbox.length &&
    state.archive === found.archive.length &&
    (state.flagged === "either" || found.inbox.length === 0 || state.flagged === found.flagged)
  );
}

/** Sorts each message that matches no allowed state into what went wrong. */
export function judge(records: readonly MessageRecord[], found: ReadonlyMap<string, Found>): Verdict {
  const verdict: Verdict = { lost: [], duplicated: [], noButDone: [], reused: [] };
  const owner = new Map<string, string>();
  const claim = (user: string, mailbox: string, uid: number, key: string) => {
    const held = owner.get(`${user}:${mailbox}:${uid}`);
    if (held !== undefined && held !== key) verdict.reused.push(`${mailbox} UID ${uid}: ${held} and ${key}`);
    owner.set(`${user}:${mailbox}:${uid}`, key);
  };
  for (const record of records) {
    const where = found.get(record.key) ?? { inbox: [], archive: [], flagged: false };
    for (const uid of where.inbox) claim(record.owner, "INBOX", uid, record.key);
    for (const uid of where.archive) claim(record.owner, "Archive", uid, record.key);
    if (record.uid !== undefined) {
      claim(record.owner, "INBOX", record.uid, record.key);
      // An acknowledged UID that holds another message, or that this message left for another.
      if (where.inbox.length > 0 && !where.inbox.includes(record.uid)) {
        verdict.reused.push(`${record.key}: APPENDUID ${record.uid}, found as ${where.inbox.join(",")}`);
      }
    }
    if (record.followUp?.copyUid !== undefined)
      claim(record.owner, "Archive", record.followUp.copyUid, record.key);
    const allowed = allowedStates(record);
    if (allowed.some((state) => matches(state, where))) continue;
    const most = Math.max(...allowed.map((state) => state.inbox + state.archive));
    // Fewer copies than allowed, or as many in the wrong place or with the wrong flag: lost.
    const count = where.inbox.length + where.archive.length;
    const what = `${record.key} (append ${record.append}${record.followUp ? `, ${record.followUp.kind} ${record.followUp.outcome}` : ""}): INBOX ${where.inbox.length}, Archive ${where.archive.length}${where.flagged ? ", flagged" : ""}`;
    // What the NO'd operation would have left, had it been done.
    const ifDone =
      record.append === "no"
        ? allowedStates({ key: record.key, owner: record.owner, append: "ok" })
        : record.followUp?.outcome === "no"
          ? allowedStates({ ...record, followUp: { ...record.followUp, outcome: "ok" } })
          : [];
    if (ifDone.some((state) => matches(state, where))) verdict.noButDone.push(what);
    else if (count > most) verdict.duplicated.push(what);
    else verdict.lost.push(what);
  }
  return verdict;
}
