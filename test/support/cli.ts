// Runs a CLI subcommand in process with captured output, as the operator would see it.
import { PassThrough, Readable, type Writable } from "node:stream";

export interface CapturedRun {
  code: number;
  bytes: Buffer;
  stdout: string;
  stderr: string;
}

export async function captureCli(
  run: (io: { stdin: Readable; stdout: Writable; stderr: Writable }) => Promise<number>,
  stdin: Buffer | string = "",
): Promise<CapturedRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on("data", (chunk: Buffer) => out.push(chunk));
  stderr.on("data", (chunk: Buffer) => err.push(chunk));
  const code = await run({ stdin: Readable.from([Buffer.from(stdin)]), stdout, stderr });
  const bytes = Buffer.concat(out);
  return { code, bytes, stdout: bytes.toString(), stderr: Buffer.concat(err).toString() };
}
