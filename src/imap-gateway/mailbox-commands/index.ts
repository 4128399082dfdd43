// Every mailbox command module (RFC 3501 authenticated and selected states), given the storage.
import type { MailServices } from "../mail/services.ts";
import type { AnyCommandModule } from "../module.ts";
import { aclCommand } from "./acl.ts";
import { appendCommand } from "./append.ts";
import { cancelUpdateCommand } from "./cancelUpdate.ts";
import { checkCommand } from "./check.ts";
import { closeCommand } from "./close.ts";
import { copyCommand } from "./copy.ts";
import { createCommand } from "./create.ts";
import { deleteCommand } from "./delete.ts";
import { expungeCommand } from "./expunge.ts";
import { fetchCommand } from "./fetch.ts";
import { idleCommand } from "./idle.ts";
import { listCommand } from "./list.ts";
import { getMetadataCommand, setMetadataCommand } from "./metadata.ts";
import { namespaceCommand } from "./namespace.ts";
import { notifyCommand } from "./notify.ts";
import { getQuotaCommand, getQuotaRootCommand } from "./quota.ts";
import { renameCommand } from "./rename.ts";
import { replaceCommand } from "./replace.ts";
import { searchCommand } from "./search.ts";
import { selectCommand } from "./select.ts";
import { sortCommand } from "./sort.ts";
import { statusCommand } from "./status.ts";
import { storeCommand } from "./store.ts";
import { subscribeCommand } from "./subscribe.ts";
import { threadCommand } from "./thread.ts";
import { unselectCommand } from "./unselect.ts";
import { urlauthCommand } from "./urlauth.ts";

export function mailboxCommands(services: MailServices): AnyCommandModule[] {
  return [
    selectCommand(services),
    createCommand(services),
    deleteCommand(services),
    renameCommand(services),
    subscribeCommand(services),
    listCommand(services),
    statusCommand(services),
    namespaceCommand(),
    appendCommand(services),
    copyCommand(services),
    replaceCommand(services),
    fetchCommand(services),
    storeCommand(services),
    searchCommand(services),
    cancelUpdateCommand(),
    sortCommand(services),
    getQuotaRootCommand(services),
    getQuotaCommand(services),
    getMetadataCommand(services),
    setMetadataCommand(services),
    threadCommand(services),
    expungeCommand(services),
    closeCommand(services),
    unselectCommand(),
    checkCommand(),
    idleCommand(services.idleCheckMs),
    notifyCommand(services),
    urlauthCommand(services),
    aclCommand(services),
  ];
}
