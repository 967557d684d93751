/**
 * Releases acknowledgements in the order their PUBLISHes arrived on one connection
 * (MQTT-4.6.0-2), whatever order Kafka completes them in.
 *
 * `reserve()` takes a place in line at arrival; `settle(ticket, release)` records the answer;
 * answers leave as soon as every earlier one has left. A release may re-enter (sending an ack lets
 * the engine read the next packets, which reserve and settle synchronously), so the queue state is
 * consistent before each release runs.
 */
export class AckSequencer {
  private slots: Array<(() => void) | undefined> = [];
  /** Index in `slots` of the oldest unreleased ticket. */
  private start = 0;
  /** Ticket number of slots[start]. */
  private headTicket = 0;
  private releasing = false;

  reserve(): number {
    this.slots.push(undefined);
    return this.headTicket + (this.slots.length - 1 - this.start);
  }

  settle(ticket: number, release: () => void): void {
    const index = this.start + (ticket - this.headTicket);
    if (ticket < this.headTicket || index >= this.slots.length || this.slots[index] !== undefined) {
      throw new Error(`ack ticket ${ticket} is not pending`);
    }
    this.slots[index] = release;
    if (this.releasing) return;
    this.releasing = true;
    // A release that throws must not strand the answers behind it: they go out, then it rethrows.
    let failure: { error: unknown } | undefined;
    while (this.start < this.slots.length) {
      const ready = this.slots[this.start];
      if (ready === undefined) break;
      this.slots[this.start] = undefined;
      this.start++;
      this.headTicket++;
      try {
        ready();
      } catch (error) {
        failure ??= { error };
      }
    }
    this.releasing = false;
    if (this.start === this.slots.length) {
      this.slots = [];
      this.start = 0;
    } else if (this.start > 1024 && this.start * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.start);
      this.start = 0;
    }
    if (failure !== undefined) throw failure.error;
  }

  /** Answers reserved and not yet released. */
  get pending(): number {
    return this.slots.length - this.start;
  }
}
