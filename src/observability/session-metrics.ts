import { Counter, Gauge, type Registry } from 'prom-client';

// The metrics prefix spelled out: metrics.ts registers these with every registry, so this module
// may not import it back.
const SESSIONS_METRIC = 'mqtt_kafka_proxy_sessions';
const EVENTS_METRIC = 'mqtt_kafka_proxy_session_events_total';

/** What happened to persistent sessions on this replica. */
export const SESSION_EVENTS = ['created', 'resumed', 'taken-over', 'expired', 'adopted', 'will-published', 'retransmission-found', 'retransmission-written', 'retransmission-unresolved'] as const;
export type SessionEvent = (typeof SESSION_EVENTS)[number];

export interface SessionCounts {
  /** Sessions in the sessions topic, every replica's. */
  readonly stored: number;
  /** Persistent sessions connected to this replica. */
  readonly connected: number;
}

// Where each registry's sessions gauge reads from (set once a proxy has a session store).
const readers = new WeakMap<Registry, () => SessionCounts>();

/**
 * `mqtt_kafka_proxy_sessions{state}` (stored, connected), read at each scrape (0 without a session
 * store), and `mqtt_kafka_proxy_session_events_total{event}`. createMetrics makes them, so they are
 * always exported.
 */
export function registerSessionMetrics(registry: Registry): void {
  if (registry.getSingleMetric(SESSIONS_METRIC) !== undefined) return;
  new Gauge({
    name: SESSIONS_METRIC,
    help: 'Persistent sessions: stored in the sessions topic (all replicas), connected to this replica',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const counts = readers.get(registry)?.() ?? { stored: 0, connected: 0 };
      this.set({ state: 'stored' }, counts.stored);
      this.set({ state: 'connected' }, counts.connected);
    },
  });
  const events = new Counter({ name: EVENTS_METRIC, help: 'Persistent session events on this replica', labelNames: ['event'], registers: [registry] });
  for (const event of SESSION_EVENTS) events.inc({ event }, 0);
}

/** The session store's counts for the gauge; returns the events counter's increment. */
export function observeSessions(registry: Registry, read: () => SessionCounts): (event: SessionEvent) => void {
  registerSessionMetrics(registry);
  readers.set(registry, read);
  const events = registry.getSingleMetric(EVENTS_METRIC) as Counter<'event'>;
  return (event) => events.inc({ event });
}
