import { readFileSync } from 'node:fs';
import os from 'node:os';

const MIB = 1024 * 1024;

/** cgroup v1 reports "no limit" as a huge number near 2^63; anything above this is no limit. */
const NO_LIMIT_ABOVE = 2 ** 60;

/** Reads a file as text, or undefined when it cannot be read. */
export type TextReader = (path: string) => string | undefined;

const readText: TextReader = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/**
 * The memory this process may use: the container's limit (cgroup v2 `memory.max`, else cgroup v1
 * `memory.limit_in_bytes`) when one is set and smaller than the machine's memory, else the machine's.
 */
export function availableMemoryBytes(read: TextReader = readText, totalMemory: number = os.totalmem()): number {
  for (const path of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    const text = read(path)?.trim();
    if (text === undefined || !/^\d+$/.test(text)) continue; // absent, or "max" (no limit)
    const limit = Number(text);
    if (limit > 0 && limit < NO_LIMIT_ABOVE) return Math.min(limit, totalMemory);
  }
  return totalMemory;
}

export interface InflightDefaults {
  readonly maxInflightBytes: number;
  readonly maxInflightMessages: number;
}

/**
 * Default in-flight bounds for a process with `memoryBytes` available:
 * bytes = memory / 4, at least 16 MiB and at most 1 GiB;
 * messages = bytes / 2 KiB, at least 1000 and at most 100000.
 */
export function inflightDefaults(memoryBytes: number): InflightDefaults {
  const maxInflightBytes = Math.floor(Math.min(1024 * MIB, Math.max(16 * MIB, memoryBytes / 4)));
  const maxInflightMessages = Math.floor(Math.min(100_000, Math.max(1000, maxInflightBytes / 2048)));
  return { maxInflightBytes, maxInflightMessages };
}
