// IDLE (RFC 2177): the client waits; changes to the selected mailbox are sent as they happen
// (the doorbell → the controller reads them → the session's update listeners). A doorbell can
// be lost (a notifier down, Kafka unreachable): the session also looks itself every
// `checkMs`, as Dovecot's mailbox_idle_check_interval does, so an update is delayed, never lost
// (DESIGN.md contract 9). While Redis is unreachable the notice router wakes it more often.
import { bad } from "../errors.ts";
import { AUTHENTICATED_OR_SELECTED, defineCommand } from "../module.ts";

export function idleCommand(checkMs: number) {
  return defineCommand({
    names: ["IDLE"],
    selectedView: "looks-first",
    states: AUTHENTICATED_OR_SELECTED,
    capabilities: () => ["IDLE"],
    async handle(_command, context) {
      const { session } = context;
      let flushing = Promise.resolve();
      const flush = () => {
        flushing = flushing.then(() => session.flushUpdates({ unsolicited: true })).catch(() => {});
      };
      const unsubscribe = session.onUpdate(flush);
      const check = setInterval(() => {
        const selected = session.selected;
        const notifications = session.notifications;
        if (selected?.sync === undefined && notifications === undefined) return;
        flushing = flushing
          .then(() => notifications?.look())
          .then(() => selected?.sync?.())
          .then(() => session.flushUpdates({ unsolicited: true }))
          .catch(() => {});
      }, checkMs);
      check.unref();
      try {
        const done = context.continuation("idling");
        flush();
        const line = await done;
        await flushing;
        if (line.trim().toUpperCase() !== "DONE")
          throw bad(`expected DONE to end IDLE, got ${JSON.stringify(line.slice(0, 40))}`);
      } finally {
        clearInterval(check);
        unsubscribe();
      }
      return undefined;
    },
  });
}
