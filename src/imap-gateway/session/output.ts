// The session's output: one chain of writes in order, held during a command so its responses go
// out together at its tagged answer, and re-pointed at a new layer (TLS, DEFLATE) when one is put
// under the connection. A failed write is the connection's end: the chain reports it once.
import type { Duplex } from "node:stream";
import { type ResponsePart, ResponseWriter } from "../codec/index.ts";

export class SessionOutput {
  #writer: ResponseWriter;
  #chain: Promise<void> = Promise.resolve();
  readonly #onFailure: (error: unknown) => void;

  /** `onFailure`: a write failed; the connection is gone (called once per failed write). */
  constructor(stream: Duplex, onFailure: (error: unknown) => void) {
    this.#writer = new ResponseWriter(stream);
    this.#onFailure = onFailure;
  }

  /** Writes to `layer` from now on (after STARTTLS or COMPRESS). */
  use(layer: Duplex): void {
    this.#writer = new ResponseWriter(layer);
    this.#chain = Promise.resolve();
  }

  /** Keeps small output back until release(): a command's responses go out together. */
  hold(): void {
    this.#writer.hold();
  }

  /** Queues parts; resolves when written, rejects if the write failed. */
  send(...parts: ResponsePart[]): Promise<void> {
    const writer = this.#writer;
    const written = this.#chain.then(() => writer.write(...parts));
    this.#chain = written.catch((error: unknown) => this.#onFailure(error));
    return written;
  }

  /**
   * Writes what is held, after everything queued before: at a command's answer, before a
   * continuation request the client must see to go on, and before the connection closes.
   */
  release(): Promise<void> {
    const writer = this.#writer;
    this.#chain = this.#chain.then(() => writer.release()).catch((error: unknown) => this.#onFailure(error));
    return this.#chain;
  }

  /** At close: writes what is held, whatever failed before, then resolves (never rejects). */
  finish(): Promise<void> {
    const writer = this.#writer;
    return this.#chain.then(() => writer.release()).catch(() => {});
  }
}
