/**
 * An Extreal-shaped peer for interop specs: it sends and expects exactly the
 * PROTOCOL §4 messages, with complete SDPs (vanilla ICE), ignores unknown
 * types and fields, and never announces capabilities. Like the C# client, it
 * can send absent fields as `null`. Written against the protocol, not against
 * rxpeer's code, so that it catches rxpeer drifting from the contract.
 */
import { io, type Socket } from 'socket.io-client';
import { createPeerConnection } from './engine';

type Msg = { type: string; from: string; to: string; sdp?: string | null; me?: string | null };

export interface ExtrealPeerOptions {
  url: string;
  /** Send `from`, `me`, `sdp` as null when absent, as the C# client does. */
  csharpNulls?: boolean;
  label?: string;
}

export class ExtrealPeer {
  readonly socket: Socket;
  readonly pcs = new Map<string, RTCPeerConnection>();
  readonly channels = new Map<string, RTCDataChannel>();
  readonly received: { from: string; text: string }[] = [];
  /** Every message type it got, in order (rxpeer must never send it a `candidate`). */
  readonly seenTypes: string[] = [];
  readonly events: string[] = [];
  private hostId: string | undefined;
  private done = false;
  private iceUp = false;
  started = false;

  constructor(private readonly options: ExtrealPeerOptions) {
    this.socket = io(options.url, { forceNew: true, transports: ['websocket'] });
    this.socket.on('message', (m: Msg) => void this.onMessage(m));
    this.socket.on('user disconnected', ({ id }: { id: string }) => this.close(id));
  }

  get id(): string {
    return this.socket.id ?? '';
  }

  connected(): Promise<void> {
    return this.socket.connected
      ? Promise.resolve()
      : new Promise((r) => this.socket.once('connect', () => r()));
  }

  /**
   * `create host` as the Extreal clients take its answer: only 409 fails the
   * start (HostNameAlreadyExistsException); any other status fires OnStarted.
   */
  async startHost(name: string): Promise<{ status: number; message: string; reason?: string }> {
    await this.connected();
    const response = await new Promise<{ status: number; message: string; reason?: string }>((r) =>
      this.socket.emit('create host', name, r),
    );
    if (response.status === 409) this.events.push('start failed');
    else {
      this.started = true;
      this.events.push('started');
    }
    return response;
  }

  /** `list hosts` as the Extreal clients read it: `hosts`, whatever the status. */
  async listHosts(): Promise<{ id: string; name: string }[]> {
    await this.connected();
    const response = await new Promise<{ hosts?: { id: string; name: string }[] }>((r) =>
      this.socket.emit('list hosts', r),
    );
    return response.hosts ?? [];
  }

  async startClient(hostId: string): Promise<void> {
    await this.connected();
    this.hostId = hostId;
    this.send({ type: 'join', to: hostId });
  }

  stop(): void {
    for (const id of this.pcs.keys()) this.send({ type: 'bye', to: id });
    for (const id of [...this.pcs.keys()]) this.close(id);
    this.socket.disconnect();
  }

  broadcast(text: string): number {
    let n = 0;
    for (const c of this.channels.values())
      if (c.readyState === 'open') {
        c.send(text);
        n += 1;
      }
    return n;
  }

  private send(m: { type: string; to: string; sdp?: string; me?: string }): void {
    const nulls = this.options.csharpNulls ? { from: null, sdp: null, me: null } : {};
    this.socket.emit('message', { ...nulls, ...m });
  }

  private create(id: string, isOffer: boolean): RTCPeerConnection {
    this.events.push(`connecting ${id}`);
    const pc = createPeerConnection({});
    this.pcs.set(id, pc);
    const label = this.options.label ?? 'chat';
    const track = (c: RTCDataChannel): void => {
      this.channels.set(id, c);
      c.addEventListener('message', (e) =>
        this.received.push({ from: id, text: String((e as MessageEvent).data) }),
      );
    };
    if (isOffer) track(pc.createDataChannel(label));
    else
      pc.addEventListener(
        'datachannel',
        (e) =>
          (e as RTCDataChannelEvent).channel.label === label &&
          track((e as RTCDataChannelEvent).channel),
      );
    pc.addEventListener('iceconnectionstatechange', () => {
      const s = pc.iceConnectionState;
      if (id === this.hostId && (s === 'connected' || s === 'completed')) {
        this.iceUp = true;
        this.maybeStarted();
      }
      if (s === 'failed' || s === 'closed') this.close(id);
    });
    return pc;
  }

  private close(id: string): void {
    const pc = this.pcs.get(id);
    if (!pc) return;
    this.events.push(`disconnecting ${id}`);
    this.pcs.delete(id);
    this.channels.delete(id);
    pc.close();
  }

  private async gathered(pc: RTCPeerConnection): Promise<string> {
    if (pc.iceGatheringState !== 'complete') {
      await new Promise<void>((r) => {
        const t = setTimeout(r, 5000);
        pc.addEventListener('icegatheringstatechange', () => {
          if (pc.iceGatheringState === 'complete') {
            clearTimeout(t);
            r();
          }
        });
      });
    }
    return pc.localDescription!.sdp;
  }

  private maybeStarted(): void {
    if (this.done && this.iceUp && !this.started) {
      this.started = true;
      this.events.push('started');
    }
  }

  private async onMessage(m: Msg): Promise<void> {
    this.seenTypes.push(m.type);
    switch (m.type) {
      case 'join': {
        const pc = this.create(m.from, true);
        await pc.setLocalDescription(await pc.createOffer());
        this.send({ type: 'offer', to: m.from, sdp: await this.gathered(pc) });
        for (const member of this.pcs.keys())
          if (member !== m.from) this.send({ type: 'call me', to: member, me: m.from });
        return;
      }
      case 'call me': {
        if (!m.me || this.pcs.has(m.me)) return;
        const pc = this.create(m.me, true);
        await pc.setLocalDescription(await pc.createOffer());
        this.send({ type: 'offer', to: m.me, sdp: await this.gathered(pc) });
        return;
      }
      case 'offer': {
        const pc = this.create(m.from, false);
        await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp! });
        await pc.setLocalDescription(await pc.createAnswer());
        this.send({ type: 'answer', to: m.from, sdp: await this.gathered(pc) });
        return;
      }
      case 'answer': {
        await this.pcs.get(m.from)?.setRemoteDescription({ type: 'answer', sdp: m.sdp! });
        this.send({ type: 'done', to: m.from });
        return;
      }
      case 'done':
        if (m.from === this.hostId) {
          this.done = true;
          this.maybeStarted();
        }
        return;
      case 'bye':
        this.close(m.from);
        return;
      default:
        return; // unknown types are ignored, as the Extreal clients do
    }
  }
}
