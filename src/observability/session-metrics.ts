import { Counter, Gauge, type Registry } from 'prom-client';

// The metrics prefix spelled out: this module is loaded by the delivery part, not by metrics.ts.
const PREFIX = 'mqtt_kafka_proxy_';

/** What happened to persistent sessions on this replica. */
export const SESSION_EVENTS = ['created', 'resumed', 'taken-over', 'expired', 'adopted', 'will-published'] as const;
export type SessionEvent = (typeof SESSION_EVENTS)[number];

export interface SessionCounts {
  /** Sessions in the sessions topic, every replica's. */
  readonly stored: number;
  /** Persistent sessions connected to this replica. */
  readonly connected: number;
}

/**
 * `mqtt_kafka_proxy_sessions{state}` (stored, connected) read at each scrape, and
 * `mqtt_kafka_proxy_session_events_total{event}`; returns the counter's increment.
 */
export function sessionMetrics(registry: Registry, read: () => SessionCounts): (event: SessionEvent) => void {
  new Gauge({
    name: `${PREFIX}sessions`,
    help: 'Persistent sessions: stored in the sessions topic (all replicas), connected to this replica',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const counts = read();
      this.set({ state: 'stored' }, counts.stored);
      this.set({ state: 'connected' }, counts.connected);
    },
  });
  const events = new Counter({ name: `${PREFIX}session_events_total`, help: 'Persistent session events on this replica', labelNames: ['event'], registers: [registry] });
  for (const event of SESSION_EVENTS) events.inc({ event }, 0);
  return (event) => events.inc({ event });
}
