/**
 * Readiness and drain (docs/operations.md "Readiness" and "Drain").
 *
 * A node is `serving`, then `draining`, then `closed`; it never goes back.
 *
 * - `serving`: `GET /readyz` answers 200 while the state backend answers.
 * - `draining` (SIGTERM or `server.drain()`): `/readyz` answers 503 at once,
 *   so that load balancers stop sending new connections here, and new
 *   Engine.IO handshakes are refused (400; clients retry with their backoff).
 *   After `moveAfterMs` (time for the balancer's health check to notice),
 *   every socket is told to move: the node forgets it in the shared state
 *   without telling its group (its peer connections stay up), then closes
 *   its transport. rxpeer clients and socket.io-client reconnect, through
 *   the balancer, to another node; hosts claim their names again and
 *   members rejoin (docs/protocol.md §4.4). The node closes once its
 *   sockets are gone, or after `timeoutMs`.
 * - `closed`: `server.close()` ran (it may also run directly, skipping the drain).
 */

import type { Logger as PinoLogger } from 'pino';
import type { Server, Socket } from 'socket.io';
import { InvalidConfigError } from '../errors.js';
import type { Health } from './http.js';
import type { SignalingState } from './state.js';

export interface DrainOptions {
  /** Longest wait, once clients were told to move, before the node closes anyway (ms). Default 30 000. */
  timeoutMs?: number;
  /**
   * Time between `/readyz` turning 503 and clients being told to move (ms):
   * longer than the balancer needs to mark the node down (check interval ×
   * fall count). Default 2 000.
   */
  moveAfterMs?: number;
}

export const DEFAULT_DRAIN: Readonly<Required<DrainOptions>> = {
  timeoutMs: 30_000,
  moveAfterMs: 2_000,
};

export type DrainPhase = 'serving' | 'draining' | 'closed';

/** What `GET /readyz` answers. */
export interface Readiness {
  ready: boolean;
  phase: DrainPhase;
  /** The state backend answered (`/healthz`'s `ok`). */
  state: boolean;
  /** Sockets on this node. */
  sockets: number;
}

export interface DrainDeps {
  io: Server;
  state: SignalingState;
  health: () => Promise<Health>;
  /** The server's `close()`. */
  close: () => Promise<void>;
  log: PinoLogger;
}

const isDuration = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0;

/** Checks the options; throws `InvalidConfigError` for unusable ones. */
export function resolveDrain(options: DrainOptions = {}): Required<DrainOptions> {
  const resolved = { ...DEFAULT_DRAIN, ...options };
  for (const [key, value] of Object.entries(resolved))
    if (!isDuration(value))
      throw new InvalidConfigError(`drain.${key}`, 'must be a non-negative number of ms', value);
  return resolved;
}

/** The readiness and drain state machine of one server. */
export class Drain {
  private current: DrainPhase = 'serving';
  private draining: Promise<void> | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private wakeUp: (() => void) | undefined;

  constructor(
    private readonly deps: DrainDeps,
    private readonly options: Required<DrainOptions>,
  ) {
    // New handshakes (no `sid`) are refused while draining; running sessions go on.
    deps.io.engine.use(
      (req: { url?: string }, _res: unknown, next: (error?: Error) => void): void => {
        if (this.current === 'serving' || /[?&]sid=/.test(req.url ?? '')) next();
        else next(new Error('draining'));
      },
    );
  }

  get phase(): DrainPhase {
    return this.current;
  }

  async readiness(): Promise<Readiness> {
    const health = await this.deps.health();
    return {
      ready: this.current === 'serving' && health.ok,
      phase: this.current,
      state: health.ok,
      sockets: health.sockets,
    };
  }

  /** Marks the node closed (the server's `close()` calls it). */
  closed(): void {
    this.current = 'closed';
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.wakeUp?.();
  }

  /** Starts the drain (idempotent); resolves once the server is closed. */
  drain(): Promise<void> {
    if (this.current === 'closed') return this.deps.close();
    this.draining ??= this.run();
    return this.draining;
  }

  private async run(): Promise<void> {
    const { log, io } = this.deps;
    this.current = 'draining';
    log.info({ moveAfterMs: this.options.moveAfterMs }, 'draining: not ready any more');
    await this.sleep(this.options.moveAfterMs);
    if (this.phase !== 'draining') return this.deps.close();
    const namespace = io.of('/');
    const sockets = [...namespace.sockets.values()];
    log.info({ sockets: sockets.length }, 'draining: telling clients to move');
    let allGone: () => void = () => undefined;
    const gone = new Promise<void>((resolve) => (allGone = resolve));
    const check = (): void => {
      if (namespace.sockets.size === 0) allGone();
    };
    // One listener per socket (not per wake-up); a socket that connects now is moved too.
    const watch = (socket: Socket): void => {
      socket.once('disconnect', () => queueMicrotask(check));
    };
    const late = (socket: Socket): void => {
      watch(socket);
      void this.move(socket);
    };
    namespace.on('connection', late);
    try {
      for (const socket of sockets) watch(socket);
      await Promise.all(sockets.map((socket) => this.move(socket)));
      check();
      const timedOut = await Promise.race([
        gone.then(() => false),
        this.sleep(this.options.timeoutMs).then(() => true),
      ]);
      if (timedOut && this.phase === 'draining')
        log.warn({ sockets: namespace.sockets.size }, 'drain timeout: closing with sockets left');
    } finally {
      namespace.off('connection', late);
    }
    log.info('drained; closing');
    return this.deps.close();
  }

  /** Forgets the socket in the shared state without telling its group, then closes its transport. */
  private async move(socket: { id: string; conn: { close(): void } }): Promise<void> {
    try {
      await this.deps.state.removeSocket(socket.id);
    } catch (error) {
      // Left to the disconnect clean-up (which then tells the group).
      this.deps.log.warn(
        { socket: socket.id, err: error instanceof Error ? error.message : String(error) },
        'drain: could not forget the socket quietly',
      );
    }
    socket.conn.close();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
      const previous = this.wakeUp;
      this.wakeUp = () => {
        previous?.();
        resolve();
      };
    });
  }
}

/**
 * The CLI's signal handling: the first SIGTERM drains (and closes), a
 * second one closes at once. Resolves once the server is closed.
 */
export async function drainOnSignal(
  server: { drain(): Promise<void>; close(): Promise<void> },
  signals: {
    once(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
    off(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  },
): Promise<void> {
  const now = (): void => void server.close();
  signals.once('SIGTERM', now);
  signals.once('SIGINT', now);
  try {
    await server.drain();
  } finally {
    signals.off('SIGTERM', now);
    signals.off('SIGINT', now);
  }
}
