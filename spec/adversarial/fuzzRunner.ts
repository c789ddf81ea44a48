/**
 * Sends the sessions of {@link ./frames} to a server over long-polling or
 * WebSocket, several connections at once, and stops at the first sign that
 * the server died. Shared by the fuzz specs and soak/adversarial.ts.
 */
import type { Agent } from 'node:http';
import {
  describeInput,
  httpInput,
  pollingText,
  Rng,
  sessions,
  type Input,
  type Session,
} from './frames';
import { httpRequest, PollingClient, RawWebSocket } from './rawClients';

export type Transport = 'polling' | 'websocket';

export interface FuzzTarget {
  readonly port: number;
  /** Set once the server process has exited. */
  readonly exit: unknown;
  /** Resolves when it exits. */
  readonly exited: Promise<unknown>;
}

export interface FuzzOptions {
  seed: number;
  /** Inputs in all. */
  total: number;
  /** Most inputs per connection. */
  perSession: number;
  transport: Transport;
  /** Connections at once. */
  concurrency: number;
  /** Socket ids some messages are addressed to. */
  ids?: readonly string[];
  /** Keep-alive agent for polling. */
  agent?: Agent;
  /** Called after each session. */
  progress?: (sent: number) => void;
  /** See {@link sessions}: inputs to leave out. */
  keep?: (input: Input) => boolean;
  /** Stop when this returns true (besides a dead server). */
  shouldStop?: () => boolean;
}

export interface FuzzOutcome {
  /** Inputs sent. */
  sent: number;
  sessions: number;
  /** Hostile HTTP requests sent besides the sessions (polling only). */
  httpRequests: number;
  durationMs: number;
  /** Sessions in flight or just finished when the server died (the culprit is among them, most likely). */
  suspects: Session[];
  /** Errors of the client side that did not come with a dead server (counted, first few kept). */
  clientErrors: number;
  firstClientErrors: string[];
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** After a failed request: was it the server dying? Waits briefly for the exit to be reported. */
async function diedMeanwhile(target: FuzzTarget, ms = 500): Promise<boolean> {
  if (target.exit !== undefined) return true;
  await Promise.race([target.exited, delay(ms)]);
  return target.exit !== undefined;
}

/**
 * A session that starts with a CONNECT to `/` sends it alone and waits for
 * the server's answer first: Socket.IO connects a socket asynchronously, and
 * drops events that arrive in the same batch before it is connected.
 */
const leadingConnect = (session: Session): [string[] | undefined, Input[]] => {
  const first = session.inputs[0];
  return first?.kind === 'connect' && first.frames[0] === '40'
    ? [first.frames.filter((f): f is string => typeof f === 'string'), session.inputs.slice(1)]
    : [undefined, session.inputs];
};

/** Sends one session over polling: handshake, the CONNECT, every other frame in one POST, close. */
export async function sendPollingSession(
  port: number,
  session: Session,
  agent?: Agent,
): Promise<void> {
  const client = await PollingClient.open(port, agent ?? false);
  const [connect, rest] = leadingConnect(session);
  if (connect !== undefined) {
    await client.post(connect);
    const answer = await client.get(10_000);
    if (!answer.some((p) => p.startsWith('40') || p.startsWith('44'))) return;
  }
  await client.post(rest.flatMap((input) => input.frames.map(pollingText)));
  await client.close();
}

let syncCounter = 0;

/**
 * Sends one session over WebSocket: the CONNECT, then every other frame in
 * one TCP write, then a CONNECT to a namespace that does not exist; its
 * refusal (or a close) says the server has read everything before it.
 */
export async function sendWebSocketSession(port: number, session: Session): Promise<void> {
  const ws = await RawWebSocket.open(port);
  try {
    const [connect, rest] = leadingConnect(session);
    if (connect !== undefined) {
      const answered = ws.next((text) => text.startsWith('40') || text.startsWith('44'), 10_000);
      ws.send(connect);
      await answered;
    }
    const frames = rest.flatMap((input) =>
      input.frames.map((f) => (typeof f === 'string' ? f : f.binary)),
    );
    const tag = `/sync-${++syncCounter}`;
    ws.send([...frames, `40${tag},`]);
    await Promise.race([
      ws.next((text) => text.startsWith(`44${tag},`), 10_000).catch(() => undefined),
      ws.closed,
    ]);
  } finally {
    await ws.terminate();
  }
}

export function sendSession(
  transport: Transport,
  port: number,
  session: Session,
  agent?: Agent,
): Promise<void> {
  return transport === 'polling'
    ? sendPollingSession(port, session, agent)
    : sendWebSocketSession(port, session);
}

export async function runFuzz(target: FuzzTarget, options: FuzzOptions): Promise<FuzzOutcome> {
  const started = Date.now();
  const source = sessions(
    options.seed,
    options.total,
    options.perSession,
    options.ids ?? [],
    undefined,
    options.keep,
  );
  const inFlight = new Set<Session>();
  /** Sessions finished last, newest first: a crash can be reported after its session ended. */
  const recent: Session[] = [];
  let sent = 0;
  let count = 0;
  let clientErrors = 0;
  const firstClientErrors: string[] = [];
  let suspects: Session[] = [];
  let stop = false;

  // Over polling, every tenth session is followed by hostile HTTP requests (their own seeded stream).
  const httpRng = new Rng(options.seed ^ 0x48545450);
  let httpRequests = 0;
  const hostileHttp = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) {
      const input = httpInput(httpRng);
      httpRequests += 1;
      await httpRequest(target.port, input.path, {
        method: input.method,
        headers: input.headers,
        ...(input.body === undefined ? {} : { body: input.body }),
        timeoutMs: 5_000,
      }).catch(() => undefined);
    }
  };

  const worker = async (): Promise<void> => {
    for (;;) {
      if (stop || target.exit !== undefined || options.shouldStop?.() === true) return;
      const next = source.next();
      if (next.done === true) return;
      const session = next.value;
      inFlight.add(session);
      try {
        await sendSession(options.transport, target.port, session, options.agent);
      } catch (error) {
        if (!(await diedMeanwhile(target))) {
          clientErrors += 1;
          if (firstClientErrors.length < 5)
            firstClientErrors.push(error instanceof Error ? error.message : String(error));
        }
      }
      if (target.exit !== undefined || (await diedMeanwhile(target, 0))) {
        if (suspects.length === 0) suspects = [...inFlight, ...recent];
        stop = true;
        return;
      }
      if (options.transport === 'polling' && count % 10 === 9) await hostileHttp();
      inFlight.delete(session);
      recent.unshift(session);
      if (recent.length > 2 * options.concurrency) recent.pop();
      sent += session.inputs.length;
      count += 1;
      options.progress?.(sent);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, () => worker()));
  if (target.exit === undefined) await diedMeanwhile(target, 300);
  if (target.exit !== undefined && suspects.length === 0) suspects = [...inFlight, ...recent];
  return {
    sent,
    sessions: count,
    httpRequests,
    durationMs: Date.now() - started,
    suspects,
    clientErrors,
    firstClientErrors,
  };
}

/**
 * Narrows a crashing session down to few inputs: `crashes(inputs)` replays
 * them on a fresh server and says whether it died. Halves while one half
 * still crashes; returns the smallest crashing list found.
 */
export async function minimize(
  inputs: Input[],
  crashes: (inputs: Input[]) => Promise<boolean>,
  maxTrials = 24,
): Promise<Input[]> {
  let current = inputs;
  let trials = 0;
  const connect = inputs[0]?.kind === 'connect' ? [inputs[0]] : [];
  while (current.length > 1 && trials < maxTrials) {
    const body = current[0]?.kind === 'connect' && connect.length > 0 ? current.slice(1) : current;
    if (body.length <= 1) break;
    const half = Math.ceil(body.length / 2);
    const first = [...connect, ...body.slice(0, half)];
    const second = [...connect, ...body.slice(half)];
    trials += 1;
    if (await crashes(first)) {
      current = first;
      continue;
    }
    trials += 1;
    if (await crashes(second)) {
      current = second;
      continue;
    }
    break;
  }
  return current;
}

export function describeSession(inputs: readonly Input[], max = 300): string {
  return inputs
    .map((input, i) => `  [${i}] ${input.kind}: ${describeInput(input, max)}`)
    .join('\n');
}
