import type { Duplex } from 'node:stream';
import type { Packet } from 'mqtt-packet';
import type { Logger } from 'pino';
import { INGEST_ONLY_CAPABILITIES, type ServerCapabilities } from './capabilities.js';
import { dropReason } from './disconnect-reasons.js';
import type { EngineContext } from './engine-context.js';
import { FrameReader, type FrameProblem } from './frame-reader.js';
import { dispatch } from './handlers/index.js';
import { handleConnectFrame } from './handlers/connect.js';
import type { QoS0Reply } from './handlers/publish-reply.js';
import { InboundFlow } from './inbound-flow.js';
import { MalformedPacket, parseFrame } from './packet-parser.js';
import { ReasonCode } from './reason-codes.js';
import { awaitDrain, destroyIfOpen, listenTo, onConnectTimeout, readLater, stopListening } from './stream-events.js';
import type { OutboundWindow } from './outbound-window.js';
import type { InboundTopicAliases } from './inbound-topic-aliases.js';
import type { ConnectionInfo, MqttSession, ProtocolVersion } from './types.js';
import type { WillMessage } from './will.js';
import { PacketWriter, type WriterPeer } from './writer.js';

/** Why reading is stopped; reading goes on when none is set. */
export const Pause = { Budget: 1, Writes: 2, Connecting: 4 } as const;

/** How long a connection sent away has to close its side before its socket is destroyed. */
export const GRACEFUL_CLOSE_MS = 1000;

export type ConnectionState = 'awaiting-connect' | 'connecting' | 'connected' | 'closing' | 'closed';

/**
 * One client connection: owns its stream, cuts what it reads into packets, hands each to the
 * handler for its kind, and writes through its PacketWriter. Reading stops and starts with
 * pause/unpause: the stream stops being read, its buffers fill and TCP pushes the client back.
 */
export class Connection implements WriterPeer {
  state: ConnectionState = 'awaiting-connect';
  protocolVersion: ProtocolVersion = 4;
  clientId = '';
  session: MqttSession | undefined;
  /** The client's own limits (MQTT 5 CONNECT properties). */
  maximumPacketSize: number | undefined;
  problemInformation = true;
  clientReceiveMaximum = 65535;
  clientTopicAliasMaximum = 0;
  /** Session Expiry Interval as the CONNECT asked (a DISCONNECT may change it only when this is not 0). */
  requestedSessionExpiry = 0;
  /** The Session Expiry Interval in force: CONNACK's, or what a DISCONNECT set it to. */
  grantedSessionExpiry = 0;
  /** The hooks opened a session for this connection: they are told how it ends. */
  sessionOpened = false;
  /** What CONNACK told the client the server offers. */
  capabilities: ServerCapabilities = INGEST_ONLY_CAPABILITIES;
  will: WillMessage | undefined;
  /** Cleared by a DISCONNECT that discards the will. */
  willOnClose = true;
  readonly frames: FrameReader;
  readonly writer: PacketWriter;
  pauses = 0;
  /** When the chunk being handled arrived (ms since the epoch). */
  receivedAt = 0;
  lastPacketAt = 0;
  keepAliveMs = 0;
  keepAliveTimer: NodeJS.Timeout | undefined;
  connectTimer: NodeJS.Timeout | undefined;
  expiryTimer: NodeJS.Timeout | undefined;
  inbound: InboundFlow | undefined;
  topicAliases: InboundTopicAliases | undefined;
  outbound: OutboundWindow | undefined;
  /** The answer shared by this connection's QoS 0 PUBLISHes, made at the first. */
  qos0Reply: QoS0Reply | undefined;
  /** Publish rate token bucket. */
  tokens = 0;
  tokensAt = 0;
  /** Why the server ended the connection, for the disconnects metric; unset when the client did. */
  closeReason: string | undefined;
  /** The connections gauge counts this connection under this version label. */
  countedVersion: string | undefined;
  private logger: Logger | undefined;
  private closeWaiters: Array<() => void> | undefined;
  private drainScheduled = false;

  constructor(
    readonly stream: Duplex,
    readonly info: ConnectionInfo,
    readonly ctx: EngineContext,
  ) {
    this.frames = new FrameReader(ctx.limits.maxPacketSize);
    this.writer = new PacketWriter(stream, this);
    listenTo(stream, this);
    this.connectTimer = setTimeout(onConnectTimeout, ctx.limits.connectTimeoutSeconds * 1000, this);
  }

  /** The connection is closing or closed: nothing more is read from it or answered on it. */
  get gone(): boolean {
    return this.state === 'closing' || this.state === 'closed';
  }

  /** This connection's logger (client id, remote address, listener), made at its first line. */
  get log(): Logger {
    this.logger ??= this.ctx.logger.child({ clientId: this.clientId === '' ? undefined : this.clientId, remoteAddress: this.info.remoteAddress, listener: this.info.listener });
    return this.logger;
  }

  inboundFlow(): InboundFlow {
    return (this.inbound ??= new InboundFlow());
  }

  onData(chunk: Buffer): void {
    if (this.gone) return;
    this.receivedAt = Date.now();
    this.frames.push(chunk);
    if ((this.pauses & Pause.Connecting) === 0) this.readFrames();
  }

  /**
   * Handles the buffered packets in order until none is left. A pause for backpressure stops the
   * stream, not this: what was already read is still handled (at most one chunk), as the pipeline's
   * bounds expect. Only the CONNECT handshake holds packets back until CONNACK.
   */
  readFrames(): void {
    while ((this.pauses & Pause.Connecting) === 0 && !this.gone) {
      const frame = this.frames.next();
      if (frame === undefined) return;
      if (!(frame instanceof Uint8Array)) {
        this.frameProblem(frame);
        return;
      }
      this.lastPacketAt = this.receivedAt;
      if (this.state === 'awaiting-connect') {
        handleConnectFrame(this, frame);
        continue;
      }
      if (frame[0]! >> 4 === 1) {
        this.protocolError('second-connect', ReasonCode.ProtocolError, 'a second CONNECT on one connection [MQTT-3.1.0-2]');
        return;
      }
      const packet = parseFrame(frame, this.protocolVersion);
      if (packet instanceof MalformedPacket) {
        this.protocolError('malformed', ReasonCode.MalformedPacket, packet.problem);
        return;
      }
      dispatch(this, packet as Packet);
    }
  }

  pause(reason: number): void {
    if (this.gone) return;
    if (this.pauses === 0) this.stream.pause();
    this.pauses |= reason;
  }

  unpause(reason: number): void {
    if ((this.pauses & reason) === 0) return;
    this.pauses &= ~reason;
    if (this.pauses !== 0 || this.gone) return;
    this.stream.resume();
    // What was held back is handled on the next turn of the event loop, not inside the caller
    // (who is in the middle of its own accounting).
    if (this.frames.buffered > 0 && !this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(readLater, this);
    }
  }

  runScheduledRead(): void {
    this.drainScheduled = false;
    if ((this.pauses & Pause.Connecting) === 0) this.readFrames();
  }

  /** The stream took less than was written: stop reading until it drains. */
  writeBlocked(): void {
    if (this.gone || (this.pauses & Pause.Writes) !== 0) return;
    this.pause(Pause.Writes);
    this.outbound?.setWritable(false);
    awaitDrain(this.stream);
  }

  onDrain(): void {
    if (this.gone) return;
    const packets = this.outbound?.setWritable(true) ?? [];
    for (const packet of packets) this.writer.packet(packet);
    this.unpause(Pause.Writes);
  }

  /**
   * A protocol violation or malformed packet: counted, logged, and the client sent away with
   * `reasonCode` (MQTT 5, once CONNACK is out) or closed.
   */
  protocolError(kind: string, reasonCode: number, problem: string, fields?: Record<string, unknown>): void {
    if (this.gone) return;
    this.ctx.metrics.protocolErrors.inc({ kind });
    this.log.warn({ kind, problem, ...fields }, 'protocol error: disconnecting');
    this.drop(reasonCode, problem);
  }

  /**
   * Sends the client away: MQTT 5 clients past CONNACK get DISCONNECT with `reasonCode`, then the
   * connection is closed after what was written before it.
   */
  drop(reasonCode: number, reason: string, closeReason = dropReason(reasonCode)): void {
    if (this.gone) return;
    this.closeReason ??= closeReason;
    if (this.protocolVersion === 5 && this.state === 'connected') {
      this.writer.packet({ cmd: 'disconnect', reasonCode, properties: { reasonString: reason } });
    }
    this.closeGracefully();
  }

  /**
   * Closes so that what was written (the acknowledgements above all) reaches the client: end()
   * sends it and a FIN, and the stream is still read, and what comes dropped, until the client
   * closes its side or GRACEFUL_CLOSE_MS pass. Closing with unread bytes makes the kernel answer
   * with a reset, on which the client may lose acknowledgements it has not read yet.
   */
  closeGracefully(): void {
    if (this.state === 'closed') return;
    this.state = 'closing';
    this.stopTimers();
    this.frames.clear();
    this.writer.flush();
    if (this.pauses !== 0) {
      this.pauses = 0;
      this.stream.resume();
    }
    if (this.stream.destroyed) return;
    this.stream.end();
    setTimeout(destroyIfOpen, GRACEFUL_CLOSE_MS, this.stream).unref();
  }

  /** Resolves once the stream has closed. */
  whenClosed(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    return new Promise((resolve) => (this.closeWaiters ??= []).push(resolve));
  }

  /** The stream closed, however it ended; runs once. */
  onClose(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.stopTimers();
    this.frames.clear();
    stopListening(this.stream);
    this.ctx.closed(this);
    for (const resolve of this.closeWaiters ?? []) resolve();
    this.closeWaiters = undefined;
  }

  send(packets: readonly Packet[]): void {
    for (const packet of packets) this.writer.packet(packet);
  }

  stopTimers(): void {
    clearTimeout(this.connectTimer);
    clearTimeout(this.keepAliveTimer);
    clearTimeout(this.expiryTimer);
    this.connectTimer = this.keepAliveTimer = this.expiryTimer = undefined;
  }

  /** Reading paused by the server itself (its bounds, or the handshake): the client is not to blame for silence. */
  get pausedByServer(): boolean {
    return (this.pauses & (Pause.Budget | Pause.Connecting)) !== 0;
  }

  private frameProblem(problem: FrameProblem): void {
    if (problem.problem === 'malformed-length') {
      this.protocolError('malformed', ReasonCode.MalformedPacket, 'Remaining Length longer than four bytes');
      return;
    }
    const { maxPacketSize } = this.ctx.limits;
    this.ctx.limitHit('packet-size', { clientId: this.clientId || undefined, remoteAddress: this.info.remoteAddress, size: problem.size, maxPacketSize }, 'packet larger than maxPacketSize: disconnected');
    this.drop(ReasonCode.PacketTooLarge, `packet of ${problem.size} bytes, larger than the Maximum Packet Size ${maxPacketSize}`);
  }
}
