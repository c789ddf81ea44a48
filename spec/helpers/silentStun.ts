/**
 * A STUN server that never answers: a UDP socket on loopback that reads and
 * drops every packet. Unlike a closed port (which answers with ICMP port
 * unreachable, so the engine gives up at once), gathering really hangs on it.
 */
import { createSocket, type Socket } from 'node:dgram';

export interface SilentStun {
  readonly url: string;
  /** Binding requests received (proof the engine tried). */
  readonly received: () => number;
  close(): Promise<void>;
}

export async function silentStun(): Promise<SilentStun> {
  const socket: Socket = createSocket('udp4');
  let count = 0;
  socket.on('message', () => {
    count += 1;
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  return {
    url: `stun:127.0.0.1:${port}`,
    received: () => count,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
