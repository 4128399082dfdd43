// The LMTP listener (RFC 2033) on nodemailer's smtp-server in its LMTP mode: the protocol,
// PIPELINING, SIZE, dot-unstuffing and the per-recipient replies after DATA are the library's;
// what a recipient is and what delivery means are ours (recipients.ts, delivery.ts).
//
// Only the clients the operator allows connect (LMTP_ALLOWED_CLIENTS over TCP; a Unix socket
// is guarded by the file system). There is no AUTH, no STARTTLS and no relaying: a recipient is
// a local account or is refused at RCPT.
import { chmod, lstat, unlink } from "node:fs/promises";
import { BlockList, isIPv4 } from "node:net";
import type { Readable } from "node:stream";
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from "smtp-server";
import { isDomainError } from "../commands/errors.ts";
import { effectiveAppendLimit } from "../commands/messages/append.ts";
import { requireStorageQuota } from "../commands/writeModel.ts";
import type { LmtpSettings } from "../config.ts";
import type { Logger } from "../imap-gateway/logger.ts";
import { bareLineBreak, type DeliveryDeps, type DeliveryTarget, deliver } from "./delivery.ts";
import { lmtpConnections, lmtpDeliveries, lmtpDeliveryDuration, lmtpReceivedBytes } from "./metrics.ts";
import { resolveRecipient } from "./recipients.ts";
import { type LmtpReply, outcomeReply, tooBigReply, unknownRecipientReply } from "./replies.ts";

/** A message larger than this is refused when no APPEND_LIMIT is set (as IMAP's APPEND literal cap). */
export const DEFAULT_MAX_MESSAGE_SIZE = 50 * 1024 * 1024;
/** RFC 5321 4.5.3.2.7 wants 5 minutes of patience for a client between commands. */
export const LMTP_SOCKET_TIMEOUT_MS = 5 * 60 * 1000;
/** Connections at once; an MTA opens a handful (Postfix: default_destination_concurrency_limit 20). */
export const LMTP_MAX_CLIENTS = 200;
/** RFC 5321 4.5.3.1.8: at least 100 recipients per transaction. */
export const LMTP_MAX_RECIPIENTS = 1000;
/** On shutdown, sessions still open after this are cut. */
export const LMTP_CLOSE_TIMEOUT_MS = 5_000;

export interface LmtpServerOptions extends DeliveryDeps {
  settings: LmtpSettings;
  /** The name in the greeting and the LHLO reply. */
  hostname: string;
  logger: Logger;
}

export interface LmtpServer {
  /** The TCP port, or the socket's path. */
  address: string;
  port: number | undefined;
  close(): Promise<void>;
}

interface TransactionState {
  targets: Map<string, DeliveryTarget>;
  count: number;
}

const ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3} /;

/** An error smtp-server sends as `code text`. */
function replyError(reply: LmtpReply): Error & { responseCode: number } {
  return Object.assign(new Error(reply.text), { responseCode: reply.code });
}

/** The allowed clients as a BlockList (which matches addresses and CIDR ranges of both families). */
function allowList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split("/");
    const type = isIPv4(address!) ? "ipv4" : "ipv6";
    if (bits === undefined) list.addAddress(address!, type);
    else list.addSubnet(address!, Number(bits), type);
  }
  return list;
}

/** "::ffff:127.0.0.1" is 127.0.0.1. */
function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/** The message, or null once it went above `limit` (the rest is read and dropped, never held). */
async function readMessage(stream: Readable, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size <= limit) chunks.push(chunk as Buffer);
    else chunks.length = 0;
  }
  return size > limit ? null : Buffer.concat(chunks);
}

export async function startLmtpServer(options: LmtpServerOptions): Promise<LmtpServer> {
  const { settings, logger } = options;
  const allowed = allowList(settings.allowedClients);
  const maxMessageSize = options.appendLimit ?? DEFAULT_MAX_MESSAGE_SIZE;
  const transactions = new WeakMap<SMTPServerSession, TransactionState>();
  const stateOf = (session: SMTPServerSession) => {
    let state = transactions.get(session);
    if (!state) {
      state = { targets: new Map(), count: 0 };
      transactions.set(session, state);
    }
    return state;
  };

  const server = new SMTPServer({
    lmtp: true,
    name: options.hostname,
    banner: "mailledger",
    logger: false,
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    hideSTARTTLS: true,
    hideENHANCEDSTATUSCODES: false,
    size: maxMessageSize,
    maxClients: LMTP_MAX_CLIENTS,
    socketTimeout: LMTP_SOCKET_TIMEOUT_MS,
    closeTimeout: LMTP_CLOSE_TIMEOUT_MS,
    // The client's name is not used (no Received header is added): no DNS query per connection.
    disableReverseLookup: true,
    // smtp-server replies 552 5.3.4 to every recipient of a message above `size`.
    ...({ rejectOversized: true, maxRecipients: LMTP_MAX_RECIPIENTS } as object),

    onConnect(session, callback) {
      const address = plainAddress(session.remoteAddress ?? "");
      if (
        settings.socket !== undefined ||
        address === "" ||
        allowed.check(address, isIPv4(address) ? "ipv4" : "ipv6")
      ) {
        lmtpConnections.inc({ result: "accepted" });
        return callback();
      }
      lmtpConnections.inc({ result: "refused" });
      logger.warn("LMTP connection refused: not in LMTP_ALLOWED_CLIENTS", { remoteAddress: address });
      callback(replyError({ code: 554, text: `5.7.1 ${address} may not deliver mail here` }));
    },

    onMailFrom(_address, session, callback) {
      // A new transaction: what RCPT resolved for an earlier one (before RSET) is gone.
      stateOf(session).targets.clear();
      callback();
    },

    onRcptTo(address, session, callback) {
      const rcpt = address.address;
      void (async () => {
        const resolved = await resolveRecipient(options.pool, rcpt, settings);
        if (!resolved.ok) {
          lmtpDeliveries.inc({ result: "unknown_user" });
          return replyError(unknownRecipientReply(rcpt, resolved.reason));
        }
        // MAIL FROM's SIZE (RFC 1870) above this recipient's limit: refused before the message is sent.
        const mailFrom = session.envelope.mailFrom as { args?: Record<string, string> } | false;
        const declared = Number(mailFrom ? mailFrom.args?.SIZE : undefined);
        const limit = effectiveAppendLimit(
          resolved.mailboxAppendLimit,
          resolved.userAppendLimit,
          options.appendLimit,
        );
        if (limit !== null && Number.isFinite(declared) && declared > limit) {
          lmtpDeliveries.inc({ result: "too_big" });
          return replyError(tooBigReply(rcpt, declared, limit));
        }
        // ... or above what the account's quota has left (Dovecot's lmtp_rcpt_check_quota).
        if (resolved.storageLimit !== null && Number.isFinite(declared)) {
          const overQuota = await requireStorageQuota(options.pool, resolved.userId, declared).then(
            () => null,
            (error: unknown) => {
              if (isDomainError(error) && error.code === "OVERQUOTA") return error;
              throw error;
            },
          );
          if (overQuota) {
            const { reply, result } = outcomeReply(
              rcpt,
              { status: "failed", error: overQuota },
              settings.quotaReply,
            );
            lmtpDeliveries.inc({ result });
            return replyError(reply);
          }
        }
        stateOf(session).targets.set(rcpt.toLowerCase(), {
          address: rcpt,
          userId: resolved.userId,
          mailboxName: resolved.mailboxName,
        });
        return undefined;
      })().then(
        (error) => callback(error ?? undefined),
        (error: unknown) => {
          logger.warn("LMTP recipient lookup failed", { rcpt, error: String(error) });
          lmtpDeliveries.inc({ result: "temporary_failure" });
          callback(
            replyError({
              code: 451,
              text: `4.3.0 <${rcpt}>: local error looking up the recipient; try again later`,
            }),
          );
        },
      );
    },

    onData(stream: SMTPServerDataStream, session, callback) {
      const state = stateOf(session);
      state.count += 1;
      void (async () => {
        const received = await readMessage(stream, maxMessageSize);
        lmtpReceivedBytes.inc(stream.byteLength);
        const recipients = session.envelope.rcptTo.map((rcpt) => rcpt.address);
        // Above the size limit: smtp-server answers every recipient 552 5.3.4 itself.
        if (received === null || stream.sizeExceeded) {
          lmtpDeliveries.inc({ result: "too_big" }, recipients.length);
          return recipients.map(() => "");
        }
        const bare = bareLineBreak(received);
        if (bare !== -1) {
          const line = received.subarray(0, bare).toString("latin1").split("\r\n").length;
          lmtpDeliveries.inc({ result: "refused" }, recipients.length);
          return recipients.map((rcpt) =>
            replyError({
              code: 550,
              text: `5.6.0 <${rcpt}>: the message has a bare CR or LF on line ${line}; lines end in CRLF (RFC 5321 2.3.8)`,
            }),
          );
        }
        const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
        const targets = recipients.map((rcpt) => state.targets.get(rcpt.toLowerCase())!);
        const stopTimer = lmtpDeliveryDuration.startTimer();
        const outcomes = await deliver(
          options,
          {
            mailFrom,
            remoteAddress: session.remoteAddress ? plainAddress(session.remoteAddress) : undefined,
            sessionId: `lmtp-${session.id}`,
            transaction: state.count,
          },
          targets,
          received,
        );
        stopTimer();
        return outcomes.map((outcome, index) => {
          const { reply, result } = outcomeReply(recipients[index]!, outcome, settings.quotaReply);
          lmtpDeliveries.inc({ result });
          if (outcome.status === "failed" && result === "temporary_failure") {
            logger.warn("LMTP delivery failed", { rcpt: recipients[index], error: String(outcome.error) });
          }
          return reply.code === 250 ? reply.text : replyError(reply);
        });
      })().then(
        (replies) => {
          state.targets.clear();
          callback(null, replies as unknown as string);
        },
        (error: unknown) => {
          state.targets.clear();
          logger.warn("LMTP transaction failed", { error: String(error) });
          callback(
            replyError({ code: 451, text: "4.3.0 local error while receiving the message; try again later" }),
          );
        },
      );
    },
  });

  // A reply text that starts with its own enhanced status code (ours all do) is sent without the
  // one smtp-server derives from the reply code alone (which would make 552 always 5.2.2).
  const originalConnect = server.connect.bind(server);
  (server as unknown as { connect: typeof server.connect }).connect = (socket, socketOptions) => {
    originalConnect(socket, socketOptions);
    const connection = [...server.connections].at(-1) as {
      send(code: number, data: unknown, context?: unknown): void;
    };
    const send = connection.send.bind(connection);
    connection.send = (code, data, context) =>
      send(code, data, typeof data === "string" && ENHANCED_CODE.test(data) ? false : context);
  };
  server.on("error", (error) => logger.warn("LMTP server", { error: String(error) }));

  if (settings.socket !== undefined) {
    const socketPath = settings.socket;
    // A socket left by a process that died is in the way; anything else at that path is not ours.
    const existing = await lstat(socketPath).catch(() => null);
    if (existing?.isSocket()) await unlink(socketPath);
    await listen(server, (done) => server.listen(socketPath, done));
    // As Dovecot's lmtp listener (mode 0666): the MTA runs as another user.
    await chmod(socketPath, 0o666);
  } else {
    await listen(server, (done) => server.listen(settings.port, settings.host, done));
  }
  const bound = server.server.address();
  const port = typeof bound === "object" && bound !== null ? bound.port : undefined;
  return {
    address: port === undefined ? settings.socket! : `${settings.host}:${port}`,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function listen(server: SMTPServer, start: (done: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.server.once("error", onError);
    start(() => {
      server.server.off("error", onError);
      resolve();
    });
  });
}
