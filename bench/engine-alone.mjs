// Baseline: the proxy's own MQTT engine on its own, every PUBLISH accepted at once by its hook, no
// Kafka and no pipeline: what the MQTT side costs, beside aedes alone and Mosquitto.
// Usage: node bench/engine-alone.mjs PORT (after npm run build)
import net from 'node:net';
import pino from 'pino';
import { DEFAULTS } from '../dist/src/config/defaults.js';
import { createMqttEngine } from '../dist/src/mqtt/engine.js';
import { createMetrics } from '../dist/src/observability/metrics.js';

const [port] = process.argv.slice(2);
const engine = createMqttEngine({
  // The proxy's defaults: the same Receive Maximum and packet size as the proxy rows.
  limits: DEFAULTS.limits,
  logger: pino({ level: 'silent' }),
  metrics: createMetrics({ collectDefault: false }),
  hooks: {
    authenticate: () => ({ accepted: true, username: undefined }),
    onPublish: (_session, _message, reply) => reply.accept(),
  },
});
await engine.start();
net
  .createServer({ noDelay: true }, (socket) => engine.handle(socket, { remoteAddress: socket.remoteAddress ?? 'unknown', listener: `tcp:${port}` }))
  .listen(Number(port), '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
