/**
 * One start of a PeerClient (as host or as client): the mesh logic of
 * PROTOCOL §4–5, composed from the signaling and peer streams. Per-peer work
 * is serialized (`groupBy(peer)` + `concatMap`), and one failing peer never
 * breaks the others (`catchError` inside the per-peer stream).
 */
import {
  EMPTY,
  Observable,
  Subject,
  Subscription,
  catchError,
  combineLatest,
  concat,
  concatMap,
  defer,
  distinctUntilChanged,
  endWith,
  filter,
  finalize,
  firstValueFrom,
  from,
  groupBy,
  ignoreElements,
  map,
  merge,
  mergeMap,
  of,
  share,
  race,
  startWith,
  retry,
  switchMap,
  take,
  takeUntil,
  takeWhile,
  tap,
  throwError,
  timeout,
  timer,
  type SchedulerLike,
} from 'rxjs';
import {
  CandidateBufferFullError,
  HookError,
  HostLeftError,
  ServerRejectedError,
  IdentityClaimError,
  HostNameAlreadyExistsError,
  serverRejection,
  SignalingDisconnectedError,
  InvalidMessageError,
  NegotiationError,
  RxpeerError,
} from '../errors.js';
import type { Logger } from '../logger.js';
import { gatheringComplete } from '../operators/gatheringComplete.js';
import { iceRestarts, type RestartStep } from '../operators/iceRestarts.js';
import { iceConnected } from '../operators/iceConnected.js';
import { runHooks } from '../operators/runHooks.js';
import { startTimeout } from '../operators/startTimeout.js';
import { startedCondition } from '../operators/startedCondition.js';
import { Status, parseCreateHostResponse, type Capability, type ParseResult, type OutgoingMessage, type SignalMessage, type WireCandidate } from '../protocol/wire.js';
import { ackTimeout } from '../operators/ackTimeout.js';
import {
  channelClosed$,
  channelOpen$,
  controlChannel$,
  controlMessages$,
  heartbeat$,
  sendControl,
  type ControlMessage,
  type MediaKind,
} from '../streams/control.js';
import {
  addIceCandidate$,
  connectionState$,
  createAndSetAnswer$,
  createAndSetOffer$,
  event$,
  iceConnectionState$,
  iceGatheringState$,
  localCandidate$,
  localSdp,
  setRemoteDescription$,
  type PeerConnection,
} from '../streams/peer.js';
import { disconnect$, messages$, request$, sendAcked$, socketEvent$, userDisconnected$, type SignalingSocket } from '../streams/signaling.js';
import type { ClientEvent, IceMode, PcCloseHook, PcCreateHook, PeerState } from './types.js';
import { DEFAULT_ICE_RESTART, linkHealth, sdpIceUfrag, sdpSessionId, type IceRestartPolicy, type PeerPhase } from './link.js';

/** A local candidate as it goes on the wire. */
function toWireCandidate(candidate: RTCIceCandidate): WireCandidate {
  return {
    candidate: candidate.candidate,
    sdpMid: candidate.sdpMid ?? null,
    sdpMLineIndex: candidate.sdpMLineIndex ?? null,
    usernameFragment: candidate.usernameFragment ?? null,
  };
}

export type SessionRole = { role: 'host'; name: string } | { role: 'client'; hostId: string };

/** @internal What a session needs; the PeerClient passes it in. */
export interface SessionContext {
  readonly socket: SignalingSocket;
  readonly role: SessionRole;
  readonly createPeerConnection: (config: RTCConfiguration) => RTCPeerConnection;
  readonly pcConfig: RTCConfiguration;
  readonly vanillaIceTimeout: number;
  readonly p2pTimeout: number;
  readonly requestTimeout: number;
  /** Offer trickle ICE to peers that announce it (issue 9); vanilla ICE with everyone else. */
  readonly trickle: boolean;
  /** Open rxpeer's control channel on every connection this side offers, with a heartbeat. */
  readonly controlChannel: boolean;
  readonly heartbeatInterval: number;
  readonly heartbeatTimeout: number;
  /** Offering side: a connection not up by then is renegotiated like a failed one (ms; 0 = never). */
  readonly pairTimeout: number;
  /** ICE restarts of a broken rxpeer pair before it is closed and made anew (issue 17); defaults to {@link DEFAULT_ICE_RESTART}. */
  readonly iceRestart?: IceRestartPolicy;
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
  readonly createHooks: readonly PcCreateHook[];
  readonly closeHooks: readonly PcCloseHook[];
  readonly events$: Subject<ClientEvent>;
  readonly peers$: Subject<ReadonlyMap<string, PeerState>>;
  /**
   * Reconnection after a drop, from the socket options (socket.io's defaults:
   * 1000 ms doubling up to 5000 ms); `undefined` when reconnection is off.
   */
  readonly reconnection?: { readonly delay: number; readonly delayMax: number };
  /**
   * Called once when a client's start fails (timeout, host left), or when
   * the session cannot come back after a drop (its host name was taken
   * meanwhile, reconnection is off): the PeerClient reports it and stops.
   */
  readonly onStartFailed: (error: RxpeerError) => void;
}

interface PeerEntry {
  readonly id: string;
  readonly pc: RTCPeerConnection;
  readonly isOffer: boolean;
  /** Fixed at creation, except for a probed offer that learns the newcomer trickles (vanilla → trickle). */
  mode: IceMode;
  readonly watch: Subscription;
  /** rxpeer's control channel with this peer, once open (it carries id changes after a reconnect). */
  control?: RTCDataChannel;
  /** Remote candidates that came before the remote description, applied in order once it is set (at most {@link MAX_PENDING_CANDIDATES}). */
  readonly pending: (WireCandidate | null)[];
  /** Candidates refused because `pending` was full (reported once per connection). */
  refused: number;
  /**
   * Set once the remote description is applied. Read instead of
   * `pc.remoteDescription`, a getter that costs a native round trip and an SDP
   * copy in some engines, for every trickled candidate.
   */
  remoteSet: boolean;
  state: PeerState;
  /** The first offer/answer exchange is done: later ones are renegotiations on this connection. */
  negotiated: boolean;
  /** The peer spoke on the control channel: an rxpeer peer, which can renegotiate and restart ICE. */
  rxpeer: boolean;
  /** When a control message last came from the peer (scheduler time). */
  lastHeard: number;
  /** Answering side: the offering side's SDP session id and ICE ufrag (a restart changes the ufrag, never the session). */
  remoteSession?: string;
  remoteUfrag?: string;
  /** Offering side: something changed while an offer was out; offer again once it is answered. */
  renegotiateAfterAnswer?: boolean;
  /** The app changed the connection after the first negotiation, before the peer was known as rxpeer. */
  renegotiateWhenKnown?: boolean;
}

/** Bounds on candidates buffered for peers that have no connection yet. */
const MAX_EARLY_PEERS = 64;
const MAX_EARLY_CANDIDATES = 64;
/**
 * Candidates held for one existing connection until its remote description
 * is set. An honest peer sends a handful (one per interface and protocol);
 * the ones past this bound are refused with a {@link CandidateBufferFullError}.
 */
export const MAX_PENDING_CANDIDATES = 64;

/** A unit of per-peer work. */
type PeerCommand =
  | { kind: 'wire'; peer: string; message: SignalMessage }
  | { kind: 'leave'; peer: string; reason: string; pc?: RTCPeerConnection; iceFailed?: boolean }
  /** `peer` says, over its own control channel, that its signaling id is now `id`. */
  | { kind: 'claim'; peer: string; id: string; pc: RTCPeerConnection }
  /** Host side: a `join` from signaling id `from` names `peer` as the id it had (only a hint). */
  | { kind: 'hint'; peer: string; from: string; caps: readonly Capability[] }
  /** A negotiation message that came over the control channel of `pc` (issue 17). */
  | { kind: 'link'; peer: string; pc: RTCPeerConnection; message: SignalMessage }
  /** Negotiate `pc` again: an ICE restart, or something added (`kinds`: media the answering side wants to send). */
  | { kind: 'renegotiate'; peer: string; pc: RTCPeerConnection; restart: boolean; kinds: readonly MediaKind[] }
  /** A step of the pair's ICE restart plan. */
  | { kind: 'heal'; peer: string; pc: RTCPeerConnection; step: RestartStep };

/** Join hints kept while they wait for the matching claim over the control channel. */
const MAX_JOIN_HINTS = 64;

/** How many times the offering side renegotiates a pair whose ICE failed before it gives up. */
const MAX_ICE_RETRIES = 1;


/** @internal */
export class Session {
  private readonly registry = new Map<string, PeerEntry>();
  private readonly early = new Map<string, { candidates: (WireCandidate | null)[]; refused: number }>();
  /**
   * After a signaling reconnect, sockets get new ids, but peers keep knowing
   * each other by the ids they first had: `aliases` maps a new signaling id
   * to that stable peer id, `routes` maps the stable id to where it is now.
   */
  private readonly aliases = new Map<string, string>();
  private readonly routes = new Map<string, string>();
  private stableSelf = '';
  /**
   * Host side: members whose socket is new and has not rejoined the group on
   * the server yet. A `call me` sent to them now would be dropped by the
   * server, so it waits in `deferredCallMe` (member → newcomer → its caps).
   */
  private readonly unconfirmed = new Set<string>();
  private readonly deferredCallMe = new Map<string, Map<string, Capability[]>>();
  /**
   * Host side: a member's new signaling id is taken only when both agree:
   * its claim over its own control channel (`claims`: member → id) and a
   * `join` from that id naming the member (`hints`: id → member, caps).
   */
  private readonly claims = new Map<string, string>();
  private readonly hints = new Map<string, { was: string; caps: readonly Capability[] }>();
  /**
   * Remote SDP session ids of connections closed here, per peer (a few
   * each): an offer or answer from one of them is late (it waited in a
   * stalled TCP stream through a cut) and must not build or answer anything.
   */
  private readonly closedSessions = new Map<string, string[]>();
  /** Offering side: renegotiations of a pair since it was last connected. */
  private readonly iceRetries = new Map<string, number>();
  private readonly internal$ = new Subject<PeerCommand>();
  private readonly peerGone$ = new Subject<string>();
  private readonly subscription = new Subscription();
  private readonly log: Logger;
  private stopping: Promise<void> | undefined;
  private byesSent: Promise<void> | undefined;
  /** Whether the server acknowledges `message`s (rxpeer's does, the reference server does not). */
  private messageAcks: 'untested' | 'testing' | 'yes' = 'untested';

  /** Relayed messages, parsed once for every reader (one socket listener). */
  private readonly received$: Observable<ParseResult>;
  /** Ids from `user disconnected`, or the error of a malformed notice. */
  private readonly departed$: Observable<string | InvalidMessageError>;
  /** The server's refusal of this client's `join` (its acknowledgement), which fails the start at once. */
  private readonly joinRefused$ = new Subject<RxpeerError>();

  constructor(private readonly ctx: SessionContext) {
    this.log = ctx.logger.child(ctx.role.role);
    this.received$ = messages$(ctx.socket).pipe(share());
    this.departed$ = userDisconnected$(ctx.socket).pipe(share());
  }

  /** Subscribes the session's streams. Call once, right after the socket connected. */
  start(): void {
    this.stableSelf = this.ctx.socket.id ?? '';
    this.subscription.add(this.peerWork$().subscribe());
    this.subscription.add(this.reconnects$().subscribe());
    this.subscription.add(this.serverDisconnects$().subscribe());
    if (this.ctx.role.role === 'client') {
      this.subscription.add(this.clientStart$(this.ctx.role.hostId).subscribe());
    }
  }

  /** The id this end started with (its socket id then); peers know it by this id. */
  private get selfId(): string {
    return this.stableSelf;
  }

  /** The stable id of whoever sent from `signalingId`. */
  private alias(signalingId: string): string {
    return this.aliases.get(signalingId) ?? signalingId;
  }

  /** The signaling id at which the peer known as `peer` is now. */
  private routeTo(peer: string): string {
    return this.routes.get(peer) ?? peer;
  }

  /**
   * Sends a message to a peer (by its stable id). While the socket is down
   * nothing is queued: messages held across a reconnect would go to ids that
   * no longer exist (CHECKLIST 29); the work is redone from the new state.
   */
  private send(message: OutgoingMessage): void {
    const routed = this.outgoing(message);
    if (routed === undefined) return;
    if (this.messageAcks === 'untested') {
      // The first message asks for an acknowledgement: rxpeer's server gives one, the
      // reference server does not. stop() waits for its byes' acks only from a server that does.
      this.messageAcks = 'testing';
      this.ctx.socket.emit('message', routed, () => {
        this.messageAcks = 'yes';
      });
      return;
    }
    this.ctx.socket.emit('message', routed);
  }

  /** The message as it goes out (routed to the peer's current id), or `undefined` while signaling is down. */
  private outgoing(message: OutgoingMessage): OutgoingMessage | undefined {
    if (!this.ctx.socket.connected) {
      this.log.debug('dropped a message while signaling is down', { type: message.type, to: message.to });
      return undefined;
    }
    const routed: OutgoingMessage = { ...message, to: this.routeTo(message.to) };
    if (typeof message.me === 'string' && message.type === 'call me') routed.me = this.routeTo(message.me);
    this.log.debug('send', { type: routed.type, to: routed.to });
    return routed;
  }

  private report(error: RxpeerError): void {
    this.log.debug(error.message, { code: error.code });
    this.ctx.events$.next({ type: 'error', error });
  }

  private publishPeers(): void {
    this.ctx.peers$.next(new Map([...this.registry].map(([id, entry]) => [id, entry.state])));
  }

  // -------------------------------------------------------------------------
  // Input: wire messages and leave notices become per-peer commands.

  private commands$(): Observable<PeerCommand> {
    const wire$ = this.received$.pipe(
      mergeMap((result): Observable<PeerCommand> => {
        switch (result.kind) {
          case 'invalid':
            this.report(new InvalidMessageError(result.reason));
            return EMPTY;
          case 'unknown':
            this.log.debug('ignored a message of unknown type', { type: result.type, from: result.from });
            return EMPTY;
          case 'message': {
            const hint = this.joinHint(result.message);
            if (hint !== undefined) return of(hint);
            const message = this.unalias(result.message);
            return this.accept(message) ? of(this.route(message)) : EMPTY;
          }
          default: {
            const unreachable: never = result;
            return unreachable;
          }
        }
      }),
    );
    const left$ = this.departed$.pipe(
      mergeMap((idOrError): Observable<PeerCommand> => {
        if (idOrError instanceof RxpeerError) {
          this.report(idOrError);
          return EMPTY;
        }
        return of({ kind: 'leave', peer: this.alias(idOrError), reason: 'user disconnected' });
      }),
    );
    return merge(wire$, left$, this.internal$);
  }

  /** Which messages this end takes at all (PROTOCOL §4, CHECKLIST 27). */
  private accept(message: SignalMessage): boolean {
    const { role } = this.ctx;
    const ok = ((): boolean => {
      switch (message.type) {
        case 'join':
          return role.role === 'host';
        case 'call me':
          return role.role === 'client' && message.from === role.hostId && message.me !== this.selfId;
        case 'offer':
          return role.role === 'client';
        case 'answer':
        case 'bye':
        case 'candidate':
          return true;
        case 'caps query':
          return true;
        case 'done':
          // Only a `done` from the host means anything (it feeds `started`), and it is read there.
        case 'caps':
          // Read by the offer waiting for it (probedOffer$), not queued behind it.
          return false;
        default: {
          const unreachable: never = message;
          return unreachable;
        }
      }
    })();
    if (!ok && message.type !== 'done' && message.type !== 'caps') {
      this.log.debug('ignored a message this end does not take', { type: message.type, from: message.from });
    }
    return ok;
  }

  /**
   * Host side: a `join` from a signaling id not yet bound to the member it
   * names (`me`) is only a hint: anyone in the group can send one. It moves
   * nothing until that member confirms the id over its own control channel.
   */
  private joinHint(message: SignalMessage): PeerCommand | undefined {
    if (this.ctx.role.role !== 'host' || message.type !== 'join' || message.was === undefined) return undefined;
    const { was, from } = message;
    if (!this.registry.has(was) || this.alias(from) === was) return undefined;
    return { kind: 'hint', peer: was, from, caps: message.caps };
  }

  /** Rewrites signaling ids into stable peer ids. */
  private unalias(message: SignalMessage): SignalMessage {
    const from = this.alias(message.from);
    if (message.type !== 'call me') return { ...message, from };
    const me = this.alias(message.me);
    const claimant = this.registry.get(me);
    if (me !== message.me && claimant?.state.connectionState === 'connected') {
      // The host introduces this id as a newcomer, yet a peer connected to us claimed it as its
      // own: that claim was false. Forget it; the newcomer gets its offer.
      this.forgetRoute(me);
      this.report(new IdentityClaimError(me, message.me, 'the host introduced that id as a newcomer'));
      return { ...message, from };
    }
    return { ...message, from, me };
  }

  private route(message: SignalMessage): PeerCommand {
    return { kind: 'wire', peer: message.type === 'call me' ? message.me : message.from, message };
  }

  /**
   * Per-peer serialized work: one queue per peer id. A queue ends once its
   * command is done and that peer has no connection, so ids that come and go
   * (or junk ids) leave nothing behind.
   */
  private peerWork$(): Observable<never> {
    return this.commands$().pipe(
      groupBy((command) => command.peer, {
        duration: (group) => this.peerGone$.pipe(filter((id) => id === group.key)),
      }),
      mergeMap((group) =>
        group.pipe(
          concatMap((command) =>
            this.handle(command).pipe(
              ignoreElements(),
              finalize(() => {
                if (!this.registry.has(command.peer)) this.peerGone$.next(command.peer);
              }),
            ),
          ),
        ),
      ),
      ignoreElements(),
    );
  }

  /** Our capabilities, announced on `join`, `offer` and `answer`. */
  private get caps(): Capability[] {
    return this.ctx.trickle ? ['trickle'] : [];
  }

  /** Trickle with a peer only when both ends support it. */
  private modeWith(remoteCaps: readonly Capability[]): IceMode {
    return this.ctx.trickle && remoteCaps.includes('trickle') ? 'trickle' : 'vanilla';
  }

  private handle(command: PeerCommand): Observable<unknown> {
    const { peer } = command;
    const entry = this.registry.get(peer);
    if (command.kind === 'claim') return entry?.pc === command.pc ? this.onClaim$(entry, command.id) : EMPTY;
    if (command.kind === 'hint') return entry === undefined ? EMPTY : this.onHint$(entry, command.from, command.caps);
    if (command.kind === 'link') return entry?.pc === command.pc ? this.onMessage$(peer, entry, command.message) : EMPTY;
    if (command.kind === 'heal') return entry?.pc === command.pc ? this.onHeal$(entry, command.step) : EMPTY;
    if (command.kind === 'renegotiate') {
      return entry?.pc === command.pc ? this.renegotiate$(entry, command.restart, command.kinds) : EMPTY;
    }
    if (command.kind === 'leave') {
      if (entry === undefined || (command.pc !== undefined && entry.pc !== command.pc)) return EMPTY;
      const tries = this.iceRetries.get(peer) ?? 0;
      if (command.iceFailed !== true || !entry.isOffer || tries >= MAX_ICE_RETRIES) {
        return this.closePeer$(peer, command.reason);
      }
      // ICE failed while the peer is still in the group (no `bye`, no leave notice): the offering
      // side makes a fresh connection and offers again; the other side takes the new offer.
      return concat(
        this.closePeer$(peer, `${command.reason}; renegotiating`),
        defer(() => {
          this.iceRetries.set(peer, tries + 1);
          return this.guard(peer, 'offer', this.offer$(peer, entry.mode));
        }),
      );
    }
    return this.onMessage$(peer, entry, command.message);
  }

  /** A negotiation message from `peer`, through the server or over the control channel. */
  private onMessage$(peer: string, entry: PeerEntry | undefined, message: SignalMessage): Observable<unknown> {
    if ((message.type === 'offer' || message.type === 'answer') && this.isLate(peer, entry, message.type, message.sdp)) {
      this.log.info('dropped a late description from a connection closed or renegotiated before', { type: message.type, from: peer });
      return EMPTY;
    }
    switch (message.type) {
      case 'join':
        if (entry !== undefined) {
          // A `join` naming the member from the id it is already bound to (confirmed before).
          if (message.was === peer) return this.rejoined$(entry, message.caps);
          return this.invalid('a duplicate "join"', message);
        }
        return this.guard(peer, 'offer', this.offer$(peer, this.modeWith(message.caps), message.caps));
      case 'call me':
        // PROTOCOL §4: nothing when a peer connection with `me` exists. The host passed `me`'s caps along.
        if (entry !== undefined) return EMPTY;
        if (this.shouldProbe(message.caps)) return this.guard(peer, 'offer', this.probedOffer$(peer));
        return this.guard(peer, 'offer', this.offer$(peer, this.modeWith(message.caps)));
      case 'caps query':
        // A member under an Extreal host asks before it offers; once connected there is nothing to tell.
        if (entry === undefined) this.send({ type: 'caps', to: peer, caps: this.caps });
        return EMPTY;
      case 'offer':
        if (entry !== undefined) {
          if (entry.isOffer) return this.invalid('an "offer" from a peer this side offered to', message);
          if (this.isRenegotiation(entry, message.sdp)) return this.reanswer$(entry, message.sdp);
          // The offering side started over (its ICE failed, or its signaling dropped mid-join):
          // the fresh offer replaces this connection.
          return concat(
            this.closePeer$(peer, 'replaced by a fresh offer'),
            this.guard(peer, 'answer', this.answer$(peer, message.sdp, this.modeWith(message.caps))),
          );
        }
        return this.guard(peer, 'answer', this.answer$(peer, message.sdp, this.modeWith(message.caps)));
      case 'answer':
        if (entry === undefined || !entry.isOffer || entry.pc.signalingState !== 'have-local-offer') {
          return this.invalid('an "answer" without a pending offer', message);
        }
        return (entry.negotiated ? this.softGuard.bind(this) : this.guard.bind(this))(
          peer,
          'apply answer',
          setRemoteDescription$(entry.pc, { type: 'answer', sdp: message.sdp }).pipe(
            concatMap(() => this.drainCandidates$(entry)),
            tap(() => {
              // `done` ends the first negotiation only; renegotiations are between the two peers.
              if (entry.negotiated) return;
              entry.negotiated = true;
              entry.remoteSession = sdpSessionId(message.sdp);
              this.send({ type: 'done', to: peer });
            }),
            concatMap(() => (entry.renegotiateAfterAnswer === true && entry.rxpeer ? this.renegotiate$(entry, false, []) : EMPTY)),
          ),
        );
      case 'bye':
        return this.closePeer$(peer, 'bye');
      case 'candidate':
        return this.candidate$(peer, entry, message.candidate);
      case 'done':
      case 'caps':
        return EMPTY;
      default: {
        const unreachable: never = message;
        return unreachable;
      }
    }
  }

  /** Host side: a member is back in the group at its (confirmed) current id. */
  private rejoined$(entry: PeerEntry, caps: readonly Capability[]): Observable<unknown> {
    const peer = entry.id;
    this.log.info('peer rejoined the group after a reconnect', { id: peer, now: this.routeTo(peer) });
    this.unconfirmed.delete(peer);
    const held = this.deferredCallMe.get(peer);
    this.deferredCallMe.delete(peer);
    for (const [newcomer, newcomerCaps] of held ?? []) if (this.registry.has(newcomer)) this.callMe(peer, newcomer, newcomerCaps);
    if (entry.state.connectionState === 'connected') return EMPTY;
    // Its signaling dropped mid-negotiation: what we and the members sent it may be lost,
    // so negotiate afresh and ask the members again (they reach it at its new id).
    return concat(
      this.closePeer$(peer, 'rejoined before the connection was up'),
      this.guard(peer, 'offer', this.offer$(peer, this.modeWith(caps), caps)),
    );
  }

  /**
   * Why `peer` cannot be at signaling id `id`: it is this side's own id, or
   * the id of another peer (its first one, or where it is now).
   */
  private claimConflict(peer: string, id: string): string | undefined {
    if (id === this.selfId || id === this.ctx.socket.id) return "it is this side's own id";
    if (id !== peer && this.registry.has(id)) return 'it is the id of another peer';
    const holder = this.aliases.get(id);
    if (holder !== undefined && holder !== peer) return 'another peer is at that id';
    return undefined;
  }

  /**
   * A peer's claim, over its own control channel, that its signaling id is
   * now `id`. A peer can only move itself, and never onto someone else's id.
   * A client takes the claim; a host also needs that id's `join` naming the
   * peer (the server vouches for the `from` of a message).
   */
  private onClaim$(entry: PeerEntry, id: string): Observable<unknown> {
    const peer = entry.id;
    const conflict = this.claimConflict(peer, id);
    const holder = this.aliases.get(id);
    if (conflict !== undefined && this.isMyHost(peer) && holder !== undefined && holder !== peer) {
      // A member claimed the host's new id before the host did (it heard it from the host too):
      // the host, which runs the group, keeps its id; the member's claim was false.
      this.forgetRoute(holder);
      this.report(new IdentityClaimError(holder, id, 'the host claims that id'));
    } else if (conflict !== undefined) {
      this.report(new IdentityClaimError(peer, id, conflict));
      return EMPTY;
    }
    if (this.routeTo(peer) === id) return EMPTY;
    if (this.ctx.role.role !== 'host') {
      this.rebind(peer, id);
      return EMPTY;
    }
    const hint = this.hints.get(id);
    if (hint?.was !== peer) {
      this.claims.set(peer, id);
      return EMPTY;
    }
    this.hints.delete(id);
    this.rebind(peer, id);
    return this.rejoined$(entry, hint.caps);
  }

  /** Host side: a `join` from `from` naming `entry`'s peer; confirmed only by that peer's own claim. */
  private onHint$(entry: PeerEntry, from: string, caps: readonly Capability[]): Observable<unknown> {
    const peer = entry.id;
    if (this.claims.get(peer) !== from) {
      this.log.debug('a join names a member; waiting for that member to confirm', { id: peer, from });
      if (this.hints.size >= MAX_JOIN_HINTS) this.hints.delete(this.hints.keys().next().value as string);
      this.hints.set(from, { was: peer, caps });
      return EMPTY;
    }
    this.claims.delete(peer);
    if (this.claimConflict(peer, from) !== undefined) return EMPTY;
    this.rebind(peer, from);
    return this.rejoined$(entry, caps);
  }

  private invalid(what: string, message: SignalMessage): Observable<never> {
    this.report(new InvalidMessageError(`${what} from ${message.from}`));
    return EMPTY;
  }

  /** A failed negotiation step is reported and that peer is closed; the others go on. */
  private guard(peer: string, step: string, work$: Observable<unknown>): Observable<unknown> {
    return work$.pipe(
      catchError((error: unknown) => {
        this.report(new NegotiationError(peer, step, error));
        return this.closePeer$(peer, `${step} failed`);
      }),
    );
  }

  /** A failed renegotiation step is reported; the pair stays (its restart plan handles a broken link). */
  private softGuard(peer: string, step: string, work$: Observable<unknown>): Observable<unknown> {
    return work$.pipe(
      catchError((error: unknown) => {
        this.report(new NegotiationError(peer, step, error));
        return EMPTY;
      }),
    );
  }

  // -------------------------------------------------------------------------
  // Links that heal (issue 17): renegotiation and ICE restart on the same connection.

  private get restartPolicy(): IceRestartPolicy {
    return this.ctx.iceRestart ?? DEFAULT_ICE_RESTART;
  }

  /** A pair's phase changes: `peers$` and `peerPhase$` tell the app. */
  private setPhase(entry: PeerEntry, phase: PeerPhase): void {
    if (entry.state.phase === phase) return;
    entry.state = { ...entry.state, phase };
    this.log.info('peer phase', { id: entry.id, phase, restarts: entry.state.restarts });
    this.publishPeers();
    this.ctx.events$.next({ type: 'peerPhase', id: entry.id, phase, restarts: entry.state.restarts });
  }

  /** Whether the control channel works now: open, and the peer heard within two heartbeats. */
  private controlAlive(entry: PeerEntry): entry is PeerEntry & { control: RTCDataChannel } {
    return (
      entry.control !== undefined &&
      entry.rxpeer &&
      entry.control.readyState === 'open' &&
      this.ctx.scheduler.now() - entry.lastHeard <= 2 * this.ctx.heartbeatInterval
    );
  }

  /**
   * Sends a negotiation message to the peer of `entry`: over the control
   * channel while it works (the signaling server is not needed), through the
   * server otherwise.
   */
  private signal(
    entry: PeerEntry,
    message: { type: 'offer' | 'answer'; sdp: string } | { type: 'candidate'; candidate: WireCandidate | null },
  ): void {
    if (this.controlAlive(entry)) {
      const frame: ControlMessage =
        message.type === 'candidate' ? { t: 'cand', c: message.candidate } : { t: 'sdp', kind: message.type, sdp: message.sdp };
      if (sendControl(entry.control, frame)) {
        this.log.debug('sent over the control channel', { type: message.type, to: entry.id });
        return;
      }
    }
    if (message.type === 'candidate') this.send({ type: 'candidate', to: entry.id, candidate: message.candidate });
    else this.send({ type: message.type, to: entry.id, sdp: message.sdp, caps: this.caps });
  }

  /**
   * A description from a connection this side already closed, or an answer
   * for a negotiated connection that comes from another one.
   */
  private isLate(peer: string, entry: PeerEntry | undefined, type: 'offer' | 'answer', sdp: string): boolean {
    const session = sdpSessionId(sdp);
    if (session === undefined) return false;
    if (this.closedSessions.get(peer)?.includes(session) === true && entry?.remoteSession !== session) return true;
    return type === 'answer' && entry?.negotiated === true && entry.remoteSession !== undefined && entry.remoteSession !== session;
  }

  /** Remembers the remote session of a connection being closed (bounded: a few per peer, 64 peers). */
  private rememberClosed(entry: PeerEntry): void {
    if (entry.remoteSession === undefined) return;
    const list = this.closedSessions.get(entry.id) ?? [];
    list.push(entry.remoteSession);
    if (list.length > 4) list.shift();
    this.closedSessions.delete(entry.id);
    this.closedSessions.set(entry.id, list);
    if (this.closedSessions.size > 64) this.closedSessions.delete(this.closedSessions.keys().next().value as string);
  }

  /** Answering side: an offer from the same connection as the first one (same SDP session) renegotiates it. */
  private isRenegotiation(entry: PeerEntry, sdp: string): boolean {
    return entry.negotiated && entry.remoteSession !== undefined && sdpSessionId(sdp) === entry.remoteSession;
  }

  /** Answering side: applies a renegotiation offer (an ICE restart when its ufrag changed) and answers it. */
  private reanswer$(entry: PeerEntry, sdp: string): Observable<unknown> {
    const { pc, id } = entry;
    return defer(() => {
      const ufrag = sdpIceUfrag(sdp);
      if (ufrag !== undefined && entry.remoteUfrag !== undefined && ufrag !== entry.remoteUfrag) {
        entry.state = { ...entry.state, restarts: entry.state.restarts + 1 };
        this.log.info('following an ICE restart', { id, restarts: entry.state.restarts });
        this.publishPeers();
      }
      entry.remoteUfrag = ufrag;
      return setRemoteDescription$(pc, { type: 'offer', sdp }).pipe(
        concatMap(() => createAndSetAnswer$(pc)),
        concatMap(() => this.sdpToSend$(pc, entry.mode, 'answer', id)),
        tap((answer) => this.signal(entry, { type: 'answer', sdp: answer })),
      );
    }).pipe((work$) => this.softGuard(id, 'answer a renegotiation', work$));
  }

  /**
   * Negotiates an existing connection again. The offering side offers (an
   * ICE restart with `restart`), after the pending offer was answered or at
   * the restart interval; an ICE restart does not wait. The answering side
   * has no say in roles: it asks the offering side over the control channel,
   * naming the media kinds it added, for which the offering side adds
   * receive-only transceivers so that the answer can carry them.
   */
  private renegotiate$(entry: PeerEntry, restart: boolean, kinds: readonly MediaKind[]): Observable<unknown> {
    const { pc, id } = entry;
    if (!entry.isOffer) {
      if (restart) return EMPTY;
      if (entry.control !== undefined && sendControl(entry.control, { t: 'nego', kinds: [...kinds] })) {
        this.log.debug('asked the peer to renegotiate', { id, kinds });
      } else {
        this.report(new NegotiationError(id, 'ask for a renegotiation', new Error('the control channel is not open')));
      }
      return EMPTY;
    }
    for (const kind of kinds) this.makeRoomFor(pc, kind);
    if (!restart && pc.signalingState !== 'stable') {
      // An offer is out: negotiate again once its answer is in (waiting here would hold up the
      // answer itself, queued behind this command).
      entry.renegotiateAfterAnswer = true;
      return EMPTY;
    }
    entry.renegotiateAfterAnswer = false;
    const work$ = defer(() => {
      if (restart) {
        entry.state = { ...entry.state, restarts: entry.state.restarts + 1 };
        if (entry.state.phase === 'reconnecting') this.publishPeers();
        else this.setPhase(entry, 'reconnecting');
        this.log.info('restarting ICE', { id, restarts: entry.state.restarts });
      }
      return createAndSetOffer$(pc, restart ? { iceRestart: true } : undefined);
    }).pipe(
      concatMap(() => this.sdpToSend$(pc, entry.mode, 'offer', id)),
      tap((sdp) => this.signal(entry, { type: 'offer', sdp })),
    );
    return this.softGuard(id, restart ? 'restart ICE' : 'renegotiate', work$);
  }

  /** Offering side: a receive-only transceiver of `kind` unless one is still free for the answering side's track. */
  private makeRoomFor(pc: RTCPeerConnection, kind: MediaKind): void {
    const transceivers = typeof pc.getTransceivers === 'function' ? pc.getTransceivers() : [];
    const free = transceivers.some((t) => t.mid === null && t.receiver.track.kind === kind);
    if (!free) pc.addTransceiver(kind, { direction: 'recvonly' });
  }

  /** Media kinds of tracks the answering side added that no negotiated section carries yet. */
  private unsentKinds(pc: RTCPeerConnection): MediaKind[] {
    const transceivers = typeof pc.getTransceivers === 'function' ? pc.getTransceivers() : [];
    const kinds = transceivers
      .filter((t) => t.mid === null && t.sender.track !== null)
      .map((t) => t.sender.track?.kind)
      .filter((kind): kind is MediaKind => kind === 'audio' || kind === 'video');
    return [...new Set(kinds)];
  }

  /** One step of a pair's restart plan. */
  private onHeal$(entry: PeerEntry, step: RestartStep): Observable<unknown> {
    switch (step.kind) {
      case 'restart':
        if (entry.isOffer) return this.renegotiate$(entry, true, []);
        // The answering side follows the offering side's restarts; it only shows the trouble.
        this.setPhase(entry, 'reconnecting');
        return EMPTY;
      case 'recovered':
        this.log.info('peer link recovered on the same connection', { id: entry.id, restarts: entry.state.restarts });
        this.setPhase(entry, 'connected');
        return EMPTY;
      case 'giveUp':
        return this.handle({ kind: 'leave', peer: entry.id, reason: 'ICE restarts did not bring the link back', pc: entry.pc, iceFailed: true });
      default: {
        const unreachable: never = step;
        return unreachable;
      }
    }
  }

  /**
   * The restart plan of an rxpeer pair, from ICE and the heartbeat. The
   * answering side runs it with one restart more, so that it gives up only
   * after the offering side had every chance to restart.
   */
  private heal$(entry: PeerEntry, received$: Observable<ControlMessage>): Observable<PeerCommand> {
    const { pc, id } = entry;
    const { heartbeatTimeout, scheduler } = this.ctx;
    const policy = this.restartPolicy;
    // Heard: true until `heartbeatTimeout` passes without a control message (counted from now).
    const heard$ = received$.pipe(
      startWith(undefined),
      switchMap(() => timer(heartbeatTimeout, scheduler).pipe(map(() => false), startWith(true))),
      distinctUntilChanged(),
    );
    // Fresh: heard within two heartbeats.
    const fresh$ = received$.pipe(
      startWith(undefined),
      switchMap(() => timer(2 * this.ctx.heartbeatInterval, scheduler).pipe(map(() => false), startWith(true))),
      distinctUntilChanged(),
    );
    const health$ = combineLatest([iceConnectionState$(pc), heard$, fresh$]).pipe(
      map(([ice, heard, fresh]) => linkHealth(ice, heard, fresh)),
    );
    return health$.pipe(
      iceRestarts(entry.isOffer ? policy : { ...policy, max: policy.max + 1 }, scheduler),
      map((step): PeerCommand => ({ kind: 'heal', peer: id, pc, step })),
    );
  }

  // -------------------------------------------------------------------------
  // Peer connections.

  /**
   * Makes and registers a peer connection, then runs the create hooks in
   * order; rxpeer's control channel (offerer side) comes after the app's.
   */
  private createPeer$(id: string, isOffer: boolean, mode: IceMode): Observable<PeerEntry> {
    return defer(() => {
      this.log.info('user connecting', { id, isOffer, mode });
      this.ctx.events$.next({ type: 'userConnecting', id });
      const pc = this.ctx.createPeerConnection(this.ctx.pcConfig);
      const watch = new Subscription();
      const pending = this.early.get(id)?.candidates ?? [];
      this.early.delete(id);
      const entry: PeerEntry = {
        id,
        pc,
        isOffer,
        mode,
        watch,
        pending,
        remoteSet: false,
        refused: 0,
        negotiated: false,
        rxpeer: false,
        lastHeard: Number.NEGATIVE_INFINITY,
        state: {
          id,
          isOffer,
          mode,
          iceConnectionState: pc.iceConnectionState,
          connectionState: pc.connectionState,
          phase: 'connecting',
          restarts: 0,
        },
      };
      // Registered before any hook is awaited, so a racing duplicate finds it (CHECKLIST 26).
      this.registry.set(id, entry);
      // What the per-peer watchers decide goes through the one door (`internal$`), as commands.
      const feedback = (command: PeerCommand): void => this.internal$.next(command);
      watch.add(this.watch$(entry).subscribe(feedback));
      if (isOffer && this.ctx.pairTimeout > 0) watch.add(this.pairTimeout$(entry).subscribe(feedback));
      watch.add(this.negotiationNeeded$(entry).subscribe(feedback));
      // Subscribed before setLocalDescription, so no candidate is missed.
      if (mode === 'trickle') watch.add(this.trickleCandidates$(entry).subscribe());
      this.publishPeers();
      this.ctx.events$.next({ type: 'pcCreate', id, isOffer, pc });
      return concat(
        runHooks(this.ctx.createHooks, [id, isOffer, pc], (error) => this.report(new HookError('pcCreate', id, error))),
        defer(() => {
          if (this.ctx.controlChannel) watch.add(this.control$(entry).subscribe(feedback));
          return of(entry);
        }),
      );
    });
  }

  /**
   * The control channel: heartbeat and RTT with an rxpeer peer; a closed
   * channel or a silent peer closes the connection. An Extreal peer never
   * answers, so it is never timed out.
   */
  private control$(entry: PeerEntry): Observable<PeerCommand> {
    const { pc, id, isOffer } = entry;
    const { heartbeatInterval, scheduler } = this.ctx;
    return controlChannel$(pc, isOffer).pipe(
      switchMap((channel) => channelOpen$(channel)),
      switchMap((channel) => {
        entry.control = channel;
        const received$ = controlMessages$(channel).pipe(
          tap(() => {
            entry.rxpeer = true;
            entry.lastHeard = scheduler.now();
          }),
          share(),
        );
        const claims$ = received$.pipe(mergeMap((message) => this.fromControl(entry, message)));
        // An rxpeer peer (it speaks here): a broken link is restarted instead of closed (issue 17).
        const heal$ = received$.pipe(
          take(1),
          switchMap(() => {
            const held$: Observable<PeerCommand> =
              entry.renegotiateWhenKnown === true
                ? of({ kind: 'renegotiate', peer: id, pc, restart: false, kinds: entry.isOffer ? [] : this.unsentKinds(pc) })
                : EMPTY;
            return merge(held$, this.heal$(entry, received$));
          }),
        );
        const rtt$ = heartbeat$(channel, received$, heartbeatInterval, scheduler).pipe(
          tap((rtt) => {
            entry.state = { ...entry.state, rtt };
            this.publishPeers();
          }),
          ignoreElements(),
        );
        // A silent heartbeat no longer closes the pair: it counts as a broken link in heal$.
        const leave$ = channelClosed$(channel).pipe(map((): PeerCommand => ({ kind: 'leave', peer: id, reason: 'control channel closed', pc })));
        return merge(claims$, rtt$, heal$, leave$).pipe(takeWhile((command) => command.kind !== 'leave', true));
      }),
    );
  }

  /** What a control frame asks for: an id claim, or a negotiation step over the link (issue 17). */
  private fromControl(entry: PeerEntry, message: ControlMessage): Observable<PeerCommand> {
    const { id: peer, pc } = entry;
    const base = { from: peer, to: this.selfId, caps: [] as Capability[] };
    switch (message.t) {
      case 'id':
        return of({ kind: 'claim', peer, id: message.id, pc });
      case 'sdp':
        return of({ kind: 'link', peer, pc, message: { ...base, type: message.kind, sdp: message.sdp } });
      case 'cand':
        return of({ kind: 'link', peer, pc, message: { ...base, type: 'candidate', candidate: message.c } });
      case 'nego':
        return of({ kind: 'renegotiate', peer, pc, restart: false, kinds: message.kinds });
      case 'ping':
      case 'pong':
        return EMPTY;
      default: {
        const unreachable: never = message;
        return unreachable;
      }
    }
  }

  /**
   * The app changed what the connection carries (a track, a transceiver, a
   * first data channel) after it was up with an rxpeer peer: negotiate again
   * over the link. Extreal peers keep the original behaviour (none).
   */
  private negotiationNeeded$(entry: PeerEntry): Observable<PeerCommand> {
    const { pc, id } = entry;
    return event$(pc, 'negotiationneeded').pipe(
      filter(() => {
        if (!entry.negotiated) return false; // the first negotiation is still going on and takes it in
        if (!entry.rxpeer) entry.renegotiateWhenKnown = true; // decided once the peer speaks on the control channel
        return entry.rxpeer;
      }),
      map(
        (): PeerCommand => ({ kind: 'renegotiate', peer: id, pc, restart: false, kinds: entry.isOffer ? [] : this.unsentKinds(pc) }),
      ),
    );
  }

  /**
   * Offering side: a connection that is not up within `pairTimeout` (ICE
   * stuck without failing) is treated like a failed one, so the pair is
   * renegotiated instead of waiting forever.
   */
  private pairTimeout$(entry: PeerEntry): Observable<PeerCommand> {
    const { pc, id } = entry;
    return timer(this.ctx.pairTimeout, this.ctx.scheduler).pipe(
      map((): PeerCommand => {
        this.log.info('peer connection not up in time', { id, timeoutMs: this.ctx.pairTimeout });
        return { kind: 'leave', peer: id, reason: 'not connected in time', pc, iceFailed: true };
      }),
      takeUntil(connectionState$(pc).pipe(filter((state) => state === 'connected'))),
    );
  }

  /** Keeps `peers$` current; a leave command when ICE fails or closes. */
  private watch$(entry: PeerEntry): Observable<PeerCommand> {
    const { pc, id } = entry;
    return merge(
      iceConnectionState$(pc).pipe(map((iceConnectionState) => ({ iceConnectionState }))),
      connectionState$(pc).pipe(map((connectionState) => ({ connectionState }))),
    ).pipe(
      mergeMap((change): Observable<PeerCommand> => {
        entry.state = { ...entry.state, ...change };
        this.publishPeers();
        const ice = entry.state.iceConnectionState;
        if (entry.state.connectionState === 'connected') this.iceRetries.delete(id);
        if (entry.state.phase === 'connecting' && (entry.state.connectionState === 'connected' || ice === 'connected' || ice === 'completed')) {
          this.setPhase(entry, 'connected');
        }
        // An rxpeer pair's broken link is its restart plan's business (heal$); only a closed one leaves.
        if (entry.rxpeer && ice !== 'closed') return EMPTY;
        if (ice !== 'failed' && ice !== 'closed' && entry.state.connectionState !== 'failed') return EMPTY;
        this.log.info('peer connection failed or closed', { id, ice, connection: entry.state.connectionState });
        return of({ kind: 'leave', peer: id, reason: `ice ${ice}`, pc, iceFailed: ice !== 'closed' });
      }),
    );
  }

  /**
   * The SDP to send. Vanilla ICE: when gathering completes or at the
   * vanilla-ICE timeout, whichever is first. Trickle: at once; candidates follow.
   */
  private sdpToSend$(pc: PeerConnection, mode: IceMode, kind: string, peer: string): Observable<string> {
    if (mode === 'trickle') return defer(() => of(localSdp(pc)));
    return iceGatheringState$(pc).pipe(
      gatheringComplete(this.ctx.vanillaIceTimeout, this.ctx.scheduler),
      map((outcome) => {
        if (outcome === 'timeout') {
          this.log.info('ICE gathering timed out; sending the candidates gathered so far', { kind, peer });
        }
        return localSdp(pc);
      }),
    );
  }

  /** Offerer side: `join` (host; `joinCaps` set) or `call me` (member). */
  private offer$(peer: string, mode: IceMode, joinCaps?: readonly Capability[]): Observable<unknown> {
    return defer(() => {
      // The members already there when the newcomer is registered: only they are asked to offer
      // to it. A member registered later gets its own `call me` for this newcomer instead, so
      // two joins racing never make both ends of one pair offer (CHECKLIST 26).
      const earlier = joinCaps === undefined ? [] : [...this.registry.keys()];
      return this.createPeer$(peer, true, mode).pipe(
        concatMap(({ pc }) => createAndSetOffer$(pc).pipe(concatMap(() => this.sdpToSend$(pc, mode, 'offer', peer)))),
        tap((sdp) => {
          this.send({ type: 'offer', to: peer, sdp, caps: this.caps });
          // PROTOCOL §4: the host asks every member already there to offer to the newcomer,
          // passing the newcomer's capabilities along (old clients skip the field).
          for (const member of earlier) {
            if (this.registry.has(member)) this.callMe(member, peer, [...(joinCaps ?? [])]);
          }
        }),
      );
    });
  }

  /**
   * A member asked to offer without the newcomer's caps, by a host that
   * announced no trickle itself (an Extreal host passes nothing along):
   * the newcomer may still be an rxpeer peer, so ask it.
   */
  private shouldProbe(callMeCaps: readonly Capability[]): boolean {
    if (!this.ctx.trickle || callMeCaps.includes('trickle') || this.ctx.role.role !== 'client') return false;
    return this.registry.get(this.ctx.role.hostId)?.mode === 'vanilla';
  }

  /**
   * Offer to a newcomer whose caps are unknown. After `setLocalDescription`
   * this side sends it a `caps query`, and whichever comes first decides:
   * a `caps` answer with `trickle` (an rxpeer newcomer; a few ms through the
   * server) → the offer goes at once and the candidates gathered later
   * trickle; gathering complete or the vanilla-ICE timeout (an Extreal
   * newcomer, which ignores the query) → a complete vanilla offer, exactly
   * as PROTOCOL §4 has it.
   */
  private probedOffer$(peer: string): Observable<unknown> {
    const trickleAnswer$ = this.received$.pipe(
      filter(
        (r) => r.kind === 'message' && r.message.type === 'caps' && this.alias(r.message.from) === peer && r.message.caps.includes('trickle'),
      ),
      take(1),
      map((): IceMode => 'trickle'),
    );
    return this.createPeer$(peer, true, 'vanilla').pipe(
      concatMap((entry) =>
        createAndSetOffer$(entry.pc).pipe(
          concatMap(() =>
            race(
              // The answer's listener is up before the query leaves.
              merge(trickleAnswer$, defer(() => {
                this.send({ type: 'caps query', to: peer, caps: this.caps });
                return EMPTY;
              })),
              this.sdpToSend$(entry.pc, 'vanilla', 'offer', peer).pipe(map((): IceMode => 'vanilla')),
            ),
          ),
          take(1),
          tap((mode) => {
            this.send({ type: 'offer', to: peer, sdp: localSdp(entry.pc), caps: this.caps });
            if (mode === 'trickle') this.switchToTrickle(entry);
          }),
        ),
      ),
    );
  }

  /** From now on, local candidates of this connection trickle to the peer (those gathered so far are in the SDP sent). */
  private switchToTrickle(entry: PeerEntry): void {
    entry.mode = 'trickle';
    entry.state = { ...entry.state, mode: 'trickle' };
    this.publishPeers();
    entry.watch.add(this.trickleCandidates$(entry).subscribe());
  }

  /** Sends each local candidate of the entry's connection, then the end of candidates. */
  private trickleCandidates$(entry: PeerEntry): Observable<never> {
    return localCandidate$(entry.pc).pipe(
      tap((candidate) => this.signal(entry, { type: 'candidate', candidate: candidate === null ? null : toWireCandidate(candidate) })),
      ignoreElements(),
    );
  }

  /** Asks `member` to offer to `newcomer`, or holds the request until the member has rejoined. */
  private callMe(member: string, newcomer: string, caps: Capability[]): void {
    if (this.unconfirmed.has(member)) {
      const held = this.deferredCallMe.get(member) ?? new Map<string, Capability[]>();
      held.set(newcomer, caps);
      this.deferredCallMe.set(member, held);
      return;
    }
    this.send({ type: 'call me', to: member, me: newcomer, caps });
  }

  /** Answerer side. */
  private answer$(peer: string, sdp: string, mode: IceMode): Observable<unknown> {
    return this.createPeer$(peer, false, mode).pipe(
      concatMap((entry) =>
        setRemoteDescription$(entry.pc, { type: 'offer', sdp }).pipe(
          tap(() => {
            entry.remoteSession = sdpSessionId(sdp);
            entry.remoteUfrag = sdpIceUfrag(sdp);
          }),
          concatMap(() => this.drainCandidates$(entry)),
          concatMap(() => createAndSetAnswer$(entry.pc)),
          concatMap(() => this.sdpToSend$(entry.pc, mode, 'answer', peer)),
          tap(() => {
            entry.negotiated = true;
          }),
        ),
      ),
      tap((answer) => this.send({ type: 'answer', to: peer, sdp: answer, caps: this.caps })),
    );
  }

  /**
   * A trickled candidate: applied when the remote description is set,
   * buffered in order until then (or until the peer connection exists).
   */
  private candidate$(peer: string, entry: PeerEntry | undefined, candidate: WireCandidate | null): Observable<unknown> {
    if (entry === undefined) {
      const buffered = this.early.get(peer);
      if (buffered === undefined) {
        // Full: the oldest buffer goes (most likely late candidates of a peer that already left).
        if (this.early.size >= MAX_EARLY_PEERS) this.early.delete(this.early.keys().next().value as string);
        this.early.set(peer, { candidates: [candidate], refused: 0 });
      } else if (buffered.candidates.length < MAX_EARLY_CANDIDATES) {
        buffered.candidates.push(candidate);
      } else {
        buffered.refused += 1;
        if (buffered.refused === 1) this.report(new CandidateBufferFullError(peer, MAX_EARLY_CANDIDATES));
      }
      return EMPTY;
    }
    if (!entry.remoteSet) {
      if (entry.pending.length < MAX_PENDING_CANDIDATES) {
        entry.pending.push(candidate);
      } else {
        // Refuse rather than evict: an honest peer's candidates come first.
        entry.refused += 1;
        if (entry.refused === 1) this.report(new CandidateBufferFullError(peer, MAX_PENDING_CANDIDATES));
        else this.log.debug('refused a candidate: buffer full', { peer, refused: entry.refused });
      }
      return EMPTY;
    }
    return this.applyCandidate$(entry, candidate);
  }

  /** The remote description is set: applies the buffered candidates in order; emits once when done. */
  private drainCandidates$(entry: PeerEntry): Observable<void> {
    return defer(() => {
      entry.remoteSet = true;
      return from(entry.pending.splice(0));
    }).pipe(
      concatMap((candidate) => this.applyCandidate$(entry, candidate)),
      endWith(undefined),
    );
  }

  /** A candidate that fails is reported; the connection may still succeed with the others. */
  private applyCandidate$(entry: PeerEntry, candidate: WireCandidate | null): Observable<never> {
    return addIceCandidate$(entry.pc, candidate).pipe(
      ignoreElements(),
      catchError((error: unknown) => {
        if (candidate !== null) this.report(new NegotiationError(entry.id, 'add candidate', error));
        return EMPTY;
      }),
    );
  }

  /**
   * Closes one peer: `userDisconnecting`, close hooks in order, then the
   * peer connection. Unregistered first, so a second close is a no-op.
   */
  private closePeer$(id: string, reason: string): Observable<never> {
    return defer(() => {
      const entry = this.registry.get(id);
      if (entry === undefined) return EMPTY;
      // Shown once as `closed`, then gone from `peers$`.
      this.setPhase(entry, 'closed');
      this.rememberClosed(entry);
      this.registry.delete(id);
      this.early.delete(id);
      this.iceRetries.delete(id);
      this.unconfirmed.delete(id);
      this.deferredCallMe.delete(id);
      for (const held of this.deferredCallMe.values()) held.delete(id);
      this.claims.delete(id);
      for (const [from, hint] of this.hints) if (hint.was === id) this.hints.delete(from);
      entry.watch.unsubscribe();
      this.log.info('user disconnecting', { id, reason });
      this.ctx.events$.next({ type: 'userDisconnecting', id });
      return runHooks(this.ctx.closeHooks, [id], (error) => this.report(new HookError('pcClose', id, error))).pipe(
        finalize(() => {
          entry.pc.close();
          this.publishPeers();
          this.ctx.events$.next({ type: 'pcClose', id });
        }),
      );
    });
  }

  // -------------------------------------------------------------------------
  // Signaling reconnects: P2P links stay; ids are re-learnt.

  /**
   * `peer` (a stable id) is now at signaling id `signalingId`. For a client
   * whose host moved, it rejoins the host's group on the server.
   */
  private rebind(peer: string, signalingId: string): void {
    if (this.routeTo(peer) === signalingId) return;
    for (const [old, stable] of this.aliases) if (stable === peer) this.aliases.delete(old);
    if (signalingId !== peer) {
      this.aliases.set(signalingId, peer);
      this.routes.set(peer, signalingId);
    } else {
      this.routes.delete(peer);
    }
    this.log.info('peer has a new signaling id', { id: peer, now: signalingId });
    if (this.ctx.role.role === 'host') this.unconfirmed.add(peer);
    if (this.ctx.role.role === 'client' && peer === this.ctx.role.hostId) this.rejoin();
  }

  private isMyHost(peer: string): boolean {
    return this.ctx.role.role === 'client' && this.ctx.role.hostId === peer;
  }

  /** `peer` goes back to being reached at its first id (a false claim is undone). */
  private forgetRoute(peer: string): void {
    for (const [old, stable] of this.aliases) if (stable === peer) this.aliases.delete(old);
    this.routes.delete(peer);
  }

  /** A client asks the server to put its current socket back in its host's group. */
  private rejoin(): void {
    if (this.ctx.role.role !== 'client') return;
    this.send({ type: 'join', to: this.ctx.role.hostId, me: this.selfId, caps: this.caps });
  }

  /** Tells every rxpeer peer this side's new signaling id, over the control channels. */
  private announceId(): void {
    const id = this.ctx.socket.id;
    if (id === undefined) return;
    for (const entry of this.registry.values()) {
      if (entry.control !== undefined) sendControl(entry.control, { t: 'id', id });
    }
  }

  /**
   * Every `connect` after the first is a reconnect with a new socket id: a
   * host claims its name again, then everyone announces the new id to its
   * peers; a client whose host's new id is known rejoins its group. A host
   * whose name was taken meanwhile cannot come back: its start fails and the
   * client stops. Other refusals are retried (twice, with backoff) while the
   * socket is up.
   */
  private reconnects$(): Observable<never> {
    const { socket, role } = this.ctx;
    return socketEvent$(socket, 'connect').pipe(
      switchMap(() => {
        this.log.info('signaling reconnected', { id: socket.id, was: this.selfId });
        if (role.role === 'client') {
          // Back in the host's group: at its known id now, and again when the host announces a new one.
          this.announceId();
          this.rejoin();
          return EMPTY;
        }
        return this.reclaimName$(role.name);
      }),
      ignoreElements(),
    );
  }

  private reclaimName$(name: string): Observable<never> {
    const { socket, scheduler, requestTimeout } = this.ctx;
    return defer(() => request$(socket, 'create host', name)).pipe(
      ackTimeout(requestTimeout, 'create host', scheduler),
      map((raw) => {
        const response = parseCreateHostResponse(raw);
        if (response?.status === Status.Conflict) throw new HostNameAlreadyExistsError(name, response.message);
        if (response?.status !== Status.Ok) {
          throw serverRejection('create host', response?.status ?? 0, response?.message ?? 'malformed response');
        }
        return response;
      }),
      retry({
        count: 2,
        delay: (error: unknown, count) => {
          if (error instanceof HostNameAlreadyExistsError || !socket.connected) return throwError(() => error);
          if (error instanceof RxpeerError) this.report(error);
          return timer(this.backoff(count - 1), scheduler);
        },
      }),
      tap(() => {
        this.log.info('host name claimed again after a reconnect', { name, id: socket.id });
        // The server forgot the group: every member must rejoin before it can be asked to offer.
        for (const member of this.registry.keys()) this.unconfirmed.add(member);
        this.announceId();
      }),
      ignoreElements(),
      catchError((error: unknown) => {
        if (!socket.connected) return EMPTY; // dropped again: the next connect claims again
        this.log.info('could not claim the host name again', { name });
        this.ctx.onStartFailed(error instanceof RxpeerError ? error : new NegotiationError(name, 'claim host name', error));
        return EMPTY;
      }),
    );
  }

  /** Reconnection delay for attempt `n` (0-based): doubling from `delay` up to `delayMax`, ±50 % jitter. */
  private backoff(attempt: number): number {
    const { delay, delayMax } = this.ctx.reconnection ?? { delay: 1000, delayMax: 5000 };
    const base = Math.min(delayMax, delay * 2 ** Math.min(attempt, 16));
    return Math.min(delayMax, Math.round(base * (0.5 + Math.random())));
  }

  /**
   * socket.io does not reconnect after the server disconnected the socket
   * ("io server disconnect": a kick, a cut-off for violations). rxpeer does,
   * with the same backoff as for other drops (the attempt count starts over
   * once a connection lasted `delayMax`); with reconnection switched off,
   * the client cannot come back, and stops with a typed error.
   */
  private serverDisconnects$(): Observable<never> {
    const { socket, scheduler, reconnection } = this.ctx;
    return defer(() => {
      let attempt = 0;
      let upSince = scheduler.now();
      const up$ = socketEvent$(socket, 'connect').pipe(
        tap(() => {
          upSince = scheduler.now();
        }),
      );
      const kicked$ = disconnect$(socket).pipe(
        filter((reason) => reason === 'io server disconnect'),
        switchMap(() => {
          if (reconnection === undefined) {
            this.ctx.onStartFailed(new SignalingDisconnectedError('io server disconnect'));
            return EMPTY;
          }
          if (scheduler.now() - upSince >= reconnection.delayMax) attempt = 0;
          const wait = this.backoff(attempt);
          attempt += 1;
          this.log.info('the server disconnected this client; reconnecting', { inMs: wait, attempt });
          return timer(wait, scheduler).pipe(
            tap(() => {
              socket.connect();
            }),
          );
        }),
      );
      return merge(up$, kicked$).pipe(ignoreElements());
    });
  }

  // -------------------------------------------------------------------------
  // Client start: done from the host AND ICE connected with it, within the start timeout.

  private clientStart$(hostId: string): Observable<never> {
    const { events$ } = this.ctx;
    const doneFromHost$ = this.received$.pipe(
      filter((r) => r.kind === 'message' && r.message.type === 'done' && r.message.from === hostId),
    );
    const iceWithHost$ = events$.pipe(
      filter((e): e is Extract<ClientEvent, { type: 'pcCreate' }> => e.type === 'pcCreate' && e.id === hostId),
      switchMap((e) => iceConnectionState$(e.pc).pipe(iceConnected())),
    );
    const hostLeft$ = merge(
      this.departed$.pipe(filter((id) => id === hostId)),
      this.received$.pipe(filter((r) => r.kind === 'message' && r.message.type === 'bye' && r.message.from === hostId)),
    ).pipe(
      take(1),
      concatMap(() => throwError(() => new HostLeftError(hostId))),
    );
    const refused$ = this.joinRefused$.pipe(
      take(1),
      concatMap((error) => throwError(() => error)),
    );
    const started$ = race(startedCondition(doneFromHost$, iceWithHost$), hostLeft$, refused$);
    // A p2pTimeout of 0 leaves the start timeout to the caller (the Unity bridge: C# owns it).
    return (this.ctx.p2pTimeout > 0 ? started$.pipe(startTimeout(this.ctx.p2pTimeout, hostId, this.ctx.scheduler)) : started$).pipe(
      tap(() => {
        this.log.info('started', { id: this.selfId, hostId });
        events$.next({ type: 'started', id: this.selfId });
      }),
      catchError((error: unknown) => {
        const failure = error instanceof RxpeerError ? error : new NegotiationError(hostId, 'start', error);
        this.log.info('start failed', { hostId, code: failure.code });
        this.ctx.onStartFailed(failure);
        return EMPTY;
      }),
      ignoreElements(),
    );
  }

  // -------------------------------------------------------------------------

  /**
   * After {@link stop}: a promise when its byes are still on their way (it
   * resolves once the server acknowledged them, at `requestTimeout`, or
   * when the socket drops), `undefined` when the socket can close now.
   * Close the socket after it: a Node Socket.IO server drops packets that
   * arrive in the same batch as the disconnect.
   */
  farewell(): Promise<void> | undefined {
    return this.byesSent;
  }

  /**
   * Sends `bye` to each peer. To a server known to acknowledge messages,
   * with acks, and returns the wait for them (bounded by `requestTimeout`
   * and by the socket dropping); otherwise fire and forget.
   */
  private sendByes(ids: readonly string[]): Promise<void> | undefined {
    if (this.messageAcks !== 'yes') {
      for (const id of ids) this.send({ type: 'bye', to: id });
      return undefined;
    }
    const acked = ids.flatMap((id) => {
      const routed = this.outgoing({ type: 'bye', to: id });
      return routed === undefined ? [] : [sendAcked$(this.ctx.socket, routed)];
    });
    if (acked.length === 0) return undefined;
    return firstValueFrom(
      merge(...acked).pipe(
        ignoreElements(),
        timeout({ first: this.ctx.requestTimeout, with: () => EMPTY, scheduler: this.ctx.scheduler }),
        takeUntil(disconnect$(this.ctx.socket)),
      ),
      { defaultValue: undefined },
    );
  }

  /** The host's `join`, sent by a client once its session runs. */
  join(): void {
    if (this.ctx.role.role !== 'client') return;
    const routed = this.outgoing({ type: 'join', to: this.ctx.role.hostId, caps: this.caps });
    if (routed === undefined) return;
    // Always with an acknowledgement: rxpeer's server says why it did not admit the join;
    // the reference server answers nothing. Refusals that waiting cannot change (the
    // token grants no such room, the group is full) fail the start at once; the others
    // (no such host yet, a rate limit) are left to the start timeout, as before.
    if (this.messageAcks === 'untested') this.messageAcks = 'testing';
    this.ctx.socket.emit('message', routed, (response: unknown) => {
      this.messageAcks = 'yes';
      const { status, message, reason } = (response ?? {}) as { status?: unknown; message?: unknown; reason?: unknown };
      if (typeof status !== 'number' || status === 200) return;
      const text = typeof message === 'string' ? message : '';
      if (reason === 'forbidden') this.joinRefused$.next(serverRejection('join', status, text));
      else if (reason === 'group-full') this.joinRefused$.next(new ServerRejectedError('join', status, text));
    });
  }

  /**
   * PROTOCOL §5 stop: `bye` to every peer, close every peer connection (close
   * hooks once each), drop every subscription. Idempotent.
   */
  stop(): Promise<void> {
    if (this.stopping !== undefined) return this.stopping;
    this.subscription.unsubscribe();
    this.early.clear();
    const ids = [...this.registry.keys()];
    this.byesSent = this.sendByes(ids);
    this.stopping = firstValueFrom(
      from(ids).pipe(
        concatMap((id) => this.closePeer$(id, 'stop')),
        finalize(() => {
          this.internal$.complete();
          this.peerGone$.complete();
          this.joinRefused$.complete();
          this.publishPeers();
        }),
      ),
      { defaultValue: undefined },
    );
    return this.stopping;
  }
}
