import type net from 'node:net';

/** Binds a server (TCP, HTTP or HTTPS) and resolves with the address it got; rejects on EADDRINUSE and the like. */
export function bindServer(server: net.Server, port: number, host: string): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as net.AddressInfo);
    });
  });
}
