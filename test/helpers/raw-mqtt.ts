// Raw-bytes MQTT helpers: build packets with mqtt-packet, write them to a socket in ONE segment,
// and collect/parse what the server answers.
import net from 'node:net'
import { once } from 'node:events'
import mqttPacket from 'mqtt-packet'

export type Packet = mqttPacket.Packet
export type ProtocolVersion = 4 | 5

const DEFAULT_TIMEOUT_MS = 2000

/** Serializes one packet for the given protocol version. */
export function encode (packet: Packet, protocolVersion: ProtocolVersion = 4): Buffer {
  return mqttPacket.generate(packet, { protocolVersion })
}

export function connectPacket (clientId: string, protocolVersion: ProtocolVersion = 4, extra: Partial<mqttPacket.IConnectPacket> = {}): Buffer {
  return encode({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion,
    clean: true,
    keepalive: 0,
    clientId,
    ...extra
  }, protocolVersion)
}

export function publishPacket (topic: string, qos: 0 | 1 | 2, messageId: number | undefined, protocolVersion: ProtocolVersion = 4, payload: string | Buffer = 'x'): Buffer {
  return encode({ cmd: 'publish', topic, payload, qos, retain: false, dup: false, messageId }, protocolVersion)
}

export function pubrelPacket (messageId: number, protocolVersion: ProtocolVersion = 4): Buffer {
  return encode({ cmd: 'pubrel', messageId }, protocolVersion)
}

/** A raw TCP MQTT client that records every packet the broker sends back. */
export class RawClient {
  readonly socket: net.Socket
  readonly packets: Packet[] = []
  readonly closed: Promise<void>
  parseError: Error | undefined
  private readonly waiters = new Set<() => void>()
  private isClosed = false

  private constructor (socket: net.Socket, protocolVersion: ProtocolVersion) {
    this.socket = socket
    const parser = mqttPacket.parser({ protocolVersion })
    parser.on('packet', (packet: Packet) => {
      this.packets.push(packet)
      this.notify()
    })
    parser.on('error', (err: Error) => {
      this.parseError = err
      this.notify()
    })
    socket.on('data', (data: Buffer) => parser.parse(data))
    // a broker that resets the connection is just "closed" for these tests
    socket.on('error', () => {})
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.isClosed = true
        this.notify()
        resolve()
      })
    })
  }

  static async connect (port: number, protocolVersion: ProtocolVersion = 4): Promise<RawClient> {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true })
    await once(socket, 'connect')
    return new RawClient(socket, protocolVersion)
  }

  get closedByPeer (): boolean {
    return this.isClosed
  }

  /** Writes all buffers in a single socket.write, i.e. in one TCP segment. */
  send (...buffers: Buffer[]): void {
    this.socket.write(Buffer.concat(buffers))
  }

  /** Packets received so far with the given command. */
  received (cmd: Packet['cmd']): Packet[] {
    return this.packets.filter((p) => p.cmd === cmd)
  }

  /**
   * Resolves with the first received packet matching `predicate` (including
   * packets that already arrived); rejects on timeout or when the socket
   * closes first.
   */
  async waitFor (predicate: (p: Packet) => boolean, what: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Packet> {
    await this.until(() => this.packets.some(predicate), what, timeoutMs, true)
    return this.packets.find(predicate)!
  }

  /** Resolves once `count` packets matching `predicate` were received. */
  async waitForCount (predicate: (p: Packet) => boolean, count: number, what: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Packet[]> {
    await this.until(() => this.packets.filter(predicate).length >= count, what, timeoutMs, true)
    return this.packets.filter(predicate)
  }

  /** Resolves true if the broker closes the connection within the timeout. */
  async waitClosed (timeoutMs = DEFAULT_TIMEOUT_MS): Promise<boolean> {
    try {
      await this.until(() => this.isClosed, 'close', timeoutMs, false)
      return true
    } catch {
      return false
    }
  }

  destroy (): void {
    this.socket.destroy()
  }

  private until (done: () => boolean, what: string, timeoutMs: number, failOnClose: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.parseError) return finish(this.parseError)
        if (done()) return finish()
        if (failOnClose && this.isClosed) {
          return finish(new Error(`connection closed while waiting for ${what}; received: ${this.describe()}`))
        }
      }
      const timer = setTimeout(() => {
        finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received: ${this.describe()}`))
      }, timeoutMs)
      const finish = (err?: Error): void => {
        clearTimeout(timer)
        this.waiters.delete(check)
        if (err) reject(err)
        else resolve()
      }
      this.waiters.add(check)
      check()
    })
  }

  private notify (): void {
    for (const waiter of [...this.waiters]) waiter()
  }

  private describe (): string {
    const cmds = this.packets.map((p) => p.cmd)
    return cmds.length > 20 ? `${cmds.slice(0, 20).join(',')},... (${cmds.length} packets)` : (cmds.join(',') || 'nothing')
  }
}

/** Connects and waits for a successful CONNACK. */
export async function rawConnect (port: number, clientId: string, protocolVersion: ProtocolVersion = 4, extra: Partial<mqttPacket.IConnectPacket> = {}): Promise<RawClient> {
  const client = await RawClient.connect(port, protocolVersion)
  client.send(connectPacket(clientId, protocolVersion, extra))
  const connack = await client.waitFor((p) => p.cmd === 'connack', 'CONNACK') as mqttPacket.IConnackPacket
  const code = protocolVersion === 5 ? connack.reasonCode : connack.returnCode
  if (code !== 0) {
    client.destroy()
    throw new Error(`CONNACK refused with code ${code}`)
  }
  return client
}

export function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
