// The read side: projections that build the views the gateway reads, their transports (Kafka,
// embedded), the notices sent after each applied batch, read-your-writes, and blue/green rebuild.
export type { BlobSource, DerivedMessage } from "./mailboxView/derive.ts";
export { blobSourceFromStore } from "./mailboxView/storeBlobSource.ts";
export { createTableBlobSource } from "./mailboxView/tableBlobSource.ts";
export { createMemoryNoticeBus } from "./notices/memoryNoticeBus.ts";
export type { MailboxNotice, NoticeBus } from "./notices/notice.ts";
export { createRedisNoticeBus, DEFAULT_NOTICE_CHANNEL } from "./notices/redisNoticeBus.ts";
export * from "./queries/index.ts";
export * from "./readYourWrites.ts";
export { dumpProjectionSchema } from "./rebuild/dumpVersion.ts";
export * from "./rebuild/rebuild.ts";
export * from "./rebuild/status.ts";
export * from "./runner/embeddedTransport.ts";
export * from "./runner/kafkaTransport.ts";
export * from "./runner/projection.ts";
export * from "./runner/projector.ts";
