// The connection seen through DEFLATE, for COMPRESS=DEFLATE (RFC 4978): raw deflate (RFC 1951,
// no zlib header) both ways. What the session writes is compressed and flushed to a byte
// boundary at once (Z_SYNC_FLUSH), so each response reaches the client whole; what arrives is
// inflated before the command reader sees it, so every limit (line length, literal sizes)
// applies to the inflated bytes. Backpressure passes through in both directions: a client
// cannot make the session inflate more than the reader takes.
import { Duplex } from "node:stream";
import zlib from "node:zlib";

/**
 * The compressor's memory per connection: (1 << (windowBits + 2)) + (1 << (memLevel + 9)) bytes,
 * 128 KiB with these, where zlib's defaults take 256 KiB. The inflater needs the full 32 KiB
 * window whatever the client compresses with.
 */
export const DEFLATE_OPTIONS: zlib.ZlibOptions = { level: 6, windowBits: 14, memLevel: 7 };

export function deflateDuplex(raw: Duplex, options: zlib.ZlibOptions = DEFLATE_OPTIONS): Duplex {
  const inflate = zlib.createInflateRaw();
  const deflate = zlib.createDeflateRaw(options);
  const wrapper = new Duplex({
    read() {
      inflate.resume();
    },
    writev(chunks, callback) {
      for (const { chunk } of chunks) deflate.write(chunk);
      deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => callback());
    },
    final(callback) {
      deflate.once("end", () => {
        raw.end();
        callback();
      });
      deflate.end();
    },
    destroy(error, callback) {
      raw.destroy();
      inflate.destroy();
      deflate.destroy();
      callback(error);
    },
  });
  inflate.on("data", (chunk: Buffer) => {
    if (!wrapper.push(chunk)) inflate.pause();
  });
  inflate.on("end", () => wrapper.push(null));
  inflate.on("error", (error) =>
    wrapper.destroy(new Error(`COMPRESS: the client's data does not inflate: ${error.message}`)),
  );
  deflate.on("data", (chunk: Buffer) => {
    if (raw.write(chunk)) return;
    deflate.pause();
    raw.once("drain", () => deflate.resume());
  });
  deflate.on("error", (error) => wrapper.destroy(error));
  raw.on("error", (error) => wrapper.destroy(error));
  raw.on("close", () => wrapper.destroy());
  raw.pipe(inflate);
  return wrapper;
}
