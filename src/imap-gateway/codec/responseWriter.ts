// Writes responses to the socket honouring backpressure; streams large literals without buffering.

import type { Writable } from "node:stream";

/** A literal whose bytes come from a stream: the size is declared up front, as the wire requires. */
export interface StreamedLiteral {
  readonly kind: "streamed-literal";
  readonly size: number;
  /** A Readable, or any async iterable of chunks (a file stream, a blob download). */
  readonly source: AsyncIterable<Uint8Array>;
}

export type ResponsePart = string | Buffer | StreamedLiteral;

export function streamedLiteral(size: number, source: AsyncIterable<Uint8Array>): StreamedLiteral {
  return { kind: "streamed-literal", size, source };
}

/** The wire was left mid-literal: the connection must be closed, its framing is lost. */
export class LiteralSizeMismatchError extends Error {
  override readonly name = "LiteralSizeMismatchError";
}

/** Held output is written once it reaches this size, hold or not. */
const HELD_BYTES_LIMIT = 64 * 1024;

export class ResponseWriter {
  readonly #out: Writable;
  #holding = false;
  #held: Uint8Array[] = [];
  #heldBytes = 0;

  constructor(out: Writable) {
    this.#out = out;
  }

  /**
   * Keeps in-memory output back until release(): the untagged responses of a command and its
   * tagged one go out in one system call (a SELECT wrote eight). Held bytes past 64 KiB, and
   * whatever precedes a streamed literal, are written at once.
   */
  hold(): void {
    this.#holding = true;
  }

  /** Writes what is held and stops holding. */
  async release(): Promise<void> {
    this.#holding = false;
    await this.#flushHeld();
  }

  /**
   * Writes parts in order (strings as latin1: callers encode UTF-8 into Buffers themselves).
   * Consecutive in-memory parts go out as one write: a response is one system call, not one per
   * part (a FETCH of 100,000 messages otherwise spends most of its time in write(2)).
   */
  async write(...parts: ResponsePart[]): Promise<void> {
    let pending: Buffer[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      const chunk = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
      pending = [];
      await this.#writeChunk(chunk);
    };
    for (const part of parts) {
      if (typeof part === "string") pending.push(Buffer.from(part, "latin1"));
      else if (Buffer.isBuffer(part)) pending.push(part);
      else {
        await flush();
        await this.writeLiteral(part.size, part.source);
      }
    }
    await flush();
  }

  /**
   * Declares `{size}` CRLF, then copies `source`, waiting for "drain" whenever the socket is full.
   * A source longer or shorter than declared rejects with LiteralSizeMismatchError.
   */
  async writeLiteral(size: number, source: AsyncIterable<Uint8Array>): Promise<void> {
    await this.#flushHeld();
    await this.#writeNow(Buffer.from(`{${size}}\r\n`, "latin1"));
    let written = 0;
    for await (const chunk of source) {
      written += chunk.length;
      if (written > size)
        throw new LiteralSizeMismatchError(`literal source longer than its declared ${size} octets`);
      await this.#writeNow(chunk);
    }
    if (written !== size) {
      throw new LiteralSizeMismatchError(`literal source gave ${written} of its declared ${size} octets`);
    }
  }

  async #writeChunk(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    if (this.#holding) {
      this.#held.push(chunk);
      this.#heldBytes += chunk.length;
      if (this.#heldBytes >= HELD_BYTES_LIMIT) await this.#flushHeld();
      return;
    }
    await this.#flushHeld();
    await this.#writeNow(chunk);
  }

  async #flushHeld(): Promise<void> {
    if (this.#held.length === 0) return;
    const held = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    await this.#writeNow(held.length === 1 ? held[0]! : Buffer.concat(held));
  }

  async #writeNow(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    if (this.#out.write(chunk)) return;
    await waitForDrain(this.#out);
  }
}

/** Resolves on "drain"; rejects if the stream closes or fails first, so a dead socket cannot hang a writer. */
function waitForDrain(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      out.off("drain", onDrain);
      out.off("close", onClose);
      out.off("error", onError);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error("connection closed while writing"));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    out.on("drain", onDrain);
    out.on("close", onClose);
    out.on("error", onError);
  });
}
