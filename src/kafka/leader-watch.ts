/** The partition leaders of some topics, as one metadata answer gave them. */
export interface LeaderView {
  /** Broker id -> `host:port`. */
  readonly brokers: ReadonlyMap<number, string>;
  /** Topic -> leader broker id per partition (-1 while a partition has none). */
  readonly leaders: ReadonlyMap<string, readonly number[]>;
}

export interface LeaderMove {
  readonly topic: string;
  readonly partition: number;
  readonly from: string;
  readonly to: string;
}

/**
 * Remembers the last leader seen for each partition, across every client that reports metadata,
 * and tells which partitions have a new one. A partition without a leader (an election under
 * way) is not a move; the leader it ends up with is compared with the one before it.
 */
export class LeaderWatch {
  private readonly known = new Map<string, number>();
  private readonly names = new Map<number, string>();

  observe(view: LeaderView): LeaderMove[] {
    for (const [id, address] of view.brokers) this.names.set(id, address);
    const moves: LeaderMove[] = [];
    for (const [topic, leaders] of view.leaders) {
      leaders.forEach((leader, partition) => {
        if (leader < 0) return;
        const key = `${topic}\u0000${partition}`;
        const before = this.known.get(key);
        this.known.set(key, leader);
        if (before !== undefined && before !== leader) {
          moves.push({ topic, partition, from: this.name(before), to: this.name(leader) });
        }
      });
    }
    return moves;
  }

  private name(id: number): string {
    const address = this.names.get(id);
    return address === undefined ? `broker ${id}` : `broker ${id} (${address})`;
  }
}

/** One line's worth of moves: `iot.telemetry-0: broker 1 (h:9092) -> broker 2 (h:9093)`, ... */
export function describeMoves(moves: readonly LeaderMove[], limit = 20): string {
  const listed = moves.slice(0, limit).map((m) => `${m.topic}-${m.partition}: ${m.from} -> ${m.to}`);
  if (moves.length > limit) listed.push(`and ${moves.length - limit} more`);
  return listed.join(', ');
}
