import { describe, expect, it } from "vitest";
import { BLOBS_USAGE } from "./blobs.ts";
import { EXPORT_USAGE } from "./exportMbox.ts";
import { HISTORY_USAGE } from "./history.ts";
import { IMPORT_USAGE } from "./importMail.ts";
import { MAILBOX_USAGE } from "./mailbox.ts";
import { MESSAGE_USAGE } from "./message.ts";
import { PROJECTIONS_USAGE } from "./projections.ts";
import { REPLAY_USAGE } from "./replay.ts";
import { USAGE } from "./run.ts";
import { USER_USAGE } from "./user.ts";

/** `mailledger user quota ...` → ["user", "quota"]; `mailledger history USER` → ["history"]. */
function commandsOf(usage: string): [string, string | undefined][] {
  return [...usage.matchAll(/mailledger (\w+) ([a-z]+)?/g)].map((match) => [match[1]!, match[2]]);
}

describe("mailledger help", () => {
  it("names every command and subcommand the commands' own usages list", () => {
    const usages = [
      USER_USAGE,
      MAILBOX_USAGE,
      MESSAGE_USAGE,
      HISTORY_USAGE,
      IMPORT_USAGE,
      EXPORT_USAGE,
      BLOBS_USAGE,
      PROJECTIONS_USAGE,
      REPLAY_USAGE,
    ];
    const lines = USAGE.split("\n");
    for (const [command, subcommand] of usages.flatMap(commandsOf)) {
      const line = lines.find((text) => text.startsWith(`  ${command} `));
      expect(line, `help names ${command}`).toBeDefined();
      if (subcommand !== undefined && subcommand === subcommand.toLowerCase() && !/^[A-Z]/.test(subcommand))
        expect(line, `help names ${command} ${subcommand}`).toMatch(new RegExp(`[ |]${subcommand}[ |]`));
    }
  });
});
