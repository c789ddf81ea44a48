/** Counters the server keeps; `server.stats()` returns a snapshot. */

/** Why a `message` was not relayed. */
export type MessageDropReason =
  /** Not an object, bad field types, forbidden keys, `to` not a non-empty string … */
  | 'malformed'
  /** `sdp` over `maxSdpBytes`. */
  | 'sdp-too-large'
  /** The socket's `message` bucket, or its address's, was empty. */
  | 'rate-limited'
  /** `to` is the sender's own id. */
  | 'self'
  /** `to` is not in the sender's group: a stranger, a stale or unknown id, a host name … */
  | 'not-in-group'
  /** `join` to something that is not a host, or from a socket that hosts. */
  | 'join-refused'
  /** `join` over the admission limit of its group or of the sender's address. */
  | 'join-limited'
  /** `join` into a group that already holds `maxGroupSize` sockets. */
  | 'group-full'
  /** The recipient already got `inboundBurstPerAddress` messages from the sender's address (per-target bound). */
  | 'target-busy'
  /** 403: `join` not granted by the sender's token, or its token expired (src/server/auth.ts). */
  | 'forbidden'
  /** The state backend failed while routing the message. */
  | 'internal-error'
  /** The shared state (Redis) was unreachable, and the two sockets are not both on this node. */
  | 'unavailable';

export const MESSAGE_DROP_REASONS: readonly MessageDropReason[] = [
  'malformed',
  'sdp-too-large',
  'rate-limited',
  'self',
  'not-in-group',
  'join-refused',
  'join-limited',
  'group-full',
  'target-busy',
  'forbidden',
  'internal-error',
  'unavailable',
];

/** Why a `create host` or `list hosts` request was not served with 200. */
export type RequestRejection =
  /** No acknowledgement function: the request is ignored. */
  | 'no-ack'
  /** 400: the name breaks the host-name rule. */
  | 'bad-name'
  /** 400: the socket already hosts another name, or is a member of a group. */
  | 'wrong-role'
  /** 409: another socket hosts the name. */
  | 'name-taken'
  /** 403 (409 to clients that do not announce exact statuses): not granted by the token, or it expired. */
  | 'forbidden'
  /** 429: the socket's `create host` bucket was empty (a strike). */
  | 'rate-limited'
  /** 429: `list hosts` over the socket's list bucket or its address's byte budget (never a strike). */
  | 'list-limited'
  /** 403: the sender's address already holds `maxHostsPerAddress` hosts. */
  | 'address-quota'
  /** 500: the state backend failed. */
  | 'internal-error'
  /** 503: the shared state (Redis) was unreachable. */
  | 'unavailable';

export const REQUEST_REJECTIONS: readonly RequestRejection[] = [
  'no-ack',
  'bad-name',
  'wrong-role',
  'name-taken',
  'forbidden',
  'rate-limited',
  'list-limited',
  'address-quota',
  'internal-error',
  'unavailable',
];

export interface SignalingStats {
  /** Sockets connected now (this node). */
  sockets: number;
  /** Sockets that connected since start. */
  connections: number;
  /** Messages relayed (one per delivery; a message goes to one socket). */
  relayed: number;
  /** Messages dropped, by reason. */
  dropped: Record<MessageDropReason, number>;
  /** `create host` requests answered 200. */
  hostsCreated: number;
  /** `list hosts` requests answered 200. */
  hostsListed: number;
  /** Requests not served with 200, by reason. */
  rejected: Record<RequestRejection, number>;
  /** Events with a name outside the protocol. */
  unknownEvents: number;
  /** `user disconnected` deliveries (one per receiving socket). */
  userDisconnectedSent: number;
  /** Sockets disconnected for repeated violations. */
  cutOff: number;
}

const zeroed = <K extends string>(keys: readonly K[]): Record<K, number> =>
  Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;

/** Mutable counters behind `stats()` (not exported from the package entry). */
export class StatsCounter {
  connections = 0;
  relayed = 0;
  readonly dropped = zeroed(MESSAGE_DROP_REASONS);
  hostsCreated = 0;
  hostsListed = 0;
  readonly rejected = zeroed(REQUEST_REJECTIONS);
  unknownEvents = 0;
  userDisconnectedSent = 0;
  cutOff = 0;

  snapshot(sockets: number): SignalingStats {
    return {
      sockets,
      connections: this.connections,
      relayed: this.relayed,
      dropped: { ...this.dropped },
      hostsCreated: this.hostsCreated,
      hostsListed: this.hostsListed,
      rejected: { ...this.rejected },
      unknownEvents: this.unknownEvents,
      userDisconnectedSent: this.userDisconnectedSent,
      cutOff: this.cutOff,
    };
  }
}
