/** The bounds of {@link InflightBudget}; see `limits` in the config. */
export interface InflightLimits {
  /** Most records in flight over all connections. */
  readonly maxMessages: number;
  /** Most accounted bytes in flight over all connections. */
  readonly maxBytes: number;
  /** Most records in flight from one connection. */
  readonly maxPerConnection: number;
  /** Most accounted bytes in flight from one connection. */
  readonly maxBytesPerConnection: number;
  /** A paused reader resumes once in flight is at or below this fraction of the bound that paused it. */
  readonly lowWaterFraction: number;
  /**
   * What the global bound pauses: `all` connections (nothing more is read from any socket), or only
   * the connection whose message went over it (when other traffic is dropped instead of blocked).
   */
  readonly globalPause: 'all' | 'offender';
}

/** How the budget stops and restarts reading from a connection. Called once per transition. */
export interface ReadSwitch<C> {
  pause(connection: C): void;
  resume(connection: C): void;
}

interface ConnectionBudget {
  messages: number;
  bytes: number;
  /** Over its own bound (until back at its low-water mark). */
  overOwn: boolean;
  /** Held by the global bound (until the total is back at its low-water mark). */
  heldGlobally: boolean;
  /** Still connected; a detached connection is only kept until its records are answered. */
  attached: boolean;
}

/**
 * Accounting of records handed to Kafka and not yet answered, globally and per connection, and
 * the decision when to stop reading from a connection and when to read again. Pure: the caller
 * says what was taken and released, and gets pause/resume calls on its {@link ReadSwitch}.
 *
 * A record is counted from the moment its PUBLISH was read until Kafka answered it, whatever the
 * answer. Reading stops at the bound and restarts at the low-water mark, so sockets do not flap.
 * Records already read when the bound is reached are still taken: the bound is soft by at most
 * what the connections had already read.
 */
export class InflightBudget<C> {
  private readonly connections = new Map<C, ConnectionBudget>();
  private totalMessages = 0;
  private totalBytes = 0;
  private overloaded = false;
  private paused = 0;
  private readonly lowMessages: number;
  private readonly lowBytes: number;
  private readonly lowPerConnection: number;
  private readonly lowBytesPerConnection: number;

  constructor(
    private readonly limits: InflightLimits,
    private readonly reads: ReadSwitch<C>,
  ) {
    for (const name of ['maxMessages', 'maxBytes', 'maxPerConnection', 'maxBytesPerConnection'] as const) {
      if (!Number.isInteger(limits[name]) || limits[name] < 1) throw new RangeError(`${name} must be a positive integer, got ${limits[name]}`);
    }
    if (!(limits.lowWaterFraction >= 0 && limits.lowWaterFraction < 1)) {
      throw new RangeError(`lowWaterFraction must be in [0, 1), got ${limits.lowWaterFraction}`);
    }
    this.lowMessages = Math.floor(limits.maxMessages * limits.lowWaterFraction);
    this.lowBytes = Math.floor(limits.maxBytes * limits.lowWaterFraction);
    this.lowPerConnection = Math.floor(limits.maxPerConnection * limits.lowWaterFraction);
    this.lowBytesPerConnection = Math.floor(limits.maxBytesPerConnection * limits.lowWaterFraction);
  }

  /** Records in flight. */
  get messages(): number {
    return this.totalMessages;
  }

  /** Accounted bytes in flight. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Connections currently not read. */
  get pausedConnections(): number {
    return this.paused;
  }

  /** True from reaching a global bound until back at its low-water mark. */
  get isOverloaded(): boolean {
    return this.overloaded;
  }

  /** A new connection; paused at once when everything is paused. */
  attach(connection: C): void {
    let state = this.connections.get(connection);
    if (state?.attached === true) return;
    if (state === undefined) {
      state = { messages: 0, bytes: 0, overOwn: false, heldGlobally: false, attached: true };
      this.connections.set(connection, state);
    }
    state.attached = true;
    if (this.atOwnBound(state)) this.hold(connection, state, 'overOwn');
    if (this.overloaded && this.limits.globalPause === 'all') this.hold(connection, state, 'heldGlobally');
  }

  /** The connection went away; records it left in flight still count until released. */
  detach(connection: C): void {
    const state = this.connections.get(connection);
    if (state === undefined) return;
    if (state.overOwn || state.heldGlobally) this.paused--;
    state.overOwn = false;
    state.heldGlobally = false;
    state.attached = false;
    if (state.messages === 0) this.connections.delete(connection);
  }

  /** One record read from `connection`, `bytes` large, is on its way to Kafka. */
  take(connection: C, bytes: number): void {
    let state = this.connections.get(connection);
    if (state === undefined) {
      // Not attached (yet, or any more: a Last Will is published after its connection closed).
      // Counted, never paused, forgotten once released.
      state = { messages: 0, bytes: 0, overOwn: false, heldGlobally: false, attached: false };
      this.connections.set(connection, state);
    }
    state.messages++;
    state.bytes += bytes;
    this.totalMessages++;
    this.totalBytes += bytes;
    if (state.attached && !state.overOwn && this.atOwnBound(state)) this.hold(connection, state, 'overOwn');
    if (!this.overloaded && (this.totalMessages >= this.limits.maxMessages || this.totalBytes >= this.limits.maxBytes)) {
      this.overloaded = true;
      if (this.limits.globalPause === 'all') {
        for (const [other, otherState] of this.connections) {
          if (otherState.attached) this.hold(other, otherState, 'heldGlobally');
        }
        return;
      }
    }
    if (this.overloaded && state.attached && this.limits.globalPause === 'offender') this.hold(connection, state, 'heldGlobally');
  }

  /** Kafka answered a record `take` counted (`bytes` as given there). */
  release(connection: C, bytes: number): void {
    const state = this.connections.get(connection);
    if (state === undefined || state.messages === 0) throw new Error('release without a matching take');
    state.messages--;
    state.bytes -= bytes;
    this.totalMessages--;
    this.totalBytes -= bytes;
    if (state.overOwn && state.messages <= this.lowPerConnection && state.bytes <= this.lowBytesPerConnection) {
      this.unhold(connection, state, 'overOwn');
    }
    if (!state.attached && state.messages === 0) this.connections.delete(connection);
    if (this.overloaded && this.totalMessages <= this.lowMessages && this.totalBytes <= this.lowBytes) {
      this.overloaded = false;
      for (const [other, otherState] of this.connections) {
        if (otherState.heldGlobally) this.unhold(other, otherState, 'heldGlobally');
      }
    }
  }

  /** A connection's own bound is reached by its count of records or by their bytes, whichever first. */
  private atOwnBound(state: ConnectionBudget): boolean {
    return state.messages >= this.limits.maxPerConnection || state.bytes >= this.limits.maxBytesPerConnection;
  }

  private hold(connection: C, state: ConnectionBudget, why: 'overOwn' | 'heldGlobally'): void {
    if (state[why]) return;
    const wasPaused = state.overOwn || state.heldGlobally;
    state[why] = true;
    if (!wasPaused) {
      this.paused++;
      this.reads.pause(connection);
    }
  }

  private unhold(connection: C, state: ConnectionBudget, why: 'overOwn' | 'heldGlobally'): void {
    if (!state[why]) return;
    state[why] = false;
    if (!state.overOwn && !state.heldGlobally) {
      this.paused--;
      this.reads.resume(connection);
    }
  }
}
