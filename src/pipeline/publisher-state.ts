import type { Logger } from 'pino';
import type { MqttSession } from '../mqtt/types.js';
import { AckSequencer } from './ack-sequencer.js';

/** Per connection: the PUBACK order, and a child logger made at its first line (most never log). */
export class PublisherState {
  readonly sequencer = new AckSequencer();
  private logger: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly session: MqttSession,
  ) {}

  get log(): Logger {
    this.logger ??= this.parent.child({
      clientId: this.session.clientId,
      remoteAddress: this.session.remoteAddress,
      listener: this.session.listener,
      protocolVersion: this.session.protocolVersion,
    });
    return this.logger;
  }
}
