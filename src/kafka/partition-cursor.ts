import type { PartitionState, StartPosition } from './reader-types.js';

/** `topic` and `partition` as one map key. */
export const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/**
 * One assigned partition as the reader tracks it: where it stands, who leads it, and whether it
 * may be fetched now. `generation` changes whenever the position is set from outside (seek, reset),
 * so a fetch answer that was asked for at the old position is recognised and dropped.
 */
export class PartitionCursor {
  /** Next offset to deliver; undefined until {@link start} is resolved. */
  next: bigint | undefined;
  /** The start position to look up (ListOffsets), or undefined when `next` holds. */
  start: StartPosition | undefined;
  endOffset: bigint | undefined;
  /** Node id of the leader, undefined while it must be looked up (after an error or a leader change). */
  leader: number | undefined;
  leaderEpoch = -1;
  /** The leader last known, kept while `leader` is being looked up again (to tell a move). */
  lastLeader: number | undefined;
  /** The position that was out of the log's range, while its replacement is looked up. */
  resetFrom: bigint | undefined;
  /** Paused by the caller. */
  paused = false;
  /** The handler has not finished with the last batch (or failed on it). */
  busy = false;
  /** A fetch asking for this partition is in flight. */
  inFlight = false;
  generation = 0;
  removed = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
    start: StartPosition,
  ) {
    this.seek(start);
  }

  seek(start: StartPosition): void {
    this.generation++;
    if (typeof start === 'object' && 'offset' in start) {
      this.next = start.offset;
      this.start = undefined;
    } else {
      this.next = undefined;
      this.start = start;
    }
  }

  /** Ready for the next fetch from its leader. */
  get fetchable(): boolean {
    return !this.removed && !this.paused && !this.busy && !this.inFlight && this.next !== undefined && this.leader !== undefined;
  }

  get lag(): number | undefined {
    if (this.next === undefined || this.endOffset === undefined) return undefined;
    const lag = this.endOffset - this.next;
    return lag > 0n ? Number(lag) : 0;
  }

  state(): PartitionState {
    return {
      topic: this.topic,
      partition: this.partition,
      position: this.next,
      endOffset: this.endOffset,
      leader: this.leader,
      paused: this.paused,
      waiting: this.busy,
    };
  }
}
