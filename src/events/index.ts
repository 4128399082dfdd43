// The event store: the append-only log in PostgreSQL that every view is derived from.
export * from "./appendToStream.ts";
export * from "./appendToStreams.ts";
export * from "./checkpoints.ts";
export * from "./db.ts";
export * from "./envelope.ts";
export * from "./logWakeup.ts";
export * from "./migrations.ts";
export * from "./readAll.ts";
export * from "./readStream.ts";
export * from "./subscribe.ts";
export * from "./upcasting.ts";
