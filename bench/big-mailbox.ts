// A mailbox of a million messages (issue 13): generated straight into the log and the index
// (bench/imap/generateMailbox.ts, SQL, not IMAP), then SELECT and UID FETCH 1:* (FLAGS) over IMAP
// on a gateway alone (no pipeline: nothing else competes for the two cores), with the gateway's
// resident memory (RSS) before, after, and at its peak: memory stays bounded whatever the size.
// Usage: node bench/big-mailbox.ts [--messages 1000000] [--runs 3]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { generateCorpus } from "../test/fixtures/mime/corpus.ts";
import { generateMailbox } from "./imap/generateMailbox.ts";
import { startMailledger } from "./imap/mailledger.ts";
import { RawImapClient } from "./imap/rawClient.ts";
import { freePort } from "./support.ts";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "1000000" },
    runs: { type: "string", default: "3" },
  },
});
const count = Number(values.messages);
const runs = Math.max(1, Number(values.runs));
const user = { name: "million", password: "million-pw" };

/** VmRSS and VmHWM (peak) of a process, in MiB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { rss: field("VmRSS"), peak: field("VmHWM") };
}
const mib = (value: number) => `${value.toFixed(0)} MiB`;

const node = await startMailledger(await freePort(), [user], { pipeline: false });
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the gateway and dropping its database`);
    void node.stop().finally(() => process.exit(130));
  });
}
try {
  const gateway = node.pids[0]!.pid;
  console.log(`gateway listening on ${node.port}: RSS ${mib(memoryOf(gateway).rss)}`);
  const corpus = generateCorpus(220).map((m) => m.raw);
  let shown = 0;
  const generated = await generateMailbox(node.databaseUrl, user.name, "INBOX", corpus, count, {
    onProgress: (done) => {
      if (done - shown >= count / 10 || done === count) {
        shown = done;
        process.stderr.write(`  generated ${done.toLocaleString("en-US")}\n`);
      }
    },
  });
  console.log(
    `generated ${count.toLocaleString("en-US")} messages into the log and index in ${(generated.ms / 1000).toFixed(1)} s (${Math.round(count / (generated.ms / 1000)).toLocaleString("en-US")}/s)`,
  );
  const client = await RawImapClient.connect(node.host, node.port);
  try {
    await client.expectOk(`LOGIN ${user.name} ${user.password}`);
    for (let run = 1; run <= runs; run++) {
      let t = performance.now();
      const select = await client.expectOk("SELECT INBOX");
      const selectMs = performance.now() - t;
      const exists = Number(select.untagged.map((l) => /^\* (\d+) EXISTS/.exec(l)?.[1]).find(Boolean));
      const afterSelect = memoryOf(gateway);
      t = performance.now();
      const fetched = await client.expectOk("UID FETCH 1:* (FLAGS)");
      const fetchMs = performance.now() - t;
      if (fetched.untagged.length < exists)
        throw new Error(`FETCH gave ${fetched.untagged.length} of ${exists}`);
      const afterFetch = memoryOf(gateway);
      console.log(
        `run ${run}: SELECT ${selectMs.toFixed(0)} ms (${exists.toLocaleString("en-US")} EXISTS, RSS ${mib(afterSelect.rss)}); ` +
          `UID FETCH 1:* (FLAGS) ${fetchMs.toFixed(0)} ms, ${(fetched.bytes / 1024 / 1024).toFixed(1)} MiB (RSS ${mib(afterFetch.rss)}, peak ${mib(afterFetch.peak)})`,
      );
    }
  } finally {
    await client.close();
  }
} finally {
  await node.stop();
}
