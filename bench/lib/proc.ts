/**
 * What a process costs, read from Linux's /proc: CPU seconds, resident memory, a process's descendants, and the
 * whole machine's busy time. Used by the benchmarks that put a price on media work (live-mix, media-capacity).
 * Read-only: it never signals a process. A process that exits while it is read counts as gone, not as an error.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc reports CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

/** The fields of a /proc stat file after the command, which may itself hold spaces and parentheses. */
function statFields(pid: number, tid?: number): string[] | undefined {
  try {
    const stat = readFileSync(
      tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`,
      'utf8',
    );
    return stat
      .slice(stat.lastIndexOf(')') + 2)
      .trim()
      .split(' ');
  } catch {
    return undefined;
  }
}

/**
 * utime + stime of a process (every thread), in seconds, or undefined once it is gone. `mainThread`: of its
 * main thread only, where a Node process runs its JavaScript (GC and compiler threads run beside it).
 */
export function cpuSeconds(pid: number, mainThread = false): number | undefined {
  const fields = statFields(pid, mainThread ? pid : undefined);
  // utime and stime are the stat file's fields 14 and 15; the list starts at field 3 (state).
  return fields ? (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND : undefined;
}

/** VmRSS of a process in MB; 0 once it is gone. */
export function rssMegabytes(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Number(kb ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** The executable's name as the kernel shows it (15 characters at most), or undefined once it is gone. */
export function commandName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Every live process whose parent chain leads to `root` (not `root` itself), zombies left out. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (!fields || fields[0] === 'Z') continue;
    const parent = Number(fields[1]);
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length) {
    const pid = queue.shift()!;
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** CPU seconds of a set of processes, per pid, taken at one moment. */
export type CpuSnapshot = Map<number, number>;

export function snapshot(pids: readonly number[]): CpuSnapshot {
  const taken: CpuSnapshot = new Map();
  for (const pid of pids) {
    const seconds = cpuSeconds(pid);
    if (seconds !== undefined) taken.set(pid, seconds);
  }
  return taken;
}

/**
 * CPU spent between two snapshots, in seconds: a process in both counts its difference, one that started in
 * between counts all it has (it started after `before`); one that exited in between is lost, which is why the
 * windows are taken while nothing starts or stops.
 */
export function spentBetween(before: CpuSnapshot, after: CpuSnapshot): number {
  let spent = 0;
  for (const [pid, seconds] of after) spent += seconds - (before.get(pid) ?? 0);
  return spent;
}

/** The machine's busy and total CPU time so far (all cores, from /proc/stat), in seconds. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …: idle and iowait are the time no work ran.
  const total = ticks.slice(0, 8).reduce((sum, value) => sum + value, 0);
  const idle = ticks[3] + ticks[4];
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}
