// Baseline: aedes 2.0.0-beta.1 on its own (unpatched, a devDependency since the proxy has its own
// engine), every PUBLISH acknowledged at once, no Kafka: the MQTT side in Node as it was.
// Usage: node bench/aedes-alone.mjs PORT [TLS_PORT CERT KEY]
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { Aedes } from 'aedes';

const [port, tlsPort, cert, key] = process.argv.slice(2);
const aedes = new Aedes({ authorizePublish: (_client, _packet, callback) => callback(null) });
await aedes.listen();
net.createServer({ noDelay: true }, aedes.handle).listen(Number(port), '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
if (tlsPort) {
  tls.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, aedes.handle).listen(Number(tlsPort), '127.0.0.1');
}
process.on('SIGTERM', () => process.exit(0));
