// Client helpers for the end-to-end tests: imapflow connections, Python imaplib runs, and a raw
// client already logged in (for asserting exact wire lines).
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ImapFlow } from "imapflow";
import type { DomainContext } from "../../../src/commands/context.ts";
import { RawImapClient } from "../../../src/imap-gateway/testing/rawClient.ts";
import type { TestMailServer } from "../../support/mailServer.ts";

const run = promisify(execFile);
const IMAPLIB_SCRIPT = fileURLToPath(new URL("./imaplib_steps.py", import.meta.url));

export interface Endpoint {
  host: string;
  port: number;
}

export interface Account {
  user: string;
  pass: string;
}

/** A step for imaplib_steps.py: [method, ...args]. */
export type ImaplibStep = [string, ...(string | null)[]];

export type ImaplibResult =
  | { typ: string; data: unknown[]; untagged: Record<string, unknown[]>; error?: undefined }
  | { error: string; typ?: undefined };

/** Runs the steps in one imaplib session; one result per step. */
export async function imaplib(
  endpoint: Endpoint,
  account: Account,
  steps: ImaplibStep[],
): Promise<ImaplibResult[]> {
  const { stdout } = await run(
    "python3",
    [IMAPLIB_SCRIPT, endpoint.host, String(endpoint.port), account.user, account.pass, JSON.stringify(steps)],
    { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
  );
  return JSON.parse(stdout) as ImaplibResult[];
}

/** The data of a successful step as text lines (imaplib gives bytes, or tuples for literals). */
export function dataLines(result: ImaplibResult | undefined): string[] {
  if (result === undefined || result.typ === undefined)
    throw new Error(`step failed: ${JSON.stringify(result)}`);
  return result.data.map((item) => (Array.isArray(item) ? item.join("") : String(item)));
}

export function imapflow(endpoint: Endpoint, account: Account): ImapFlow {
  return new ImapFlow({
    host: endpoint.host,
    port: endpoint.port,
    secure: false,
    auth: { user: account.user, pass: account.pass },
    logger: false,
  });
}

export async function imapflowConnected(endpoint: Endpoint, account: Account): Promise<ImapFlow> {
  const client = imapflow(endpoint, account);
  await client.connect();
  return client;
}

/** A raw client past LOGIN, for exact wire assertions. */
export async function rawLoggedIn(endpoint: Endpoint, account: Account): Promise<RawImapClient> {
  const client = await RawImapClient.connect(endpoint.port, endpoint.host);
  await client.greeting();
  const answer = await client.command("L0", `LOGIN ${account.user} "${account.pass}"`);
  if (!answer.at(-1)?.startsWith("L0 OK")) throw new Error(`LOGIN failed: ${answer.join(" | ")}`);
  return client;
}

/** Runs a command-side handler as an operator would (the CLI): its change is visible once it returns. */
export async function asOperator<T>(
  server: TestMailServer,
  work: (ctx: DomainContext) => Promise<T>,
): Promise<T> {
  return work({
    pool: server.db.pool,
    blobStore: server.node.runtime.blobStore,
    metadata: { actor: "test-operator" },
    now: () => new Date(),
    onCommitted: server.node.runtime.onCommitted,
  });
}

let tagged = 0;
/** Sends one command; resolves with its lines, the tagged one last with its tag taken out. */
export async function send(client: RawImapClient, command: string): Promise<string[]> {
  const tag = `t${++tagged}`;
  const lines = await client.command(tag, command, 15_000);
  return [...lines.slice(0, -1), lines.at(-1)!.slice(tag.length + 1)];
}

/** The tagged answer of one command, its tag taken out. */
export const last = async (client: RawImapClient, command: string) => (await send(client, command)).at(-1)!;

/** A non-synchronizing literal (LITERAL+) of `text`. */
export const literal = (text: string) => `{${Buffer.byteLength(text)}+}\r\n${text}`;
