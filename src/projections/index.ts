// The read side: projections that build the views the gateway reads, their transports (Kafka,
// embedded), the notifier that rings the doorbell, the read queries, and blue/green rebuild.
export type { BlobSource, DerivedMessage } from "./bodiesView/derive.ts";
export { blobSourceFromStore } from "./bodiesView/storeBlobSource.ts";
export { createTableBlobSource } from "./bodiesView/tableBlobSource.ts";
export { createMemoryNoticeBus } from "./notices/memoryNoticeBus.ts";
export type { MailboxNotice, NoticeBus } from "./notices/notice.ts";
export { createRedisNoticeBus, DEFAULT_NOTICE_CHANNEL } from "./notices/redisNoticeBus.ts";
export * from "./queries/index.ts";
export { dumpProjectionSchema } from "./rebuild/dumpVersion.ts";
export * from "./rebuild/rebuild.ts";
export * from "./rebuild/status.ts";
export * from "./runner/embeddedTransport.ts";
export * from "./runner/kafkaTransport.ts";
export * from "./runner/projection.ts";
export * from "./runner/projector.ts";
