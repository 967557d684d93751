// The V8 inspector of a child process (started with --inspect=127.0.0.1:0), for what only the
// process itself can tell: its live heap after a full garbage collection.
import WebSocket from 'ws';

/** A Chrome DevTools Protocol session with one Node process, on loopback. */
export class InspectorSession {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
      if (message.id === undefined) return; // an event
      const waiter = this.pending.get(message.id);
      if (waiter === undefined) return;
      this.pending.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(message.error.message));
      else waiter.resolve(message.result);
    });
    socket.on('close', () => {
      for (const waiter of this.pending.values()) waiter.reject(new Error('inspector connection closed'));
      this.pending.clear();
    });
  }

  /** Connects to the `ws://127.0.0.1:PORT/UUID` URL Node prints on stderr ("Debugger listening on ..."). */
  static connect(url: string): Promise<InspectorSession> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('open', () => resolve(new InspectorSession(socket)));
      socket.once('error', reject);
    });
  }

  private call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Bytes of the JavaScript heap still used after a full garbage collection: what is really kept. */
  async heapAfterGc(): Promise<number> {
    await this.call('HeapProfiler.collectGarbage');
    const usage = (await this.call('Runtime.getHeapUsage')) as { usedSize: number };
    return usage.usedSize;
  }

  /**
   * After a full garbage collection: the JavaScript heap in use plus the memory of Buffers and
   * ArrayBuffers outside it (payloads, socket data), which `heapAfterGc` does not count.
   */
  async memoryAfterGc(): Promise<number> {
    await this.call('HeapProfiler.collectGarbage');
    const { result } = (await this.call('Runtime.evaluate', {
      expression: '(() => { const m = process.memoryUsage(); return m.heapUsed + m.external; })()',
      returnByValue: true,
    })) as { result: { value: number } };
    return result.value;
  }

  close(): void {
    this.socket.close();
  }
}
