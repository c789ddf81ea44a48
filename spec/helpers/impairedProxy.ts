/**
 * A TCP proxy on loopback that impairs the signaling link: every chunk, in
 * each direction, is held for `delayMs` (order kept), and `cutAll()` drops
 * every live connection at once, as a flaky network would.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ImpairedProxy {
  readonly url: string;
  cutAll(): number;
  close(): Promise<void>;
}

/** Forwards `from` → `to`, each chunk (and the final FIN) `delayMs` late, in order. */
function delayed(from: Socket, to: Socket, delayMs: number): void {
  let chain = Promise.resolve();
  const later = (action: () => void): void => {
    chain = chain.then(() => new Promise<void>((r) => setTimeout(r, delayMs))).then(() => {
      if (!to.destroyed) action();
    });
  };
  from.on('data', (chunk: Buffer) => later(() => to.write(chunk)));
  from.on('end', () => later(() => to.end()));
}

export async function impairedProxy(targetPort: number, delayMs: number): Promise<ImpairedProxy> {
  const live = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true });
    live.add(client);
    live.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      live.delete(client);
      live.delete(upstream);
    };
    // Closed for good only when both directions ended (or on an error).
    client.on('error', drop);
    upstream.on('error', drop);
    let closed = 0;
    const onClose = (): void => {
      closed += 1;
      if (closed === 2) drop();
    };
    client.on('close', onClose);
    upstream.on('close', onClose);
    delayed(client, upstream, delayMs);
    delayed(upstream, client, delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    cutAll() {
      const n = live.size / 2;
      for (const s of [...live]) s.destroy();
      live.clear();
      return n;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of live) s.destroy();
        server.close(() => r());
      }),
  };
}
