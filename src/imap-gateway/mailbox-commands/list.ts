// LIST and LSUB (RFC 3501 6.3.8, 6.3.9) with CHILDREN (RFC 3348), LIST-EXTENDED (RFC 5258),
// SPECIAL-USE (RFC 6154) and LIST-STATUS (RFC 5819). The query module gives every mailbox of the
// user and every subscription; which of them a command names, and with which attributes, is
// decided here by pure functions (listEntries), so the rules are tested without a server.

import { mailboxesSharedWith, type SharedMailbox } from "../../commands/acl/handlers.ts";
import { ALL_RIGHTS } from "../../commands/acl/rights.ts";
import { MAILBOX_HIERARCHY_SEPARATOR, SPECIAL_USES } from "../../events/domain/common.ts";
import { type ListedMailbox, listPatternRegExp } from "../../projections/queries/index.ts";
import { encodeMailbox, type ListArgs, type StatusItem } from "../codec/index.ts";
import { enableCondstore, userIdOf } from "../mail/commandSupport.ts";
import type { MailServices } from "../mail/services.ts";
import { queriesAs, SHARED_PREFIX, SHARED_ROOT, sharedName } from "../mail/sharedNamespace.ts";
import { utf8Names } from "../modes.ts";
import { AUTHENTICATED_OR_SELECTED, type CommandContext, defineCommand } from "../module.ts";
import { refuseRecentInRev2, sendStatus, statusFacts } from "./status.ts";

const SEP = MAILBOX_HIERARCHY_SEPARATOR;
const SPECIAL_USE_ATTRIBUTES: ReadonlySet<string> = new Set(SPECIAL_USES);

/** One `* LIST` / `* LSUB` line to send. */
export interface ListEntry {
  readonly name: string;
  readonly attributes: readonly string[];
  /** RFC 5258 CHILDINFO extended data: selection criteria some inferior matches. */
  readonly childInfo: readonly string[];
  /** The mailbox exists and can be selected: LIST-STATUS sends STATUS for these. */
  readonly selectable: boolean;
}

export interface ListRequest {
  readonly command: "LIST" | "LSUB";
  readonly reference: string;
  readonly patterns: readonly string[];
  /** Upper-cased RFC 5258 selection options. */
  readonly selection: readonly string[];
  /** Upper-cased RFC 5258 return options. */
  readonly returnOptions: readonly string[];
  readonly extended: boolean;
}

/**
 * What the user has: `mailboxes` every existing name (attributes as the query gives them,
 * \Subscribed included), `subscriptions` every subscribed name, existing or not.
 */
export interface Namespace {
  readonly mailboxes: readonly ListedMailbox[];
  readonly subscriptions: ReadonlySet<string>;
}

function superiorsOf(name: string): string[] {
  const levels = name.split(SEP);
  return levels.slice(0, -1).map((_, index) => levels.slice(0, index + 1).join(SEP));
}

function compareNames(a: string, b: string): number {
  // INBOX first, as clients expect; then code-point order.
  if (a === b) return 0;
  if (a === "INBOX") return -1;
  if (b === "INBOX") return 1;
  return a < b ? -1 : 1;
}

function matcherFor(reference: string, patterns: readonly string[]): (name: string) => boolean {
  const regexps = patterns.filter((pattern) => pattern !== "").map((p) => listPatternRegExp(reference, p));
  return (name) => regexps.some((regexp) => regexp.test(name));
}

/** Existing attributes without \Subscribed (which only some forms of LIST return). */
function baseAttributes(mailbox: ListedMailbox): string[] {
  return mailbox.attributes.filter(
    (attribute) => attribute !== "\\Subscribed" && attribute !== "\\NonExistent",
  );
}

/** Which names a LIST or LSUB names, in order, with their attributes. Pure. */
export function listEntries(request: ListRequest, namespace: Namespace): ListEntry[] {
  const matches = matcherFor(request.reference, request.patterns);
  const existing = new Map(namespace.mailboxes.map((mailbox) => [mailbox.name, mailbox]));
  const entries = new Map<string, ListEntry>();

  if (request.command === "LSUB") {
    // RFC 3501 6.3.9: with "%", a level above a subscribed name is listed as \Noselect when it
    // is not subscribed itself.
    const percentOnly = request.patterns.some((pattern) => pattern.includes("%"));
    for (const name of namespace.subscriptions) {
      const candidates = [name, ...(percentOnly ? superiorsOf(name) : [])];
      for (const candidate of candidates) {
        if (entries.has(candidate) || !matches(candidate)) continue;
        const mailbox = existing.get(candidate);
        const subscribed = namespace.subscriptions.has(candidate);
        const attributes =
          mailbox && subscribed
            ? baseAttributes(mailbox)
            : ["\\Noselect", ...(mailbox ? baseAttributes(mailbox).filter((a) => a !== "\\Noselect") : [])];
        entries.set(candidate, {
          name: candidate,
          attributes,
          childInfo: [],
          selectable: mailbox !== undefined && subscribed && !attributes.includes("\\Noselect"),
        });
      }
    }
    return [...entries.values()].sort((a, b) => compareNames(a.name, b.name));
  }

  const subscribedSelection = request.selection.includes("SUBSCRIBED");
  const specialUseSelection = request.selection.includes("SPECIAL-USE");
  const recursive = request.selection.includes("RECURSIVEMATCH");
  const showSubscribed = subscribedSelection || request.returnOptions.includes("SUBSCRIBED");

  const selected = (name: string): boolean => {
    if (subscribedSelection && !namespace.subscriptions.has(name)) return false;
    if (specialUseSelection) {
      const mailbox = existing.get(name);
      if (!mailbox?.attributes.some((attribute) => SPECIAL_USE_ATTRIBUTES.has(attribute))) return false;
    }
    return true;
  };
  const attributesOf = (name: string): string[] => {
    const mailbox = existing.get(name);
    // RFC 5258 3.4: \NonExistent implies \Noselect, and has no children attributes.
    const attributes = mailbox ? baseAttributes(mailbox) : ["\\NonExistent"];
    if (showSubscribed && namespace.subscriptions.has(name)) attributes.push("\\Subscribed");
    return attributes;
  };

  const candidates = new Set<string>(existing.keys());
  if (subscribedSelection) for (const name of namespace.subscriptions) candidates.add(name);
  // RFC 5258 3.1 and 3.5: with RECURSIVEMATCH, a name whose inferior meets the selection is
  // listed (CHILDINFO) even if it does not meet it itself. An inferior the patterns list is
  // reported by its own line, and one that is not by its nearest listed superior only, so no
  // name is reported twice (as Dovecot and Cyrus answer RFC 5258's examples).
  const childInfoOf = new Set<string>();
  if (recursive) {
    for (const name of candidates) {
      if (!selected(name) || matches(name)) continue;
      const reporter = superiorsOf(name).reverse().find(matches);
      if (reporter !== undefined) childInfoOf.add(reporter);
    }
  }
  for (const name of candidates) {
    if (!matches(name)) continue;
    const meets = selected(name);
    const hasChildInfo = childInfoOf.has(name);
    if (!meets && !hasChildInfo) continue;
    const mailbox = existing.get(name);
    const attributes = attributesOf(name);
    entries.set(name, {
      name,
      attributes,
      childInfo: hasChildInfo ? request.selection.filter((option) => option === "SUBSCRIBED") : [],
      selectable: mailbox !== undefined && !attributes.includes("\\Noselect"),
    });
  }
  return [...entries.values()].sort((a, b) => compareNames(a.name, b.name));
}

/** The line after `* `, as parts; the name is modified UTF-7 (or UTF-8 with UTF8=ACCEPT). */
export function listLine(command: "LIST" | "LSUB", entry: ListEntry, utf8: boolean): (string | Buffer)[] {
  const childInfo =
    entry.childInfo.length > 0 ? ` ("CHILDINFO" (${entry.childInfo.map((c) => `"${c}"`).join(" ")}))` : "";
  return [
    `${command} (${entry.attributes.join(" ")}) "${SEP}" `,
    encodeMailbox(entry.name, { utf8 }),
    ...(childInfo ? [childInfo] : []),
  ];
}

/** `LIST "" ""`: the hierarchy delimiter and the root name (RFC 3501 6.3.8). */
export function delimiterLine(command: "LIST" | "LSUB"): string {
  return `${command} (\\Noselect) "${SEP}" ""`;
}

/** The user's own namespace, and the other users' mailboxes it may look up ("l"), by shown name. */
interface UserNamespace extends Namespace {
  readonly shared: ReadonlyMap<string, SharedMailbox>;
}

/**
 * Other users' mailboxes shared with the user, as Shared/<owner>/<name>, under \Noselect levels
 * "Shared" and "Shared/<owner>" (RFC 4314 and RFC 2342's other users' namespace).
 */
function sharedEntries(
  shared: readonly SharedMailbox[],
  subscriptions: ReadonlySet<string>,
  own: ReadonlySet<string>,
): ListedMailbox[] {
  const names = new Set(shared.map((mailbox) => sharedName(mailbox.ownerName, mailbox.name)));
  const hasChildren = (name: string) => {
    const prefix = name + SEP;
    for (const other of names) if (other.startsWith(prefix)) return true;
    return false;
  };
  const entries: ListedMailbox[] = [];
  const levels = new Set<string>();
  for (const mailbox of shared) {
    const name = sharedName(mailbox.ownerName, mailbox.name);
    for (const level of [SHARED_ROOT, ...superiorsOf(name).slice(1)]) {
      if (names.has(level) || levels.has(level) || own.has(level)) continue;
      levels.add(level);
      entries.push({
        name: level,
        delimiter: SEP,
        attributes: ["\\Noselect", "\\HasChildren"],
        mailboxId: null,
      });
    }
    const attributes = [
      ...(mailbox.selectable ? [] : ["\\Noselect"]),
      hasChildren(name) ? "\\HasChildren" : "\\HasNoChildren",
      ...(subscriptions.has(name) ? ["\\Subscribed"] : []),
    ];
    entries.push({ name, delimiter: SEP, attributes, mailboxId: mailbox.mailboxId });
  }
  return entries;
}

export async function readNamespace(
  services: MailServices,
  userId: string,
  withSubscriptions: boolean,
): Promise<UserNamespace> {
  const own = await services.queries.listMailboxes(userId, { pattern: "*" });
  const visible = (await mailboxesSharedWith(services.pool, userId)).filter((m) => m.rights.includes("l"));
  const shared = new Map(visible.map((mailbox) => [sharedName(mailbox.ownerName, mailbox.name), mailbox]));
  // A mailbox of the user's own under the other users' prefix (made before there was one) is
  // hidden by it: that name reaches other users' mailboxes alone.
  // The user's own "Shared", if any, stays; it has the shared mailboxes as inferiors then.
  const mailboxes = own
    .filter((m) => !m.name.startsWith(SHARED_PREFIX))
    .map((m) =>
      m.name === SHARED_ROOT && visible.length > 0
        ? { ...m, attributes: m.attributes.map((a) => (a === "\\HasNoChildren" ? "\\HasChildren" : a)) }
        : m,
    );
  if (!withSubscriptions && visible.length === 0) {
    return {
      mailboxes,
      subscriptions: new Set(
        mailboxes.filter((m) => m.attributes.includes("\\Subscribed")).map((m) => m.name),
      ),
      shared,
    };
  }
  const subscribed = await services.queries.listMailboxes(userId, { pattern: "*", subscribedOnly: true });
  const subscriptions = new Set(subscribed.map((m) => m.name));
  return {
    mailboxes: [
      ...mailboxes,
      ...sharedEntries(visible, subscriptions, new Set(mailboxes.map((m) => m.name))),
    ],
    subscriptions,
    shared,
  };
}

async function answerList(
  services: MailServices,
  context: CommandContext,
  request: ListRequest,
  returnStatus: readonly StatusItem[] | undefined,
): Promise<void> {
  const userId = userIdOf(context.session);
  const utf8 = utf8Names(context.session);
  const needsNonExistent = request.command === "LSUB" || request.selection.includes("SUBSCRIBED");
  if (request.patterns.length > 0 && request.patterns.every((pattern) => pattern === "")) {
    await context.untagged(delimiterLine(request.command));
    return;
  }
  const namespace = await readNamespace(services, userId, needsNonExistent);
  const myRights = request.returnOptions.includes("MYRIGHTS");
  const existing = new Set(namespace.mailboxes.filter((m) => m.mailboxId !== null).map((m) => m.name));
  for (const entry of listEntries(request, namespace)) {
    await context.untagged(...listLine(request.command, entry, utf8));
    const shared = namespace.shared.get(entry.name);
    if (returnStatus !== undefined && returnStatus.length > 0 && entry.selectable) {
      // RFC 5819: a mailbox that vanished in between is simply not reported; nor is another
      // user's that the user may not read (RFC 4314 4: STATUS needs "r").
      const ownerId = shared?.ownerId ?? userId;
      const found =
        shared === undefined || shared.rights.includes("r")
          ? await queriesAs(services, { ownerId, actorId: userId }).mailboxStatus(
              ownerId,
              shared?.name ?? entry.name,
            )
          : null;
      if (found?.selectable) {
        const status = { ...found, name: entry.name };
        await sendStatus(
          context,
          status,
          returnStatus,
          await statusFacts(services, context, ownerId, status, returnStatus),
        );
      }
    }
    // RFC 8440: the user's rights on each mailbox listed that exists.
    if (myRights && existing.has(entry.name)) {
      await context.untagged(
        "MYRIGHTS ",
        encodeMailbox(entry.name, { utf8 }),
        ` ${shared === undefined ? ALL_RIGHTS : shared.rights}`,
      );
    }
  }
}

export function listCommand(services: MailServices) {
  return defineCommand({
    names: ["LIST", "LSUB"],
    states: AUTHENTICATED_OR_SELECTED,
    capabilities: () => ["CHILDREN", "LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE"],
    async handle(command, context) {
      if (command.name === "LSUB") {
        const request: ListRequest = {
          command: "LSUB",
          reference: command.args.reference,
          patterns: command.args.patterns,
          selection: [],
          returnOptions: [],
          extended: false,
        };
        await answerList(services, context, request, undefined);
        return { text: "LSUB completed" };
      }
      const args: ListArgs = command.args;
      refuseRecentInRev2(context, args.returnStatus ?? []);
      if (args.returnStatus?.includes("HIGHESTMODSEQ")) await enableCondstore(context);
      const request: ListRequest = {
        command: "LIST",
        reference: args.reference,
        patterns: args.patterns,
        selection: args.selectionOptions,
        returnOptions: args.returnOptions,
        extended: args.extended,
      };
      await answerList(services, context, request, args.returnStatus);
      return { text: "LIST completed" };
    },
  });
}

/**
 * IMAP4rev2's SELECT and EXAMINE answer with the mailbox's LIST line, its attributes accurate
 * (RFC 9051 6.3.2): the line `LIST "" name` would give.
 */
export async function selectedListLine(
  services: MailServices,
  context: CommandContext,
  name: string,
): Promise<(string | Buffer)[] | undefined> {
  const namespace = await readNamespace(services, userIdOf(context.session), false);
  const request: ListRequest = {
    command: "LIST",
    reference: "",
    patterns: [name],
    selection: [],
    returnOptions: [],
    extended: false,
  };
  const entry = listEntries(request, namespace).find((candidate) => candidate.name === name);
  return entry === undefined ? undefined : listLine("LIST", entry, utf8Names(context.session));
}
