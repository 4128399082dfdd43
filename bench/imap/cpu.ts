// CPU time spent by groups of processes over a stretch of the run (user + system, from
// /proc/<pid>/stat), so bench/imap.ts can say what one command costs each component whatever
// else the machine is doing: on a shared, noisy machine a CPU cost per command holds up far
// better than a rate.
import { readdir, readFile } from "node:fs/promises";
import pg from "pg";

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;

export interface CpuGroup {
  name: string;
  /** The processes of the group now (a group may gain processes, e.g. a connection's). */
  pids(): Promise<number[]>;
}

async function cpuMsOf(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** CPU ms so far of each group, by pid, so a process that exits meanwhile counts what it had. */
export async function cpuSnapshot(groups: readonly CpuGroup[]): Promise<Map<string, Map<number, number>>> {
  const snapshot = new Map<string, Map<number, number>>();
  for (const group of groups) {
    const byPid = new Map<number, number>();
    for (const pid of await group.pids()) byPid.set(pid, await cpuMsOf(pid));
    snapshot.set(group.name, byPid);
  }
  return snapshot;
}

/** CPU ms each group spent between two snapshots (processes born in between count from 0). */
export function cpuBetween(
  before: Map<string, Map<number, number>>,
  after: Map<string, Map<number, number>>,
): Map<string, number> {
  const spent = new Map<string, number>();
  for (const [name, byPid] of after) {
    let total = 0;
    for (const [pid, ms] of byPid) total += ms - (before.get(name)?.get(pid) ?? 0);
    spent.set(name, total);
  }
  return spent;
}

/** Every process whose parent chain reaches `root` (root included). */
export async function descendantsOf(root: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  return [...parents.keys()].filter((pid) => {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parents.get(p))
      if (p === root) return true;
    return false;
  });
}

/** The pids whose command line contains `needle`. */
export async function pidsMatching(needle: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if ((await readFile(`/proc/${entry}/cmdline`, "utf8")).includes(needle)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** The PostgreSQL backends connected to one database. */
export async function backendsOf(adminUrl: string, database: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const rows = await client.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1", [
      database,
    ]);
    return rows.rows.map((row) => row.pid);
  } finally {
    await client.end();
  }
}
