import { readFileSync } from 'node:fs';
import os from 'node:os';

const MIB = 1024 * 1024;

/** cgroup v1 reports "no limit" as a huge number near 2^63; anything above this is no limit. */
const NO_LIMIT_ABOVE = 2 ** 60;

/** Where the cgroup file systems are mounted (v2 unified; v1 one directory per controller). */
const CGROUP_V2_ROOT = '/sys/fs/cgroup';
const CGROUP_V1_MEMORY_ROOT = '/sys/fs/cgroup/memory';

/**
 * Environment variable telling a process how many proxy processes share this machine's (or
 * container's) memory: set by the `--workers` primary for its workers.
 */
export const MEMORY_SHARING_PROCESSES_ENV = 'MKP_WORKER_COUNT';

/** Reads a file as text, or undefined when it cannot be read. */
export type TextReader = (path: string) => string | undefined;

const readText: TextReader = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** `/a/b/c` -> `['/a/b/c', '/a/b', '/a', '']`: a cgroup and each of its ancestors, the root last. */
function selfAndAncestors(cgroupPath: string): string[] {
  const parts = cgroupPath.split('/').filter((part) => part !== '');
  const dirs: string[] = [];
  for (let n = parts.length; n >= 0; n--) dirs.push(parts.slice(0, n).map((part) => `/${part}`).join(''));
  return dirs;
}

/**
 * The files that may hold a memory limit for the process whose `/proc/self/cgroup` is `procSelfCgroup`:
 * its own cgroup and every ancestor (a limit on any of them applies), for cgroup v2 (`0::PATH`,
 * `memory.max`) and v1 (`N:...memory...:PATH`, `memory.limit_in_bytes`). The mount roots are always
 * included: inside a container with its own cgroup namespace the path is `/`, and without one the
 * host's path may not exist under the container's mount, whose root is then the container's cgroup.
 */
export function cgroupMemoryLimitFiles(procSelfCgroup: string | undefined): string[] {
  const files = new Set<string>();
  for (const line of (procSelfCgroup ?? '').split('\n')) {
    const match = /^(\d+):([^:]*):(\/.*)$/.exec(line.trim());
    if (match === null) continue;
    const [, hierarchy, controllers, path] = match as unknown as [string, string, string, string];
    // A path that climbs out is not something to follow (only seen when reading another namespace).
    if (path.split('/').includes('..')) continue;
    if (hierarchy === '0' && controllers === '') {
      for (const dir of selfAndAncestors(path)) files.add(`${CGROUP_V2_ROOT}${dir}/memory.max`);
    } else if (controllers.split(',').includes('memory')) {
      for (const dir of selfAndAncestors(path)) files.add(`${CGROUP_V1_MEMORY_ROOT}${dir}/memory.limit_in_bytes`);
    }
  }
  files.add(`${CGROUP_V2_ROOT}/memory.max`);
  files.add(`${CGROUP_V1_MEMORY_ROOT}/memory.limit_in_bytes`);
  return [...files];
}

/** A limit file's value in bytes, or undefined for absent, unreadable, "max" or "no limit". */
function parseLimit(text: string | undefined): number | undefined {
  const value = text?.trim();
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const limit = Number(value);
  return limit > 0 && limit < NO_LIMIT_ABOVE ? limit : undefined;
}

/**
 * The memory this process may use: the smallest cgroup memory limit on its own cgroup or any
 * ancestor (v2 or v1, found through `/proc/self/cgroup`), when smaller than the machine's memory,
 * else the machine's.
 */
export function availableMemoryBytes(read: TextReader = readText, totalMemory: number = os.totalmem()): number {
  let available = totalMemory;
  for (const file of cgroupMemoryLimitFiles(read('/proc/self/cgroup'))) {
    const limit = parseLimit(read(file));
    if (limit !== undefined) available = Math.min(available, limit);
  }
  return available;
}

/**
 * How many proxy processes share the memory (`--workers N` tells its workers N), else 1. An
 * unreadable value counts as 1: the defaults are then as without `--workers`, never a crash.
 */
export function memorySharingProcesses(env: NodeJS.ProcessEnv = process.env): number {
  const count = Number(env[MEMORY_SHARING_PROCESSES_ENV]);
  return Number.isInteger(count) && count >= 1 ? count : 1;
}

export interface InflightDefaults {
  readonly maxInflightBytes: number;
  readonly maxInflightMessages: number;
}

/**
 * Default in-flight bounds for one of `processes` proxy processes sharing `memoryBytes`:
 * its share is memoryBytes / processes; bytes = share / 4, at least 16 MiB and at most 1 GiB;
 * messages = bytes / 2 KiB, at least 1000 and at most 100000. So N workers together hold at most
 * what one process would (a quarter of the memory), unless the 16 MiB floor applies.
 */
export function inflightDefaults(memoryBytes: number, processes = 1): InflightDefaults {
  if (!Number.isInteger(processes) || processes < 1) throw new RangeError(`processes must be a positive integer, got ${processes}`);
  const share = memoryBytes / processes;
  const maxInflightBytes = Math.floor(Math.min(1024 * MIB, Math.max(16 * MIB, share / 4)));
  const maxInflightMessages = Math.floor(Math.min(100_000, Math.max(1000, maxInflightBytes / 2048)));
  return { maxInflightBytes, maxInflightMessages };
}
