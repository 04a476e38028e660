/**
 * Free-port picking for the embedded media plane.
 *
 * The supervisor picks ports itself rather than letting the worker listen on port 0: URLs are signed in the
 * parent, and a restarted worker must come back on the same ports so that URLs already handed out keep
 * pointing at it. Must never hold the port: it is released before the number is returned.
 */
import net from 'node:net';

/**
 * Asks the OS for a currently free TCP port on `host`. The port is released before this resolves, so another
 * process can grab it first; callers that cannot tolerate that must retry on EADDRINUSE.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close((error) => {
        if (error) reject(error);
        else if (port === 0) reject(new Error(`freePort: could not read the port bound on ${host}`));
        else resolve(port);
      });
    });
  });
}
