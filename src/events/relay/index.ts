// The outbox relay: the events table to Kafka, in order, at least once, one active node.
export * from "./outboxRelay.ts";
export * from "./wireEnvelope.ts";
