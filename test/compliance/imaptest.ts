// Finds, builds and runs Dovecot's imaptest. The build script is not in this repository: it is
// the project's shared tool, in the shared folder that sits beside the repository (../shared),
// in a clean clone as in CI. Its build is cached outside the repository, as Kafka's jars are, and
// a cached build that runs is used as it is, wherever the clone sits.
import { execFile, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { readScriptResult, type ScriptResult } from "./imaptestReport.ts";

/** A script that hangs is cut off after this long and fails; a whole script runs in well under a second. */
const SCRIPT_TIMEOUT_MS = 60_000;

export interface Imaptest {
  binary: string;
  testsDir: string;
}

export function buildScriptPath(repositoryRoot: string): string {
  return path.resolve(repositoryRoot, "../shared/tools/build-imaptest.sh");
}

/** The build script's own default directory, named here so the runner knows where to look. */
export function imaptestDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.MAILLEDGER_CACHE ?? path.join(os.homedir(), ".cache/mailledger"), "imaptest");
}

/** A build in the cache that runs: the binary, the scripts, and every library it links found. */
function builtAlready(dir: string): boolean {
  const binary = path.join(dir, "imaptest");
  if (!existsSync(binary) || !existsSync(path.join(dir, "tests", "fetch"))) return false;
  const linked = spawnSync("ldd", [binary], { encoding: "utf8" });
  return linked.status === 0 && !linked.stdout.includes("not found");
}

/**
 * Builds imaptest unless the cache holds a build already (a clone elsewhere, without ../shared
 * beside it, then uses that build). The script checks its own build too, in milliseconds.
 */
export function ensureImaptest(repositoryRoot: string, dir: string = imaptestDir()): Imaptest {
  const built = { binary: path.join(dir, "imaptest"), testsDir: path.join(dir, "tests") };
  if (builtAlready(dir)) return built;
  const script = buildScriptPath(repositoryRoot);
  if (!existsSync(script)) {
    throw new Error(
      `imaptest is not built in ${dir}, and its build script is not at ${script}: the project's ` +
        `shared folder (with tools/build-imaptest.sh) must sit beside the repository, as ../shared`,
    );
  }
  const build = spawnSync("bash", [script, dir], { stdio: ["ignore", "inherit", "inherit"] });
  if (build.status !== 0) throw new Error(`${script} failed (exit ${build.status ?? build.signal})`);
  return built;
}

/** The compliance scripts, by name; `*.mbox` files are the messages they load, not scripts. */
export function listScripts(testsDir: string): string[] {
  return readdirSync(testsDir)
    .filter((name) => !name.endsWith(".mbox") && statSync(path.join(testsDir, name)).isFile())
    .sort();
}

export interface Target {
  host: string;
  port: number;
  user: string;
  /** A second account with the same password, for scripts with two users (`user2=`). */
  user2?: string;
  password: string;
}

/**
 * Scripts of the suite that cannot pass on any server as they stand, with the smallest change
 * that lets them test what they are about. Each is run from a corrected copy and says so.
 */
export const SCRIPT_CORRECTIONS: Readonly<
  Record<string, { why: string; correct: (text: string) => string }>
> = {
  // Its first command is `1 ok fetch 1:2 (uid body[])` and it expects two messages, but it
  // declares no `messages:`, so imaptest appends none to the fresh mailbox it makes: FETCH 1:2 of
  // an empty mailbox is BAD everywhere. urlauth, its one-user twin, says `messages: 2`.
  urlauth2: {
    why: "declares no messages: run with `messages: 2`, as urlauth",
    correct: (text) => text.replace(/^connections: 2$/m, "messages: 2\nconnections: 2"),
  },
};

/** The path imaptest is given for a script: the suite's own, or a corrected copy beside default.mbox. */
function scriptPath(imaptest: Imaptest, script: string): string {
  const original = path.join(imaptest.testsDir, script);
  const correction = SCRIPT_CORRECTIONS[script];
  if (correction === undefined) return original;
  const dir = mkdtempSync(path.join(os.tmpdir(), "ml-imaptest-"));
  writeFileSync(path.join(dir, script), correction.correct(readFileSync(original, "utf8")));
  for (const mbox of [`${script}.mbox`, "default.mbox"]) {
    if (existsSync(path.join(imaptest.testsDir, mbox)))
      copyFileSync(path.join(imaptest.testsDir, mbox), path.join(dir, mbox));
  }
  return path.join(dir, script);
}

export function runScript(imaptest: Imaptest, target: Target, script: string): Promise<ScriptResult> {
  const args = [
    `host=${target.host}`,
    `port=${target.port}`,
    `user=${target.user}`,
    ...(target.user2 === undefined ? [] : [`user2=${target.user2}`]),
    `pass=${target.password}`,
    `test=${scriptPath(imaptest, script)}`,
  ];
  return new Promise((resolve) => {
    execFile(
      imaptest.binary,
      args,
      { timeout: SCRIPT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        // imaptest exits 2 when a group failed: the output says which, so only a kill is an error.
        if (error?.killed) {
          resolve({ status: "fail", details: [`timed out after ${SCRIPT_TIMEOUT_MS} ms`] });
          return;
        }
        resolve(readScriptResult(`${stderr}${stdout}`));
      },
    );
  });
}
