/**
 * Process groups as Linux's /proc shows them, for tests that must prove that a supervised process (nginx: a
 * master and its worker, one group) is gone, or still there. Read-only: it never signals a process.
 */
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Live processes whose process group is `pgid` (an nginx master's pid is its group's id). Zombies are dead and
 * left out; a stopped process (SIGSTOP) is alive and counted.
 */
export function groupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(pgrp) === pgid && state !== 'Z' ? [Number(entry)] : [];
      } catch {
        return []; // exited while we looked
      }
    });
}

/** The state letter /proc gives `pid` (R, S, T for stopped, Z…), or undefined once it is gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}
