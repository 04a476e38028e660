/** Port helpers for tests: re-exports the server's picker and adds a "can this port be bound again?" probe. */
import net from 'node:net';

export { freePort } from '../../server/media/ports';

/** Resolves true when `port` can be listened on right now, i.e. nothing (including a closed server) still holds it. */
export function canListen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
