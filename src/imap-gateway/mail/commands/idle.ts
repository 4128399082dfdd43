// IDLE (RFC 2177): the client waits; changes to the selected mailbox are sent as they happen
// (the notice doorbell → the controller reads them → the session's update listeners).
import { bad } from "../../errors.ts";
import { AUTHENTICATED_OR_SELECTED, defineCommand } from "../../module.ts";

export function idleCommand() {
  return defineCommand({
    names: ["IDLE"],
    states: AUTHENTICATED_OR_SELECTED,
    capabilities: () => ["IDLE"],
    async handle(_command, context) {
      const { session } = context;
      let flushing = Promise.resolve();
      const flush = () => {
        flushing = flushing.then(() => session.flushUpdates()).catch(() => {});
      };
      const unsubscribe = session.onUpdate(flush);
      try {
        const done = context.continuation("idling");
        flush();
        const line = await done;
        await flushing;
        if (line.trim().toUpperCase() !== "DONE")
          throw bad(`expected DONE to end IDLE, got ${JSON.stringify(line.slice(0, 40))}`);
      } finally {
        unsubscribe();
      }
      return undefined;
    },
  });
}
