// The child process bench/imap.ts runs mailledger in: the same startNode as `mailledger serve`,
// configured from the same environment, but with a Kafka topic and consumer group of its own, so
// a bench run never shares partitions or offsets with another node on the same Kafka (the CLI has
// no setting for the topic). Prints "listening <port>" on stdout when the gateway is up.
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/serve/operations.ts";
import { parseRoles, startNode } from "../../src/serve/serve.ts";

const config = loadConfig(process.env);
const topic = process.env.BENCH_KAFKA_TOPIC;
const groupId = process.env.BENCH_KAFKA_GROUP;
if (!topic || !groupId) throw new Error("BENCH_KAFKA_TOPIC and BENCH_KAFKA_GROUP must be set");
const logger = createLogger("warn");
const node = await startNode(config, logger, {
  roles: parseRoles(process.env.BENCH_ROLE ?? "all"),
  topic,
  groupId,
});
process.stdout.write(`listening ${node.gateway?.port ?? 0}\n`);
await new Promise<void>((resolve) => {
  process.once("SIGINT", resolve);
  process.once("SIGTERM", resolve);
  // The parent going away (crash, SIGKILL) closes stdin: stop too.
  process.stdin.on("end", resolve);
  process.stdin.resume();
});
await node.close();
process.exit(0);
