// Exits 0 when a Kafka broker at argv[2] (host:port) answers a metadata request.
import { Kafka, logLevel } from "kafkajs";

const broker = process.argv[2] ?? "127.0.0.1:9092";
const kafka = new Kafka({
  clientId: "mailledger-ready",
  brokers: [broker],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 1000,
  retry: { retries: 0 },
});
const admin = kafka.admin();
try {
  await admin.connect();
  const cluster = await admin.describeCluster();
  if (cluster.brokers.length === 0) process.exit(1);
  await admin.disconnect();
  process.exit(0);
} catch {
  process.exit(1);
}
