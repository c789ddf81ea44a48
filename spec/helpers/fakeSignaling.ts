/**
 * An in-memory signaling hub with the reference server's semantics, and fake
 * sockets that talk to it. Delivery is asynchronous (a microtask), as on a
 * real socket. Counters let specs prove that nothing is left behind.
 */
import type { SignalingSocket } from '../../src/streams/signaling';
import { Listeners } from './listeners';

type Listener = (...args: unknown[]) => void;

export class FakeHub {
  readonly sockets = new Map<string, FakeSocket>();
  readonly hosts = new Map<string, string>(); // name -> socket id
  /** Every `message` a socket emitted, with the sender's id. */
  readonly sent: { from: string; message: Record<string, unknown> }[] = [];
  /** Set to false to make the hub swallow acks (a server that never answers). */
  ack = true;
  /** Set to false to make the hub acknowledge no `message` (the reference server never does). */
  ackMessages = true;
  /** Set to an array to hold `message` acks there (a slow server); call them to answer. */
  heldAcks: (() => void)[] | undefined;
  /** Set to make connects fail with this reason. */
  refuseConnections: string | undefined;
  private seq = 0;

  createSocket = (): FakeSocket => new FakeSocket(this, `s${++this.seq}`);

  /** Messages sent so far, as `type from→to` lines (me appended for `call me`). */
  trace(filter: (m: Record<string, unknown>) => boolean = (m) => m.type !== 'candidate', since = 0): string[] {
    return this.sent
      .slice(since)
      .filter((s) => filter(s.message))
      .map(({ from, message }) => `${String(message.type)} ${from}→${String(message.to)}${message.me ? ` me=${String(message.me)}` : ''}`);
  }

  deliver(to: string, event: string, payload: unknown): void {
    queueMicrotask(() => this.sockets.get(to)?.receive(event, payload));
  }

  handle(socket: FakeSocket, event: string, args: unknown[]): void {
    switch (event) {
      case 'create host': {
        const [name, ack] = args as [string, Listener];
        if (!this.ack) return;
        const taken = this.hosts.has(name);
        if (!taken) this.hosts.set(name, socket.id!);
        queueMicrotask(() =>
          ack(taken ? { status: 409, message: `Host already exists. name: ${name}` } : { status: 200, message: 'Host have been created' }),
        );
        return;
      }
      case 'list hosts': {
        const [ack] = args as [Listener];
        if (!this.ack) return;
        const hosts = [...this.hosts].map(([name, id]) => ({ id, name }));
        queueMicrotask(() => ack({ status: 200, hosts }));
        return;
      }
      case 'message': {
        const message = args[0] as Record<string, unknown>;
        this.sent.push({ from: socket.id!, message });
        this.deliver(String(message.to), 'message', { ...message, from: socket.id });
        // rxpeer's server acknowledges a message sent with an ack function once relayed.
        const ack = args[1];
        if (typeof ack === 'function' && this.ack && this.ackMessages) {
          const answer = (): void => (ack as Listener)({ status: 200, message: 'Relayed.' });
          if (this.heldAcks !== undefined) this.heldAcks.push(answer);
          else queueMicrotask(answer);
        }
        return;
      }
      default:
        throw new Error(`fake hub: unexpected event ${event}`);
    }
  }

  connect(socket: FakeSocket): void {
    queueMicrotask(() => {
      if (this.refuseConnections !== undefined) {
        socket.receive('connect_error', new Error(this.refuseConnections));
        return;
      }
      this.sockets.set(socket.id!, socket);
      socket.setConnected(true);
      socket.receive('connect');
    });
  }

  disconnect(socket: FakeSocket, reason: string): void {
    const id = socket.id!;
    if (!this.sockets.delete(id)) return;
    for (const [name, hostId] of this.hosts) if (hostId === id) this.hosts.delete(name);
    for (const other of this.sockets.keys()) this.deliver(other, 'user disconnected', { id });
    socket.setConnected(false);
    queueMicrotask(() => socket.receive('disconnect', reason));
  }

  /** The server drops this socket (as a restart would). */
  drop(id: string): void {
    const socket = this.sockets.get(id);
    if (socket) this.disconnect(socket, 'transport close');
  }

  /** The server disconnects this socket itself (a kick, a cut-off): socket.io does not reconnect by itself. */
  kick(id: string): void {
    const socket = this.sockets.get(id);
    if (socket) this.disconnect(socket, 'io server disconnect');
  }

  /** Sends a raw payload to a socket, as a (misbehaving) server or peer would. */
  inject(to: string, event: string, payload: unknown): void {
    this.deliver(to, event, payload);
  }
}

export class FakeSocket implements SignalingSocket {
  private readonly listeners = new Listeners<Listener>();
  private isConnected = false;
  connectCalls = 0;
  disconnectCalls = 0;

  constructor(
    private readonly hub: FakeHub,
    readonly id: string,
  ) {}

  get connected(): boolean {
    return this.isConnected;
  }

  setConnected(value: boolean): void {
    this.isConnected = value;
  }

  /** Number of listeners still attached (0 after teardown). */
  listenerCount(): number {
    return this.listeners.count();
  }

  on(event: string, listener: Listener): this {
    this.listeners.add(event, listener);
    return this;
  }

  off(event: string, listener: Listener): this {
    this.listeners.remove(event, listener);
    return this;
  }

  emit(event: string, ...args: unknown[]): this {
    if (this.isConnected) this.hub.handle(this, event, args);
    return this;
  }

  connect(): this {
    this.connectCalls += 1;
    if (!this.isConnected) this.hub.connect(this);
    return this;
  }

  disconnect(): this {
    this.disconnectCalls += 1;
    if (this.isConnected) this.hub.disconnect(this, 'io client disconnect');
    return this;
  }

  receive(event: string, ...args: unknown[]): void {
    this.listeners.call(event, ...args);
  }
}
