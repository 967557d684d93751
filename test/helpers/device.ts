// A device as fault tests need one: it numbers its messages, keeps every one not acknowledged and
// sends them again after reconnecting (clean session, as every client of this proxy has), as real
// devices do. Raw MQTT over net + mqtt-packet, so hundreds of them stay cheap and every packet is
// under the test's control (DUP retransmissions within a connection for QoS 2).
import net from 'node:net';
import mqttPacket from 'mqtt-packet';

export interface DeviceOptions {
  readonly clientId: string;
  /** Where to connect; asked again before each reconnect (a test may move the proxy). */
  readonly target: () => { host: string; port: number };
  readonly qos: 0 | 1 | 2;
  readonly protocolVersion?: 4 | 5;
  /** Most messages sent and not acknowledged at a time (QoS 1 / 2). */
  readonly window?: number;
  /** Messages per second while running; 0 = as fast as the connection takes them. */
  readonly rate?: number;
  readonly payloadBytes?: number;
  /** Delay before reconnecting, in ms. */
  readonly reconnectMs?: number;
  /** QoS 2: send a PUBLISH again with DUP on the same connection when no PUBREC came within this many ms. */
  readonly retransmitMs?: number;
  /**
   * A persistent session (Clean Session 0; MQTT 5 Session Expiry 600 s): after a reconnect the
   * messages not acknowledged go again with their packet ids, and so do the PUBRELs not completed.
   */
  readonly persistent?: boolean;
}

interface Outstanding {
  readonly seq: number;
  /** Packet id on the current connection, when sent on it. */
  packetId: number | undefined;
  sentAt: number;
  /** PUBLISH packets sent for this message (1 + retransmissions). */
  attempts: number;
}

/** The payload: `clientId:seq:` then padding. */
export function devicePayload(clientId: string, seq: number, size: number): Buffer {
  const head = `${clientId}:${seq}:`;
  return Buffer.from(head.padEnd(Math.max(size, head.length), 'x'));
}

/** (client id, seq) from a payload, or undefined when it is not one of ours. */
export function parseDevicePayload(value: Buffer | null): { clientId: string; seq: number } | undefined {
  if (value === null) return undefined;
  const text = value.toString('latin1', 0, Math.min(value.length, 300));
  const match = /^([^:]+):(\d+):/.exec(text);
  return match === null ? undefined : { clientId: match[1]!, seq: Number(match[2]) };
}

export class Device {
  /** Messages created (seq 1..sent). */
  sent = 0;
  /** PUBLISH packets written, retransmissions included. */
  publishes = 0;
  /** Sequence numbers acknowledged (PUBACK, or PUBREC for QoS 2), with the time of the first ack. */
  readonly acked = new Map<number, number>();
  /** Acknowledgements received (a retransmitted message may be acknowledged more than once). */
  acks = 0;
  connects = 0;
  /** MQTT 5 DISCONNECT reason codes received. */
  readonly disconnectCodes: number[] = [];
  /** CONNACK refusals and other oddities, for the test's report. */
  readonly errors: string[] = [];

  private readonly outstanding = new Map<number, Outstanding>(); // by seq
  private readonly byPacketId = new Map<number, Outstanding>();
  private readonly awaitingPubcomp = new Set<number>();
  private socket: net.Socket | undefined;
  private connected = false;
  private generating = false;
  private running = false;
  private nextPacketId = 1;
  private pumpTimer: NodeJS.Timeout | undefined;
  private retransmitTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private writable = true;
  private readonly window: number;
  private readonly version: 4 | 5;
  private readonly payloadBytes: number;

  constructor(readonly options: DeviceOptions) {
    this.window = options.window ?? 50;
    this.version = options.protocolVersion ?? 4;
    this.payloadBytes = options.payloadBytes ?? 64;
  }

  /** Connects (and keeps reconnecting) and produces messages until {@link stopSending}. */
  start(): void {
    this.running = true;
    this.generating = true;
    this.connect();
    if ((this.options.rate ?? 0) > 0) {
      // Fixed rate: one tick per 20 ms sending the share of that slot.
      let credit = 0;
      this.pumpTimer = setInterval(() => {
        credit += (this.options.rate! * 20) / 1000;
        while (credit >= 1 && this.canCreate()) {
          credit--;
          this.createAndSend();
        }
        if (credit > 5) credit = 5;
      }, 20);
    }
    if (this.options.retransmitMs !== undefined) {
      this.retransmitTimer = setInterval(() => this.retransmitLate(), Math.max(50, this.options.retransmitMs / 2));
    }
  }

  /** No new messages from now on; unacknowledged ones are still retransmitted after reconnects. */
  stopSending(): void {
    this.generating = false;
    clearInterval(this.pumpTimer);
  }

  /** Messages sent and not acknowledged yet. */
  get unacked(): number {
    return this.outstanding.size;
  }

  /** QoS 2 messages whose PUBREL went out and whose PUBCOMP has not come. */
  get unreleased(): number {
    return this.awaitingPubcomp.size;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Disconnects for good. */
  close(): void {
    this.running = false;
    this.generating = false;
    clearInterval(this.pumpTimer);
    clearInterval(this.retransmitTimer);
    clearTimeout(this.reconnectTimer);
    const socket = this.socket;
    if (socket !== undefined && this.connected) {
      try {
        socket.write(mqttPacket.generate({ cmd: 'disconnect' }, { protocolVersion: this.version }));
      } catch {
        // already gone
      }
    }
    socket?.end();
    socket?.destroy();
  }

  private canCreate(): boolean {
    if (!this.generating || !this.connected || !this.writable) return false;
    return this.options.qos === 0 || this.outstanding.size < this.window;
  }

  private connect(): void {
    if (!this.running) return;
    const { host, port } = this.options.target();
    const socket = net.connect({ host, port });
    this.socket = socket;
    socket.setNoDelay(true);
    const parser = mqttPacket.parser({ protocolVersion: this.version });
    parser.on('packet', (packet) => this.onPacket(socket, packet));
    parser.on('error', (error) => this.errors.push(`parse: ${error.message}`));
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.on('drain', () => {
      if (socket !== this.socket) return;
      this.writable = true;
      this.pump();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (socket !== this.socket) return;
      this.connected = false;
      this.writable = true;
      // A persistent session keeps its packet identifiers across connections [MQTT-4.4.0-1].
      if (this.options.persistent !== true) {
        this.byPacketId.clear();
        this.awaitingPubcomp.clear();
        for (const o of this.outstanding.values()) o.packetId = undefined;
      }
      if (this.running) this.reconnectTimer = setTimeout(() => this.connect(), this.options.reconnectMs ?? 300);
    });
    socket.on('connect', () => {
      socket.write(
        mqttPacket.generate(
          {
            cmd: 'connect', protocolId: 'MQTT', protocolVersion: this.version, clientId: this.options.clientId, clean: this.options.persistent !== true, keepalive: 30,
            ...(this.options.persistent === true && this.version === 5 && { properties: { sessionExpiryInterval: 600 } }),
          },
          { protocolVersion: this.version },
        ),
      );
    });
  }

  private onPacket(socket: net.Socket, packet: mqttPacket.Packet): void {
    switch (packet.cmd) {
      case 'connack': {
        const code = this.version === 5 ? packet.reasonCode : packet.returnCode;
        if (code !== 0) {
          this.errors.push(`connack ${code}`);
          socket.destroy();
          return;
        }
        this.connected = true;
        this.connects++;
        if (this.options.persistent === true && !(packet as { sessionPresent?: boolean }).sessionPresent && this.connects > 1) this.errors.push('session lost (Session Present 0)');
        // PUBRELs not completed go again, then everything not acknowledged, oldest first: the device's own outgoing store.
        for (const id of this.awaitingPubcomp) this.write(mqttPacket.generate({ cmd: 'pubrel', messageId: id }, { protocolVersion: this.version }));
        for (const o of [...this.outstanding.values()].sort((a, b) => a.seq - b.seq)) this.send(o, o.attempts > 0);
        this.pump();
        break;
      }
      case 'puback':
      case 'pubrec': {
        const o = packet.messageId === undefined ? undefined : this.byPacketId.get(packet.messageId);
        const code = (packet as { reasonCode?: number }).reasonCode ?? 0;
        if (packet.cmd === 'pubrec') {
          this.write(mqttPacket.generate({ cmd: 'pubrel', messageId: packet.messageId! }, { protocolVersion: this.version }));
          this.awaitingPubcomp.add(packet.messageId!);
        }
        if (o === undefined) break;
        this.byPacketId.delete(packet.messageId!);
        if (code >= 0x80) {
          this.errors.push(`negative ${packet.cmd} 0x${code.toString(16)} for seq ${o.seq}`);
          o.packetId = undefined; // sent again after the next reconnect
          break;
        }
        this.acks++;
        if (!this.acked.has(o.seq)) this.acked.set(o.seq, Date.now());
        this.outstanding.delete(o.seq);
        this.pump();
        break;
      }
      case 'pubcomp':
        this.awaitingPubcomp.delete(packet.messageId!);
        break;
      case 'disconnect':
        this.disconnectCodes.push(packet.reasonCode ?? 0);
        break;
      default:
        break;
    }
  }

  private pump(): void {
    if ((this.options.rate ?? 0) > 0) return;
    while (this.canCreate()) this.createAndSend();
  }

  private createAndSend(): void {
    const seq = ++this.sent;
    const o: Outstanding = { seq, packetId: undefined, sentAt: 0, attempts: 0 };
    if (this.options.qos > 0) this.outstanding.set(seq, o);
    this.send(o, false);
  }

  private send(o: Outstanding, dup: boolean): void {
    const qos = this.options.qos;
    let messageId: number | undefined;
    if (qos > 0) {
      messageId = o.packetId ?? this.allocatePacketId();
      o.packetId = messageId;
      this.byPacketId.set(messageId, o);
    }
    o.sentAt = Date.now();
    o.attempts++;
    this.publishes++;
    const packet = {
      cmd: 'publish' as const,
      topic: `faults/${this.options.clientId}/data`,
      payload: devicePayload(this.options.clientId, o.seq, this.payloadBytes),
      qos,
      dup: dup && qos > 0,
      retain: false,
      ...(messageId !== undefined && { messageId }),
    };
    this.write(mqttPacket.generate(packet, { protocolVersion: this.version }));
  }

  private write(bytes: Buffer): void {
    const socket = this.socket;
    if (socket === undefined || socket.destroyed) return;
    if (!socket.write(bytes)) this.writable = false;
  }

  private allocatePacketId(): number {
    for (let i = 0; i < 65535; i++) {
      const id = this.nextPacketId;
      this.nextPacketId = id === 65535 ? 1 : id + 1;
      if (!this.byPacketId.has(id) && !this.awaitingPubcomp.has(id)) return id;
    }
    throw new Error('no free packet id');
  }

  private retransmitLate(): void {
    if (!this.connected || this.options.retransmitMs === undefined) return;
    const late = Date.now() - this.options.retransmitMs;
    for (const o of this.outstanding.values()) {
      if (o.packetId !== undefined && o.sentAt <= late) this.send(o, true);
    }
  }
}

/** Starts `count` devices; ids are `${prefix}-${i}`. */
export function startDevices(count: number, prefix: string, options: Omit<DeviceOptions, 'clientId'>): Device[] {
  const devices: Device[] = [];
  for (let i = 0; i < count; i++) {
    const device = new Device({ ...options, clientId: `${prefix}-${i}` });
    device.start();
    devices.push(device);
  }
  return devices;
}

/** Waits until every device has all its messages acknowledged (or the time is up). */
export async function settle(devices: readonly Device[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (devices.every((d) => d.unacked === 0)) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return devices.every((d) => d.unacked === 0);
}
