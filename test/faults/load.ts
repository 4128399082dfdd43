// The fault suite's load: one client per user, each appending uniquely named messages and giving
// some of them one follow-up (STORE \Flagged, UID MOVE or UID COPY to Archive, or \Deleted and
// UID EXPUNGE), recording every answer. A connection that breaks leaves its command's outcome
// unknown; the client reconnects to the next gateway in the list and goes on.
import { RawImapClient } from "../../bench/imap/rawClient.ts";
import type { FollowUp, MessageRecord, Outcome } from "./model.ts";

export interface LoadOptions {
  ports: readonly number[];
  users: readonly string[];
  password: string;
  /** Names the messages, so runs never mix. */
  label: string;
}

export interface CommandSample {
  at: number;
  ms: number;
  /** "OK", "NO [UNAVAILABLE]", "BAD", "connection lost", ... */
  answer: string;
}

const FOLLOW_UPS: (FollowUp | undefined)[] = [undefined, "flag", "move", undefined, "copy", "expunge"];

function answerOf(status: string): string {
  const words = /^\S+ (OK|NO|BAD)( \[[A-Z-]+)?/.exec(status);
  if (!words) return status.slice(0, 40);
  if (words[1] === "OK") return "OK";
  return words[2] ? `${words[1]}${words[2]}]` : words[1]!;
}

function messageText(key: string): Buffer {
  const body = `${"A message of the fault suite. ".repeat(30)}\r\n`;
  return Buffer.from(
    `From: Fault Suite <faults@example.org>\r\nTo: user@example.org\r\nSubject: ${key}\r\n` +
      `Message-ID: <${key}@faults.example.org>\r\nDate: ${new Date().toUTCString()}\r\n\r\n${body}`,
  );
}

class Worker {
  readonly records: MessageRecord[] = [];
  readonly samples: CommandSample[] = [];
  reconnects = 0;
  #client: RawImapClient | undefined;
  #port = 0;
  #seq = 0;
  readonly #options: LoadOptions;
  readonly #user: string;

  constructor(options: LoadOptions, user: string, index: number) {
    this.#options = options;
    this.#user = user;
    this.#port = index;
  }

  /** One command; a broken connection is "connection lost", and the client is dropped. */
  async #command(text: string, literal?: Buffer): Promise<{ outcome: Outcome; status: string }> {
    const client = this.#client!;
    const started = Date.now();
    try {
      const response = await client.command(text, literal);
      const answer = answerOf(response.status);
      this.samples.push({ at: started, ms: Date.now() - started, answer });
      if (response.untagged.some((line) => line.startsWith("* BYE"))) this.#drop();
      return {
        outcome: response.ok ? "ok" : answer.startsWith("NO") ? "no" : "unknown",
        status: response.status,
      };
    } catch {
      this.samples.push({ at: started, ms: Date.now() - started, answer: "connection lost" });
      this.#drop();
      return { outcome: "unknown", status: "connection lost" };
    }
  }

  #drop(): void {
    const client = this.#client;
    this.#client = undefined;
    if (client) void client.close().catch(() => {});
  }

  async #connected(stopping: () => boolean): Promise<boolean> {
    while (!this.#client) {
      if (stopping()) return false;
      const port = this.#options.ports[this.#port % this.#options.ports.length]!;
      try {
        const client = await RawImapClient.connect("127.0.0.1", port);
        const login = await client.command(`LOGIN ${this.#user} "${this.#options.password}"`);
        const select = login.ok ? await client.command("SELECT INBOX") : undefined;
        if (select?.ok) {
          this.#client = client;
          return true;
        }
        void client.close().catch(() => {});
      } catch {
        // The node is down or refused: the next one.
      }
      this.#port++;
      this.reconnects++;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return true;
  }

  async run(stopping: () => boolean): Promise<void> {
    while (!stopping()) {
      if (!(await this.#connected(stopping))) return;
      const n = this.#seq++;
      const key = `${this.#options.label}-${this.#user}-${n}`;
      const record: MessageRecord = { key, owner: this.#user, append: "unknown" };
      this.records.push(record);
      const appended = await this.#command("APPEND INBOX", messageText(key));
      record.append = appended.outcome;
      const uid = /APPENDUID \d+ (\d+)/.exec(appended.status)?.[1];
      if (appended.outcome !== "ok" || uid === undefined) continue;
      record.uid = Number(uid);
      const kind = FOLLOW_UPS[n % FOLLOW_UPS.length];
      if (kind === undefined || !this.#client) continue;
      const follow: NonNullable<MessageRecord["followUp"]> = { kind, outcome: "unknown" };
      record.followUp = follow;
      if (kind === "flag") {
        follow.outcome = (await this.#command(`UID STORE ${uid} +FLAGS.SILENT (\\Flagged)`)).outcome;
      } else if (kind === "move" || kind === "copy") {
        const done = await this.#command(`UID ${kind.toUpperCase()} ${uid} Archive`);
        follow.outcome = done.outcome;
        const copied = /COPYUID \d+ \d+ (\d+)/.exec(done.status)?.[1];
        if (copied !== undefined) follow.copyUid = Number(copied);
      } else {
        const marked = await this.#command(`UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`);
        // Not marked: the expunge was not tried, so the message must stay (a NO'd follow-up).
        if (marked.outcome !== "ok") {
          follow.outcome = marked.outcome === "no" ? "no" : "unknown";
          continue;
        }
        follow.outcome = (await this.#command(`UID EXPUNGE ${uid}`)).outcome;
      }
    }
    this.#drop();
  }
}

export interface LoadRun {
  stop(): Promise<{ records: MessageRecord[]; samples: CommandSample[]; reconnects: number }>;
}

/** Starts one worker per user; stop() lets each finish its command and returns what they saw. */
export function startLoad(options: LoadOptions): LoadRun {
  let stopping = false;
  const workers = options.users.map((user, index) => new Worker(options, user, index));
  const running = workers.map((worker) => worker.run(() => stopping));
  return {
    async stop() {
      stopping = true;
      await Promise.all(running);
      return {
        records: workers.flatMap((worker) => worker.records),
        samples: workers.flatMap((worker) => worker.samples),
        reconnects: workers.reduce((sum, worker) => sum + worker.reconnects, 0),
      };
    },
  };
}
