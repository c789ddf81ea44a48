/**
 * A fake RTCPeerConnection: enough of the standard surface for the session
 * logic, with a tiny "network" that connects two fakes once both have both
 * descriptions. Gathering can be told to complete, hang, or fail.
 */
import { Listeners } from './listeners';

type Listener = (event: Event) => void;

export interface FakeNetworkOptions {
  /** 'instant': gathering completes right after setLocalDescription; 'never': it hangs. */
  gathering?: 'instant' | 'never';
  /** Make createOffer/createAnswer reject. */
  failCreate?: boolean;
  /** false: ICE never starts (no state change after both descriptions are set). */
  connect?: boolean;
}

export class FakeNetwork {
  readonly all: FakePeerConnection[] = [];
  options: FakeNetworkOptions = { gathering: 'instant' };
  private seq = 0;

  factory = (config: RTCConfiguration): RTCPeerConnection => {
    const pc = new FakePeerConnection(this, ++this.seq, config);
    this.all.push(pc);
    return pc as unknown as RTCPeerConnection;
  };

  open(): FakePeerConnection[] {
    return this.all.filter((pc) => pc.signalingState !== 'closed');
  }

  /** Finds the fake whose local SDP is `sdp` (to pair offerer and answerer). */
  bySdp(sdp: string): FakePeerConnection | undefined {
    return this.all.find((pc) => pc.localDescription?.sdp === sdp);
  }
}

export class FakePeerConnection {
  iceGatheringState: RTCIceGatheringState = 'new';
  iceConnectionState: RTCIceConnectionState = 'new';
  connectionState: RTCPeerConnectionState = 'new';
  signalingState: RTCSignalingState = 'stable';
  localDescription: RTCSessionDescriptionInit | null = null;
  remoteDescription: RTCSessionDescriptionInit | null = null;
  readonly channels: string[] = [];
  readonly dataChannels: FakeDataChannel[] = [];
  readonly candidates: (RTCIceCandidateInit | null)[] = [];
  private readonly listeners = new Listeners<Listener>();

  constructor(
    private readonly net: FakeNetwork,
    readonly n: number,
    readonly config: RTCConfiguration,
  ) {}

  listenerCount(): number {
    return this.listeners.count();
  }

  addEventListener(type: string, listener: Listener): void {
    this.listeners.add(type, listener);
  }

  removeEventListener(type: string, listener: Listener): void {
    this.listeners.remove(type, listener);
  }

  private fire(type: string, extra: Record<string, unknown> = {}): void {
    this.listeners.call(type, { type, ...extra } as unknown as Event);
  }

  async createOffer(): Promise<RTCSessionDescriptionInit> {
    await Promise.resolve();
    if (this.net.options.failCreate) throw new Error('fake createOffer failure');
    return { type: 'offer', sdp: `offer-${this.n}` };
  }

  async createAnswer(): Promise<RTCSessionDescriptionInit> {
    await Promise.resolve();
    if (this.net.options.failCreate) throw new Error('fake createAnswer failure');
    return { type: 'answer', sdp: `answer-${this.n}` };
  }

  async setLocalDescription(description: RTCSessionDescriptionInit): Promise<void> {
    await Promise.resolve();
    this.assertOpen();
    this.localDescription = description;
    this.signalingState = description.type === 'offer' ? 'have-local-offer' : 'stable';
    this.iceGatheringState = 'gathering';
    this.fire('icegatheringstatechange');
    if (this.net.options.gathering !== 'never') {
      queueMicrotask(() => {
        if (this.signalingState === 'closed') return;
        this.fire('icecandidate', { candidate: { candidate: `candidate:${this.n}`, sdpMid: '0', sdpMLineIndex: 0, usernameFragment: null } });
        this.completeGathering();
      });
    }
    this.maybeConnect();
  }

  completeGathering(): void {
    if (this.signalingState === 'closed' || this.iceGatheringState === 'complete') return;
    this.localDescription = { ...this.localDescription!, sdp: `${this.localDescription!.sdp}+cands` };
    this.iceGatheringState = 'complete';
    this.fire('icegatheringstatechange');
    this.fire('icecandidate', { candidate: null });
  }

  async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    await Promise.resolve();
    this.assertOpen();
    this.remoteDescription = description;
    this.signalingState = description.type === 'offer' ? 'have-remote-offer' : 'stable';
    this.maybeConnect();
  }

  async addIceCandidate(candidate?: RTCIceCandidateInit | null): Promise<void> {
    await Promise.resolve();
    this.candidates.push(candidate ?? null);
  }

  createDataChannel(label: string): RTCDataChannel {
    this.channels.push(label);
    const channel = new FakeDataChannel(label);
    this.dataChannels.push(channel);
    return channel as unknown as RTCDataChannel;
  }

  /** The remote side opened a data channel: fires `datachannel` with a fresh fake channel, and returns it. */
  remoteChannel(label: string): FakeDataChannel {
    const channel = new FakeDataChannel(label);
    this.fire('datachannel', { channel });
    return channel;
  }

  /** Moves ICE along, firing events, as an engine would. */
  setIce(state: RTCIceConnectionState): void {
    if (this.signalingState === 'closed') return;
    this.iceConnectionState = state;
    this.fire('iceconnectionstatechange');
    const conn: RTCPeerConnectionState =
      state === 'checking' ? 'connecting' : state === 'completed' ? 'connected' : (state as RTCPeerConnectionState);
    if (['new', 'connecting', 'connected', 'disconnected', 'failed', 'closed'].includes(conn) && conn !== this.connectionState) {
      this.connectionState = conn;
      this.fire('connectionstatechange');
    }
  }

  private maybeConnect(): void {
    if (this.net.options.connect === false) return;
    if (this.localDescription && this.remoteDescription && this.iceConnectionState === 'new') {
      queueMicrotask(() => {
        this.setIce('checking');
        queueMicrotask(() => this.setIce('connected'));
      });
    }
  }

  close(): void {
    // Per the standard, close() fires no events.
    this.signalingState = 'closed';
    this.iceConnectionState = 'closed';
    this.connectionState = 'closed';
  }

  private assertOpen(): void {
    if (this.signalingState === 'closed') throw new Error('InvalidStateError: closed');
  }
}

/** A data channel that never opens unless a spec opens it. */
export class FakeDataChannel {
  readyState: RTCDataChannelState = 'connecting';
  readonly sent: string[] = [];
  private readonly listeners = new Listeners<Listener>();

  constructor(readonly label: string) {}

  addEventListener(type: string, listener: Listener): void {
    this.listeners.add(type, listener);
  }

  removeEventListener(type: string, listener: Listener): void {
    this.listeners.remove(type, listener);
  }

  listenerCount(): number {
    return this.listeners.count();
  }

  fire(type: string, extra: Record<string, unknown> = {}): void {
    this.listeners.call(type, { type, ...extra } as unknown as Event);
  }

  open(): void {
    this.readyState = 'open';
    this.fire('open');
  }

  send(data: string): void {
    this.sent.push(data);
  }

  close(): void {
    this.readyState = 'closed';
    this.fire('close');
  }
}
