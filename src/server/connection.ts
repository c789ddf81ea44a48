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
import { HostPages, parseListOffset } from './hostList.js';
import { validateHostName } from './hostName.js';
import type { SignalingLimits } from './limits.js';
import type { Notifier } from './notifier.js';
import { addressKey, type Quotas } from './quotas.js';
import { TokenBucket, type Clock } from './rateLimit.js';
import { parseClientMessage, toRelayed, type ClientMessage } from './relay.js';
import { StateUnavailableError, type Departure, type SignalingState } from './state.js';
import type { MessageDropReason, RequestRejection, StatsCounter } from './stats.js';

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
  'internal-error': { status: ServerStatus.InternalError, strike: false },
  unavailable: { status: ServerStatus.ServiceUnavailable, strike: false },
};

const KNOWN_EVENTS: ReadonlySet<string> = new Set(['create host', 'list hosts', 'message']);
const UNAVAILABLE = 'The server cannot reach its shared state right now; try again shortly.';

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
  const { limits, clock, state, counters, quotas, notifier } = ctx;
  const id = socket.id;
  const address = addressKey(socket.handshake.address);
  /** Clients that announce `status` get exact statuses; others (Extreal) get every `create host` refusal as 409. */
  const exactStatus = parseClientCapabilities(socket.handshake.auth).includes('status');
  // A child logger per socket only when something is logged: it costs heap on every idle socket.
  const slog = ctx.log.level === 'silent' ? ctx.log : ctx.log.child({ socket: id });
  counters.connections += 1;
  slog.info({ address: socket.handshake.address, exactStatus }, 'connection');

  const messages = new TokenBucket(limits.messageBurst, limits.messageRate, clock);
  const creates = new TokenBucket(limits.requestBurst, limits.requestRate, clock);
  const lists = new TokenBucket(limits.listBurst, limits.listRate, clock);
  const strikes = new TokenBucket(limits.maxStrikes, limits.strikeRecoveryRate, clock);
  const maxCredit = (limits.maxGroupSize + limits.joinReplyCredit) * limits.joinBurstPerGroup;
  /** `message` tokens earned by replying to admitted joins, spent before the bucket. */
  let credit = 0;
  /** This socket holds one of its address's host slots. */
  let holdsHostSlot = false;
  /** The group this socket is counted in as one of its address's members there. */
  let memberOf: string | undefined;
  let tail: Promise<void> = Promise.resolve();
  let cut = false;

  quotas.register(id, {
    credit: (tokens) => {
      credit = Math.min(maxCredit, credit + tokens);
    },
  });

  const enqueue = (what: string, task: () => Promise<void>): void => {
    const run = tail.then(task).catch((error: unknown) => {
      slog.error({ err: describe(error), task: what }, 'handler failed');
    });
    tail = run;
    ctx.pending.add(run);
    void run.then(() => ctx.pending.delete(run));
  };

  const strike = (why: string): void => {
    if (cut || strikes.take()) return;
    cut = true;
    counters.cutOff += 1;
    slog.warn({ why }, 'cut off after repeated violations');
    socket.disconnect(true);
  };

  const drop = (
    reason: MessageDropReason,
    detail: string,
    ack: Ack<MessageAck> | undefined,
    fields: object = {},
  ): void => {
    counters.dropped[reason] += 1;
    const { status, level, strike: strikes_ } = DROPS[reason];
    slog[level]({ reason, detail, ...fields }, 'message dropped');
    if (strikes_) strike(reason);
    ack?.({ status, message: detail });
  };

  /**
   * The one wrapper of `create host` and `list hosts`: finds the ack, checks
   * the socket's bucket, runs the handler on the chain, maps backend failures
   * to 503/500, and answers every refusal in the shape of `refuse`.
   */
  const request = <T>(
    event: 'create host' | 'list hosts',
    bucket: TokenBucket,
    limited: 'rate-limited' | 'list-limited',
    refuse: (status: number, message: string, reason: RequestRejection) => T,
    handle: (args: unknown[]) => Promise<Outcome<T>>,
  ): void => {
    const on = socket.on.bind(socket) as (ev: string, listener: (...a: unknown[]) => void) => void;
    on(event, (...args: unknown[]) => {
      const ack = lastFunction(args) as Ack<T> | undefined;
      const reject = (reason: RequestRejection): void => {
        counters.rejected[reason] += 1;
        if (REFUSALS[reason].strike) strike(reason);
      };
      if (ack === undefined) {
        reject('no-ack');
        slog.debug({ event }, 'request without an ack: ignored');
        return;
      }
      const answer = (outcome: Outcome<T>): void => {
        if (outcome.ok) {
          ack(outcome.response);
          return;
        }
        reject(outcome.reason);
        const exact = REFUSALS[outcome.reason].status;
        const status = event === 'create host' && !exactStatus ? ServerStatus.Conflict : exact;
        slog.info({ event, status, reason: outcome.reason, why: outcome.message }, 'refused');
        ack(refuse(status, outcome.message, outcome.reason));
      };
      if (!bucket.take()) {
        answer(refusal(limited, 'Too many requests; slow down.'));
        return;
      }
      enqueue(event, async () => {
        let outcome: Outcome<T>;
        try {
          outcome = await handle(args);
        } catch (error) {
          if (error instanceof StateUnavailableError) {
            slog.warn({ err: error.message, event }, 'state backend unavailable');
            outcome = refusal('unavailable', UNAVAILABLE);
          } else {
            slog.error({ err: describe(error), event }, 'state backend failed');
            outcome = refusal(
              'internal-error',
              `The server could not serve "${event}"; try again.`,
            );
          }
        }
        answer(outcome);
      });
    });
  };

  const createHost = async (args: unknown[]): Promise<Outcome<CreateHostResponse>> => {
    const valid = validateHostName(args.length > 1 ? args[0] : undefined, limits.maxHostNameLength);
    if (!valid.ok) return refusal('bad-name', valid.message);
    const needsSlot = !holdsHostSlot;
    if (needsSlot && !quotas.reserveHost(address)) {
      return refusal(
        'address-quota',
        `Your address already holds ${limits.maxHostsPerAddress} hosts; close one first.`,
      );
    }
    let claim;
    try {
      claim = await state.claimHost(id, valid.name, valid.key);
    } finally {
      const holds = claim?.kind === 'claimed' || claim?.kind === 'already-yours';
      if (needsSlot && holds) holdsHostSlot = true;
      else if (needsSlot) quotas.releaseHost(address);
    }
    const name = claim.name;
    slog.info({ name, result: claim.kind }, 'create host');
    switch (claim.kind) {
      case 'claimed':
        counters.hostsCreated += 1;
        return {
          ok: true,
          response: { status: Status.Ok, message: `Host has been created. host: ${name}` },
        };
      case 'already-yours':
        counters.hostsCreated += 1;
        return {
          ok: true,
          response: {
            status: Status.Ok,
            message: `Host has already been created by this socket. host: ${name}`,
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
  };

  const listHosts = async (args: unknown[]): Promise<Outcome<ListHostsResponse>> => {
    const offset = parseListOffset(args);
    const page = ctx.pages.page(await state.listHosts(), offset);
    if (!quotas.listBytes.take(address, Math.min(page.bytes, limits.listBytesPerAddressBurst))) {
      return refusal('list-limited', 'Too many host lists for your address; slow down.');
    }
    counters.hostsListed += 1;
    slog.debug({ hosts: page.hosts.length, total: page.total }, 'list hosts');
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
  };

  request<CreateHostResponse>(
    'create host',
    creates,
    'rate-limited',
    (status, message, reason) => ({ status, message, reason }),
    createHost,
  );
  request<ListHostsResponse>(
    'list hosts',
    lists,
    'list-limited',
    (status, message, reason) => ({ status, hosts: [], message, reason }),
    listHosts,
  );

  const relay = (message: ClientMessage, ack: Ack<MessageAck> | undefined): void => {
    notifier.deliver(message.to, toRelayed(message, id));
    slog.debug({ type: message.type, to: message.to }, 'message relayed');
    ack?.({ status: ServerStatus.Ok, message: 'Relayed.' });
  };

  const join = async (message: ClientMessage, ack: Ack<MessageAck> | undefined): Promise<void> => {
    const fields = { type: message.type, to: message.to };
    if (!quotas.joinsByAddress.take(address)) {
      drop('join-limited', 'Too many joins from your address; try again shortly.', ack, fields);
      return;
    }
    if (!quotas.joinsByGroup.take(message.to)) {
      drop('join-limited', 'Too many joins into this group; try again shortly.', ack, fields);
      return;
    }
    const counted = memberOf === message.to;
    if (!counted && !quotas.reserveMember(message.to, address)) {
      drop(
        'join-limited',
        `Your address already has ${limits.maxGroupMembersPerAddress} members in this group.`,
        ack,
        fields,
      );
      return;
    }
    let joined;
    try {
      joined = await state.joinGroup(id, message.to, limits.maxGroupSize);
    } finally {
      if (!counted) {
        if (joined?.kind === 'joined' || joined?.kind === 'already-member') {
          if (memberOf !== undefined) quotas.releaseMember(memberOf, address);
          memberOf = message.to;
        } else quotas.releaseMember(message.to, address);
      }
    }
    switch (joined.kind) {
      case 'joined':
        if (joined.left !== undefined) notifier.notifyLeave(joined.left.remaining, id);
        slog.info({ host: message.to }, 'joined group');
        // The host answers with an offer and a `call me` per member: that is not abuse.
        quotas.peer(message.to)?.credit(limits.maxGroupSize + limits.joinReplyCredit);
        relay(message, ack);
        return;
      case 'already-member':
        relay(message, ack);
        return;
      case 'not-a-host':
        drop('join-refused', 'The recipient of "join" is not a host.', ack, fields);
        return;
      case 'is-host':
        drop('join-refused', 'A socket that hosts cannot join another group.', ack, fields);
        return;
      case 'full':
        drop('group-full', `The group is full (${limits.maxGroupSize} sockets).`, ack, fields);
        return;
      default: {
        const unreachable: never = joined;
        throw new Error(`unknown join result ${JSON.stringify(unreachable)}`);
      }
    }
  };

  const route = async (message: ClientMessage, ack: Ack<MessageAck> | undefined): Promise<void> => {
    if (message.to === id) {
      drop('self', 'A socket cannot message itself.', ack, { type: message.type });
      return;
    }
    if (message.type === 'join') {
      await join(message, ack);
      return;
    }
    const [mine, theirs] = await Promise.all([state.groupOf(id), state.groupOf(message.to)]);
    const fields = { type: message.type, to: message.to };
    if (mine === undefined || mine !== theirs) {
      drop('not-in-group', 'The recipient is not in your group.', ack, fields);
      return;
    }
    // Many sockets of one address cannot bury one recipient (fuzz finding F2).
    if (!quotas.inbound.take(`${message.to}\n${address}`)) {
      drop(
        'target-busy',
        'The recipient gets too many messages from your address; slow down.',
        ack,
        fields,
      );
      return;
    }
    relay(message, ack);
  };

  socket.on('message', (...args: unknown[]) => {
    const ack =
      args.length > 1 || typeof args[0] === 'function'
        ? (lastFunction(args) as Ack<MessageAck> | undefined)
        : undefined;
    if (credit >= 1) credit -= 1;
    else if (!messages.take() || !quotas.messagesByAddress.take(address)) {
      drop('rate-limited', 'Too many messages; slow down.', ack);
      return;
    }
    const raw = typeof args[0] === 'function' ? undefined : args[0];
    const parsed = parseClientMessage(raw, limits);
    if (!parsed.ok) {
      drop(parsed.reason, parsed.detail, ack);
      return;
    }
    enqueue('message', async () => {
      try {
        await route(parsed.message, ack);
      } catch (error) {
        const fields = { type: parsed.message.type, to: parsed.message.to };
        if (error instanceof StateUnavailableError) {
          drop('unavailable', `${UNAVAILABLE} The message was not relayed.`, ack, {
            ...fields,
            err: error.message,
          });
          return;
        }
        drop('internal-error', 'The server could not route the message.', ack, {
          ...fields,
          err: describe(error),
        });
      }
    });
  });

  socket.onAny((event: unknown) => {
    if (typeof event === 'string' && KNOWN_EVENTS.has(event)) return;
    counters.unknownEvents += 1;
    slog.debug(
      { event: typeof event === 'string' ? event.slice(0, 64) : typeof event },
      'unknown event ignored',
    );
    if (!messages.take()) strike('rate-limited');
  });

  // A client can send an event named "error" with any payload (or none): read nothing from it.
  socket.on('error', (error: unknown) => slog.warn({ err: describe(error) }, 'socket error'));

  socket.on('disconnect', (reason: string) => {
    slog.info({ reason }, 'disconnect');
    quotas.unregister(id);
    if (holdsHostSlot) {
      holdsHostSlot = false;
      quotas.releaseHost(address);
    }
    if (memberOf !== undefined) {
      quotas.releaseMember(memberOf, address);
      memberOf = undefined;
    }
    enqueue('disconnect', async () => {
      let departure: Departure;
      try {
        departure = await state.removeSocket(id);
      } catch (error) {
        if (!(error instanceof StateUnavailableError)) throw error;
        // The backend removes it when it re-syncs, and reports the departure then.
        slog.warn(
          { err: error.message },
          'disconnect: state backend unavailable; removal deferred',
        );
        return;
      }
      if (departure.kind === 'host') quotas.joinsByGroup.delete(id);
      notifier.announce(id, departure, slog);
    });
  });
}
