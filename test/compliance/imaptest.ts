// Finds, builds and runs Dovecot's imaptest. The build script is not in this repository: it is
// the project's shared tool, in the shared folder that sits beside the repository (../shared),
// in a clean clone as in CI. Its build is cached outside the repository, as Kafka's jars are.
import { execFile, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
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

/** Builds imaptest unless it is built already (the script checks that itself, in milliseconds). */
export function ensureImaptest(repositoryRoot: string, dir: string = imaptestDir()): Imaptest {
  const script = buildScriptPath(repositoryRoot);
  if (!existsSync(script)) {
    throw new Error(
      `imaptest's build script is not at ${script}: the project's shared folder (with ` +
        `tools/build-imaptest.sh) must sit beside the repository, as ../shared`,
    );
  }
  const build = spawnSync("bash", [script, dir], { stdio: ["ignore", "inherit", "inherit"] });
  if (build.status !== 0) throw new Error(`${script} failed (exit ${build.status ?? build.signal})`);
  return { binary: path.join(dir, "imaptest"), testsDir: path.join(dir, "tests") };
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
  password: string;
}

export function runScript(imaptest: Imaptest, target: Target, script: string): Promise<ScriptResult> {
  const args = [
    `host=${target.host}`,
    `port=${target.port}`,
    `user=${target.user}`,
    `pass=${target.password}`,
    `test=${path.join(imaptest.testsDir, script)}`,
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
