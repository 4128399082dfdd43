// The blob store: message bodies by SHA-256, in PostgreSQL or a directory.
export * from "./blobStore.ts";
export * from "./collectGarbage.ts";
export * from "./fsBlobStore.ts";
export * from "./postgresBlobStore.ts";
