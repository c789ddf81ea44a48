/**
 * The per-connection handler: what one socket may ask and how it is
 * answered (PROTOCOL.md §2–4, docs/limits.md).
 *
 * Per socket, events are handled strictly in the order they arrive (a
 * promise chain per socket), so a backend whose operations are asynchronous
 * (Redis) keeps `bye` before the disconnect clean-up, `join` before the
 * `offer` that follows it, and so on. Cheap checks (rate limits, the shape of
 * the arguments) run at once; everything that reads or writes the state runs
 * on the chain. Requests go through one wrapper ({@link ConnectionHandler}'s
 * `request`), refusals and drops through two tables.
 */

import type { Logger as PinoLogger } from 'pino';
import type { Socket } from 'socket.io';
import { describe } from '../errors.js';
import {
  Status,
  parseClientCapabilities,
  type ClientToServerEvents,
  type CreateHostResponse,
  type ListHostsResponse,
  type ServerToClientEvents,
} from '../protocol/wire.js';
import type { Policy } from './auth.js';
import { parseListOffset, type HostPages } from './hostList.js';
import { validateHostName } from './hostName.js';
import type { SignalingLimits } from './limits.js';
import type { MetricsHooks } from './metrics.js';
import type { Notifier } from './notifier.js';
import { addressKey, type LocalPeer, type Quotas } from './quotas.js';
import { TokenBucket, type Clock } from './rateLimit.js';
import { parseClientMessage, toRelayed, type ClientMessage } from './relay.js';
import {
  StateUnavailableError,
  type ClaimResult,
  type Departure,
  type JoinResult,
  type SignalingState,
} from './state.js';
import type { MessageDropReason, RequestRejection, StatsCounter } from './stats.js';
import { TURN_EVENT } from './turnCredentials.js';

/** Statuses used in acknowledgements, beyond the protocol's 200/400/409/429. */
export const ServerStatus = {
  ...Status,
  Forbidden: 403,
  PayloadTooLarge: 413,
  InternalError: 500,
  /** The shared state (Redis) is unreachable; try again. */
  ServiceUnavailable: 503,
} as const;

/**
 * The acknowledgement of a `message` sent with an ack function (an rxpeer
 * extension; Extreal clients send none and get none): 200 when relayed,
 * otherwise why it was dropped.
 */
export interface MessageAck {
  status: number;
  message: string;
  /** Why it was not relayed (a {@link MessageDropReason}); absent when relayed. */
  reason?: MessageDropReason;
}

/** What every connection of one server shares. */
export interface ConnectionContext {
  readonly limits: Readonly<SignalingLimits>;
  readonly clock: Clock;
  readonly log: PinoLogger;
  readonly state: SignalingState;
  readonly counters: StatsCounter;
  /** Every task still running on a socket's chain, so `close()` can wait for them. */
  readonly pending: Set<Promise<void>>;
  readonly notifier: Notifier;
  readonly quotas: Quotas;
  readonly pages: HostPages;
  /**
   * The client address per-address limits count a socket under (before
   * {@link addressKey}); default: the handshake's TCP peer. Behind a trusted
   * proxy, the address the proxy saw.
   */
  readonly addressOf?: (socket: ServerSocket) => string | undefined;
  /** Who may create and join what (src/server/auth.ts); `OPEN_POLICY` without tokens. */
  readonly policy: Policy;
  /** Metrics hooks (src/server/metrics.ts); `NO_METRICS` when off. */
  readonly metrics: MetricsHooks;
}

type ServerSocket = Socket<ClientToServerEvents, ServerToClientEvents>;
type Ack<T> = (response: T) => void;
type Level = 'debug' | 'warn' | 'error';

/** Why a `message` is dropped: its status, how loud, and whether it counts as a violation. */
export const DROPS: Readonly<
  Record<MessageDropReason, { status: number; level: Level; strike: boolean }>
> = {
  malformed: { status: ServerStatus.BadRequest, level: 'warn', strike: true },
  'rate-limited': { status: ServerStatus.TooManyRequests, level: 'debug', strike: true },
  'sdp-too-large': { status: ServerStatus.PayloadTooLarge, level: 'warn', strike: false },
  self: { status: ServerStatus.BadRequest, level: 'debug', strike: false },
  'not-in-group': { status: ServerStatus.Forbidden, level: 'debug', strike: false },
  'join-refused': { status: ServerStatus.Forbidden, level: 'debug', strike: false },
  'join-limited': { status: ServerStatus.TooManyRequests, level: 'debug', strike: false },
  'group-full': { status: ServerStatus.Forbidden, level: 'debug', strike: false },
  'target-busy': { status: ServerStatus.TooManyRequests, level: 'debug', strike: false },
  forbidden: { status: ServerStatus.Forbidden, level: 'debug', strike: false },
  'internal-error': { status: ServerStatus.InternalError, level: 'error', strike: false },
  unavailable: { status: ServerStatus.ServiceUnavailable, level: 'warn', strike: false },
};

/** Why a request is refused: its exact status, and whether it counts as a violation. */
export const REFUSALS: Readonly<Record<RequestRejection, { status: number; strike: boolean }>> = {
  'no-ack': { status: 0, strike: true },
  'bad-name': { status: ServerStatus.BadRequest, strike: false },
  'wrong-role': { status: ServerStatus.BadRequest, strike: false },
  'name-taken': { status: ServerStatus.Conflict, strike: false },
  'rate-limited': { status: ServerStatus.TooManyRequests, strike: true },
  'list-limited': { status: ServerStatus.TooManyRequests, strike: false },
  'address-quota': { status: ServerStatus.Forbidden, strike: false },
  forbidden: { status: ServerStatus.Forbidden, strike: false },
  'internal-error': { status: ServerStatus.InternalError, strike: false },
  unavailable: { status: ServerStatus.ServiceUnavailable, strike: false },
};

const KNOWN_EVENTS: ReadonlySet<string> = new Set([
  'create host',
  'list hosts',
  'message',
  TURN_EVENT,
]);
const UNAVAILABLE = 'The server cannot reach its shared state right now; try again shortly.';

type RequestEvent = 'create host' | 'list hosts';
type Refusal = { ok: false; reason: Exclude<RequestRejection, 'no-ack'>; message: string };
type Outcome<T> = { ok: true; response: T } | Refusal;
const refusal = (reason: Refusal['reason'], message: string): Refusal => ({
  ok: false,
  reason,
  message,
});

const lastFunction = (args: readonly unknown[]): ((...response: unknown[]) => void) | undefined => {
  const last = args[args.length - 1];
  return typeof last === 'function' ? (last as (...response: unknown[]) => void) : undefined;
};

/** Wires one socket's events. Called from `io.on('connection')`. */
export function handleConnection(socket: ServerSocket, ctx: ConnectionContext): void {
  new Connection(socket, ctx).attach();
}

/** One socket: its budgets, its place in the quotas, its chain of tasks. */
class Connection implements LocalPeer {
  private readonly id: string;
  private readonly address: string;
  /** Clients that announce `status` get exact statuses; others (Extreal) get every `create host` refusal as 409. */
  private readonly exactStatus: boolean;
  private readonly log: PinoLogger;
  private readonly messages: TokenBucket;
  /** Made on first use: most sockets never create a host or break a rule. */
  private creates: TokenBucket | undefined;
  private lists: TokenBucket | undefined;
  private strikes: TokenBucket | undefined;
  /** `message` tokens earned by replying to admitted joins, spent before the buckets. */
  private earned = 0;
  /** This socket holds one of its address's host slots. */
  private holdsHostSlot = false;
  /** The group this socket is counted in as one of its address's members there. */
  private memberOf: string | undefined;
  private tail: Promise<void> = Promise.resolve();
  private cut = false;

  constructor(
    private readonly socket: ServerSocket,
    private readonly ctx: ConnectionContext,
  ) {
    const { limits, clock } = ctx;
    this.id = socket.id;
    this.address = addressKey(ctx.addressOf?.(socket) ?? socket.handshake.address);
    this.exactStatus = parseClientCapabilities(socket.handshake.auth).includes('status');
    // A child logger per socket only when something is logged: it costs heap on every idle socket.
    this.log = ctx.log.level === 'silent' ? ctx.log : ctx.log.child({ socket: this.id });
    this.messages = new TokenBucket(limits.messageBurst, limits.messageRate, clock);
  }

  attach(): void {
    const { socket, ctx } = this;
    ctx.counters.connections += 1;
    this.log.info(
      { address: socket.handshake.address, exactStatus: this.exactStatus },
      'connection',
    );
    ctx.quotas.register(this.id, this);
    socket.on('create host', (...args: unknown[]) => this.onRequest('create host', args));
    socket.on('list hosts', (...args: unknown[]) => this.onRequest('list hosts', args));
    socket.on('message', (...args: unknown[]) => this.onMessage(args));
    socket.onAny((event: unknown) => this.onAny(event));
    // A client can send an event named "error" with any payload (or none): read nothing from it.
    socket.on('error', (error: unknown) => this.log.warn({ err: describe(error) }, 'socket error'));
    socket.on('disconnect', (reason: string) => this.onDisconnect(reason));
  }

  // ---------------------------------------------------------------------------
  // Plumbing: the chain, strikes, drops, the request wrapper.

  private enqueue(what: string, task: () => Promise<void>): void {
    const run = this.tail.then(task).catch((error: unknown) => {
      this.log.error({ err: describe(error), task: what }, 'handler failed');
    });
    this.tail = run;
    this.ctx.pending.add(run);
    void run.then(() => this.ctx.pending.delete(run));
  }

  private strike(why: string): void {
    const { limits, clock } = this.ctx;
    this.ctx.metrics.strike();
    this.strikes ??= new TokenBucket(limits.maxStrikes, limits.strikeRecoveryRate, clock);
    if (this.cut || this.strikes.take()) return;
    this.cut = true;
    this.ctx.counters.cutOff += 1;
    this.log.warn({ why }, 'cut off after repeated violations');
    this.socket.disconnect(true);
  }

  private drop(
    reason: MessageDropReason,
    detail: string,
    ack: Ack<MessageAck> | undefined,
    fields: object = {},
  ): void {
    this.ctx.counters.dropped[reason] += 1;
    const { status, level, strike } = DROPS[reason];
    this.log[level]({ reason, detail, ...fields }, 'message dropped');
    if (strike) this.strike(reason);
    ack?.({ status, message: detail, reason });
  }

  private reject(reason: RequestRejection): void {
    this.ctx.counters.rejected[reason] += 1;
    if (REFUSALS[reason].strike) this.strike(reason);
  }

  /** Gives `tokens` `message` tokens beyond its buckets (it hosts a group and a join was admitted). */
  credit(tokens: number): void {
    const { limits } = this.ctx;
    const max = (limits.maxGroupSize + limits.joinReplyCredit) * limits.joinBurstPerGroup;
    this.earned = Math.min(max, this.earned + tokens);
  }

  /**
   * The one wrapper of `create host` and `list hosts`: finds the ack, checks
   * the socket's bucket, runs the handler on the chain, maps backend failures
   * to 503/500 ({@link guard}), and answers ({@link answer}).
   */
  private onRequest(event: RequestEvent, args: unknown[]): void {
    const ack = this.ctx.metrics.timed(event, lastFunction(args));
    if (ack === undefined) {
      this.reject('no-ack');
      this.log.debug({ event }, 'request without an ack: ignored');
      return;
    }
    const { limits, clock } = this.ctx;
    const bucket =
      event === 'create host'
        ? (this.creates ??= new TokenBucket(limits.requestBurst, limits.requestRate, clock))
        : (this.lists ??= new TokenBucket(limits.listBurst, limits.listRate, clock));
    if (!bucket.take()) {
      const limited = event === 'create host' ? 'rate-limited' : 'list-limited';
      this.answer(event, ack, refusal(limited, 'Too many requests; slow down.'));
      return;
    }
    this.enqueue(event, async () => {
      const outcome = await this.guard<CreateHostResponse | ListHostsResponse>(event, () =>
        event === 'create host' ? this.createHost(args) : this.listHosts(args),
      );
      this.answer(event, ack, outcome);
    });
  }

  /** Acknowledges a request; a refusal of `create host` is 409 for a client without `status`. */
  private answer(
    event: RequestEvent,
    ack: (response: unknown) => void,
    outcome: Outcome<CreateHostResponse | ListHostsResponse>,
  ): void {
    if (outcome.ok) {
      ack(outcome.response);
      return;
    }
    const { reason, message } = outcome;
    this.reject(reason);
    const exact = REFUSALS[reason].status;
    const status = event === 'create host' && !this.exactStatus ? ServerStatus.Conflict : exact;
    this.log.info({ event, status, reason, why: message }, 'refused');
    ack(
      event === 'create host'
        ? { status, message, reason }
        : { status, hosts: [], message, reason },
    );
  }

  /** Runs a request handler; a failing backend becomes a 503 or 500 refusal. */
  private async guard<T>(event: string, handle: () => Promise<Outcome<T>>): Promise<Outcome<T>> {
    try {
      return await handle();
    } catch (error) {
      if (error instanceof StateUnavailableError) {
        this.log.warn({ err: error.message, event }, 'state backend unavailable');
        return refusal('unavailable', UNAVAILABLE);
      }
      this.log.error({ err: describe(error), event }, 'state backend failed');
      return refusal('internal-error', `The server could not serve "${event}"; try again.`);
    }
  }

  // ---------------------------------------------------------------------------
  // Requests.

  private async createHost(args: unknown[]): Promise<Outcome<CreateHostResponse>> {
    const { limits, quotas, state, counters } = this.ctx;
    const valid = validateHostName(args.length > 1 ? args[0] : undefined, limits.maxHostNameLength);
    if (!valid.ok) return refusal('bad-name', valid.message);
    const granted = this.ctx.policy.canHost(this.socket, valid.name);
    if (!granted.ok) return refusal('forbidden', granted.message);
    const needsSlot = !this.holdsHostSlot;
    if (needsSlot && !quotas.reserveHost(this.address)) {
      return refusal(
        'address-quota',
        `Your address already holds ${limits.maxHostsPerAddress} hosts; close one first.`,
      );
    }
    let claim: ClaimResult | undefined;
    try {
      claim = await state.claimHost(this.id, valid.name, valid.key);
    } finally {
      const holds = claim?.kind === 'claimed' || claim?.kind === 'already-yours';
      if (needsSlot && holds) this.holdsHostSlot = true;
      else if (needsSlot) quotas.releaseHost(this.address);
    }
    const name = claim.name;
    this.log.info({ name, result: claim.kind }, 'create host');
    switch (claim.kind) {
      case 'claimed':
      case 'already-yours':
        counters.hostsCreated += 1;
        return {
          ok: true,
          response: {
            status: Status.Ok,
            message:
              claim.kind === 'claimed'
                ? `Host has been created. host: ${name}`
                : `Host has already been created by this socket. host: ${name}`,
          },
        };
      case 'taken':
        return refusal('name-taken', `Host already exists. host: ${name}`);
      case 'hosting-other':
        return refusal(
          'wrong-role',
          `This socket already hosts "${claim.current}"; one host per socket.`,
        );
      case 'member':
        return refusal(
          'wrong-role',
          'This socket has joined a group; a socket either hosts or joins.',
        );
      default: {
        const unreachable: never = claim;
        throw new Error(`unknown claim result ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private async listHosts(args: unknown[]): Promise<Outcome<ListHostsResponse>> {
    const { limits, quotas, state, counters, pages } = this.ctx;
    const offset = parseListOffset(args);
    const page = pages.page(await state.listHosts(), offset);
    const cost = Math.min(page.bytes, limits.listBytesPerAddressBurst);
    if (!quotas.listBytes.take(this.address, cost)) {
      return refusal('list-limited', 'Too many host lists for your address; slow down.');
    }
    counters.hostsListed += 1;
    this.log.debug({ hosts: page.hosts.length, total: page.total }, 'list hosts');
    const paged = offset > 0 || page.total > page.hosts.length;
    return {
      ok: true,
      response: {
        status: Status.Ok,
        hosts: page.hosts,
        ...(paged ? { total: page.total } : {}),
        ...(page.next === undefined ? {} : { next: page.next }),
      },
    };
  }

  // ---------------------------------------------------------------------------
  // Messages.

  private onMessage(args: unknown[]): void {
    const ack =
      args.length > 1 || typeof args[0] === 'function'
        ? (lastFunction(args) as Ack<MessageAck> | undefined)
        : undefined;
    if (this.earned >= 1) this.earned -= 1;
    else if (!this.messages.take() || !this.ctx.quotas.messagesByAddress.take(this.address)) {
      this.drop('rate-limited', 'Too many messages; slow down.', ack);
      return;
    }
    const raw = typeof args[0] === 'function' ? undefined : args[0];
    const parsed = parseClientMessage(raw, this.ctx.limits);
    if (!parsed.ok) {
      this.drop(parsed.reason, parsed.detail, ack);
      return;
    }
    const message = parsed.message;
    this.enqueue('message', async () => {
      try {
        await this.route(message, ack);
      } catch (error) {
        const fields = { type: message.type, to: message.to };
        if (error instanceof StateUnavailableError) {
          this.drop('unavailable', `${UNAVAILABLE} The message was not relayed.`, ack, {
            ...fields,
            err: error.message,
          });
          return;
        }
        this.drop('internal-error', 'The server could not route the message.', ack, {
          ...fields,
          err: describe(error),
        });
      }
    });
  }

  private async route(message: ClientMessage, ack: Ack<MessageAck> | undefined): Promise<void> {
    if (message.to === this.id) {
      this.drop('self', 'A socket cannot message itself.', ack, { type: message.type });
      return;
    }
    if (message.type === 'join') {
      await this.join(message, ack);
      return;
    }
    const { state, quotas } = this.ctx;
    const [mine, theirs] = await Promise.all([state.groupOf(this.id), state.groupOf(message.to)]);
    const fields = { type: message.type, to: message.to };
    if (mine === undefined || mine !== theirs) {
      this.drop('not-in-group', 'The recipient is not in your group.', ack, fields);
      return;
    }
    // Many sockets of one address cannot bury one recipient (fuzz finding F2).
    if (!quotas.inbound.take(message.to, this.address)) {
      const why = 'The recipient gets too many messages from your address; slow down.';
      this.drop('target-busy', why, ack, fields);
      return;
    }
    this.relay(message, ack);
  }

  private relay(message: ClientMessage, ack: Ack<MessageAck> | undefined): void {
    this.ctx.notifier.deliver(message.to, toRelayed(message, this.id));
    this.ctx.metrics.relayed(message.type, this.id, message.to);
    this.log.debug({ type: message.type, to: message.to }, 'message relayed');
    ack?.({ status: ServerStatus.Ok, message: 'Relayed.' });
  }

  /** Admission (per address, per group, members per address), the group cap, then the relay. */
  private async join(message: ClientMessage, ack: Ack<MessageAck> | undefined): Promise<void> {
    const { limits, quotas } = this.ctx;
    const fields = { type: message.type, to: message.to };
    const granted = await this.ctx.policy.canJoin(this.socket, message.to);
    if (!granted.ok) {
      this.drop('forbidden', granted.message, ack, fields);
      return;
    }
    const refused = this.admit(message.to);
    if (refused !== undefined) {
      this.drop('join-limited', refused, ack, fields);
      return;
    }
    const joined = await this.enterGroup(message.to);
    switch (joined.kind) {
      case 'joined':
        if (joined.left !== undefined)
          this.ctx.notifier.notifyLeave(joined.left.remaining, this.id);
        this.log.info({ host: message.to }, 'joined group');
        // The host answers with an offer and a `call me` per member: that is not abuse.
        quotas.peer(message.to)?.credit(limits.maxGroupSize + limits.joinReplyCredit);
        this.relay(message, ack);
        return;
      case 'already-member':
        this.relay(message, ack);
        return;
      case 'not-a-host':
        this.drop('join-refused', 'The recipient of "join" is not a host.', ack, fields);
        return;
      case 'is-host':
        this.drop('join-refused', 'A socket that hosts cannot join another group.', ack, fields);
        return;
      case 'full':
        this.drop('group-full', `The group is full (${limits.maxGroupSize} sockets).`, ack, fields);
        return;
      default: {
        const unreachable: never = joined;
        throw new Error(`unknown join result ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** Why a join into `group` is not admitted now, or `undefined` when it is. */
  private admit(group: string): string | undefined {
    const { limits, quotas } = this.ctx;
    if (!quotas.joinsByAddress.take(this.address))
      return 'Too many joins from your address; try again shortly.';
    if (!quotas.joinsByGroup.take(group))
      return 'Too many joins into this group; try again shortly.';
    if (this.memberOf !== group && !quotas.reserveMember(group, this.address))
      return `Your address already has ${limits.maxGroupMembersPerAddress} members in this group.`;
    return undefined;
  }

  /** Joins `group` in the state; moves this socket's member count with it. */
  private async enterGroup(group: string): Promise<JoinResult> {
    const { limits, quotas, state } = this.ctx;
    const counted = this.memberOf === group;
    let joined: JoinResult | undefined;
    try {
      joined = await state.joinGroup(this.id, group, limits.maxGroupSize);
      return joined;
    } finally {
      if (!counted) {
        if (joined?.kind === 'joined' || joined?.kind === 'already-member') {
          if (this.memberOf !== undefined) quotas.releaseMember(this.memberOf, this.address);
          this.memberOf = group;
        } else quotas.releaseMember(group, this.address);
      }
    }
  }

  private onAny(event: unknown): void {
    if (typeof event === 'string' && KNOWN_EVENTS.has(event)) return;
    this.ctx.counters.unknownEvents += 1;
    this.log.debug(
      { event: typeof event === 'string' ? event.slice(0, 64) : typeof event },
      'unknown event ignored',
    );
    if (!this.messages.take()) this.strike('rate-limited');
  }

  private onDisconnect(reason: string): void {
    const { quotas, state, notifier } = this.ctx;
    this.log.info({ reason }, 'disconnect');
    quotas.unregister(this.id);
    this.enqueue('disconnect', async () => {
      // On the chain: a claim or join still running has settled the slots by now.
      this.releaseQuotas();
      let departure: Departure;
      try {
        departure = await state.removeSocket(this.id);
      } catch (error) {
        if (!(error instanceof StateUnavailableError)) throw error;
        // The backend removes it when it re-syncs, and reports the departure then.
        this.log.warn(
          { err: error.message },
          'disconnect: state backend unavailable; removal deferred',
        );
        return;
      }
      if (departure.kind === 'host') quotas.joinsByGroup.delete(this.id);
      notifier.announce(this.id, departure, this.log);
    });
  }

  private releaseQuotas(): void {
    const { quotas } = this.ctx;
    if (this.holdsHostSlot) {
      this.holdsHostSlot = false;
      quotas.releaseHost(this.address);
    }
    if (this.memberOf !== undefined) {
      quotas.releaseMember(this.memberOf, this.address);
      this.memberOf = undefined;
    }
  }
}
