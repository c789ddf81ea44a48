/**
 * Admission by token (issue 18): a real server with `auth`, real
 * socket.io-client sockets and PeerClients on loopback, tokens signed with
 * jose. Expiry runs on an injected clock, so no test waits for time to pass.
 */
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { io } from 'socket.io-client';
import { PeerClient } from '../../src/client/PeerClient';
import { AuthFailedError, ForbiddenError, RxpeerError } from '../../src/errors';
import { connected$ } from '../../src/streams/signaling';
import { firstValueFrom } from 'rxjs';
import { next } from '../helpers/clientHarness';
import { createPeerConnection } from '../helpers/engine';
import { ACK_TIMEOUT_MS, Harness, type ClientSocket } from './helpers';

const SECRET = 'a-shared-secret-of-the-operator-0123456789';
const key = new TextEncoder().encode(SECRET);
const NOW = Date.UTC(2030, 0, 1);

interface Claims {
  sub?: string;
  rxpeer?: { host?: string[] | string; join?: string[] | string };
}

async function token(claims: Claims, expiresAt = NOW / 1000 + 3600, secret = key): Promise<string> {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(NOW / 1000)
    .setExpirationTime(expiresAt)
    .sign(secret);
}

const emit = <T>(socket: ClientSocket, event: string, ...args: unknown[]): Promise<T> =>
  socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, ...args) as Promise<T>;

/** The connect error of a socket the server refuses. */
function refusal(
  url: string,
  options: Record<string, unknown>,
): Promise<Error & { data?: unknown }> {
  const socket = io(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...options,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      socket.disconnect();
      reject(new Error('the server admitted the socket'));
    });
    socket.once('connect_error', (error: Error) => {
      socket.disconnect();
      resolve(error);
    });
  });
}

describe('admission by token', () => {
  let harness: Harness;
  let now = NOW;
  const clients: PeerClient[] = [];

  beforeEach(async () => {
    now = NOW;
    harness = await Harness.start({ auth: { jwtSecret: SECRET, now: () => now } });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    await harness.close();
  });

  const rxpeer = (auth: Record<string, unknown>): PeerClient => {
    const client = new PeerClient(
      {
        url: harness.server.url,
        // Only the token: PeerClient keeps announcing its caps (exact statuses) beside it.
        socketOptions: { reconnection: false, auth },
      },
      { createPeerConnection },
    );
    clients.push(client);
    return client;
  };

  describe('at connect', () => {
    it('refuses a socket without a token, with AUTH_FAILED in the connect error', async () => {
      const error = await refusal(harness.server.url, {});
      expect(error.message).toMatch(/^AUTH_FAILED: no token/);
      expect(error.data).toEqual({ code: 'AUTH_FAILED' });
    });

    it('refuses a token with a bad signature', async () => {
      const forged = await token(
        {},
        undefined,
        new TextEncoder().encode('another secret entirely'),
      );
      const error = await refusal(harness.server.url, { auth: { token: forged } });
      expect(error.message).toBe('AUTH_FAILED: the token signature does not verify');
    });

    it('refuses an expired token', async () => {
      const stale = await token({}, NOW / 1000 - 1);
      const error = await refusal(harness.server.url, { auth: { token: stale } });
      expect(error.message).toBe('AUTH_FAILED: the token has expired');
    });

    it('refuses a token whose "rxpeer" claim is not an object', async () => {
      const odd = await new SignJWT({ rxpeer: 'everything' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime(NOW / 1000 + 60)
        .sign(key);
      const error = await refusal(harness.server.url, { auth: { token: odd } });
      expect(error.message).toBe('AUTH_FAILED: the "rxpeer" claim must be an object');
    });

    it('admits a valid token in auth.token, and one in the "token" query parameter (Extreal clients)', async () => {
      const good = await token({ sub: 'alice' });
      await harness.connect({ auth: { token: good } });
      const viaQuery = await harness.connect({ query: { token: good } });
      expect(viaQuery.connected).toBe(true);
      // A WebGL app only configures a URL: socket.io-client sends its query string along.
      const viaUrl = io(`${harness.server.url}/?token=${encodeURIComponent(good)}`, {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
      });
      try {
        await new Promise<void>((resolve, reject) => {
          viaUrl.once('connect', resolve);
          viaUrl.once('connect_error', reject);
        });
      } finally {
        viaUrl.disconnect();
      }
    });

    it('a refused PeerClient reports it on connectFailed$; the stream error is an AuthFailedError', async () => {
      const client = rxpeer({ token: await token({}, NOW / 1000 - 10) });
      const failed = next(client.connectFailed$, undefined, 5_000);
      await expect(client.startHost('room')).rejects.toBeInstanceOf(RxpeerError);
      expect(await failed).toMatch(/AUTH_FAILED: the token has expired/);

      const socket = io(harness.server.url, {
        autoConnect: false,
        reconnection: false,
        forceNew: true,
        transports: ['websocket'],
      });
      try {
        const error: unknown = await firstValueFrom(connected$(socket, harness.server.url)).catch(
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(AuthFailedError);
        expect((error as AuthFailedError).code).toBe('AUTH_FAILED');
      } finally {
        socket.disconnect();
      }
    });
  });

  describe('grants', () => {
    it('a token for another room may not create this one: 403 to rxpeer clients, 409 with the reason to Extreal clients', async () => {
      const roomA = await token({ sub: 'a', rxpeer: { host: ['room-a'], join: ['room-a'] } });
      const exact = await harness.connect({ auth: { token: roomA, caps: ['status'] } });
      expect(await emit(exact, 'create host', 'room-b')).toEqual({
        status: 403,
        message: 'Your token does not grant you to create host "room-b".',
        reason: 'forbidden',
      });
      // An Extreal client (no caps; token in the query) must end failed: only 409 does that.
      const extreal = await harness.connect({ auth: {}, query: { token: roomA } });
      expect(await emit(extreal, 'create host', 'room-b')).toEqual({
        status: 409,
        message: 'Your token does not grant you to create host "room-b".',
        reason: 'forbidden',
      });
      expect(await emit(exact, 'create host', 'room-a')).toMatchObject({ status: 200 });
      expect(harness.server.stats().rejected.forbidden).toBe(2);
      expect(await harness.listHosts(exact)).toEqual([{ id: exact.id, name: 'room-a' }]);
    });

    it('a token for another room may not join this one: the join is dropped with 403 and never reaches the host', async () => {
      const hostToken = await token({ rxpeer: { host: '*' } });
      const host = await harness.connect({ auth: { token: hostToken } });
      expect(await emit(host, 'create host', 'room-b')).toMatchObject({ status: 200 });
      const roomA = await token({ rxpeer: { join: ['room-a'] } });
      const joiner = await harness.connect({ auth: { token: roomA } });
      expect(await emit(joiner, 'message', { type: 'join', to: host.id })).toEqual({
        status: 403,
        message: 'Your token does not grant you to join "room-b".',
        reason: 'forbidden',
      });
      await harness.barrier(joiner, host);
      expect(harness.of(host).messages).toEqual([]);
      expect(harness.server.stats().dropped.forbidden).toBe(1);

      const roomB = await token({ rxpeer: { join: ['room-b'], host: [] } });
      const welcome = await harness.connect({ auth: { token: roomB } });
      expect(await emit(welcome, 'message', { type: 'join', to: host.id })).toMatchObject({
        status: 200,
      });
      expect(await emit(welcome, 'create host', 'mine')).toMatchObject({ status: 409 });
    });

    it('a PeerClient refused a create host rejects with a ForbiddenError (code FORBIDDEN) and never starts', async () => {
      const client = rxpeer({ token: await token({ rxpeer: { host: ['room-a'] } }) });
      const started = jest.fn();
      client.started$.subscribe(started);
      const error: unknown = await client.startHost('room-b').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ForbiddenError);
      expect((error as ForbiddenError).code).toBe('FORBIDDEN');
      expect(started).not.toHaveBeenCalled();
    });

    it('a PeerClient refused a join fails its start at once with a ForbiddenError (FORBIDDEN), not at the start timeout', async () => {
      const host = rxpeer({ token: await token({ rxpeer: { host: ['room-b'] } }) });
      await host.startHost('room-b');
      const client = rxpeer({ token: await token({ rxpeer: { join: ['room-a'] } }) });
      const failed: unknown[] = [];
      client.startFailed$.subscribe((e) => failed.push(e));
      const t0 = Date.now();
      const error: unknown = await client.startClient(host.clientId!).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ForbiddenError);
      expect((error as ForbiddenError).code).toBe('FORBIDDEN');
      expect(failed).toEqual([error]);
      // Far from the 15 s start timeout: the server's acknowledgement decided it.
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(client.isRunning).toBe(false);
    });

    it('a token that expires while connected: the socket stays, but the next create host and join are refused', async () => {
      const soon = await token({}, NOW / 1000 + 60);
      const host = await harness.connect({ auth: { token: await token({}) } });
      expect(await emit(host, 'create host', 'lobby')).toMatchObject({ status: 200 });
      const socket = await harness.connect({ auth: { token: soon, caps: ['status'] } });
      expect(await emit(socket, 'create host', 'early')).toMatchObject({ status: 200 });
      now = NOW + 60_000;
      expect(await emit(socket, 'create host', 'late')).toEqual({
        status: 403,
        message: 'Your token has expired; cannot create host "late".',
        reason: 'forbidden',
      });
      const other = await harness.connect({ auth: { token: await token({}, NOW / 1000 + 120) } });
      now = NOW + 120_000;
      expect(await emit(other, 'message', { type: 'join', to: host.id })).toEqual({
        status: 403,
        message: 'Your token has expired; cannot join this host.',
        reason: 'forbidden',
      });
      expect(socket.connected && other.connected).toBe(true);
    });
  });

  describe('other verifiers', () => {
    it('an RS256 public key verifies tokens signed with its private key and refuses HS256 ones', async () => {
      await harness.close();
      const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      harness = await Harness.start({
        auth: {
          publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
          algorithms: ['RS256'],
          now: () => now,
        },
      });
      const signed = await new SignJWT({ rxpeer: { host: ['x'] } })
        .setProtectedHeader({ alg: 'RS256' })
        .setExpirationTime(NOW / 1000 + 60)
        .sign(pair.privateKey);
      const socket = await harness.connect({ auth: { token: signed } });
      expect(await emit(socket, 'create host', 'x')).toMatchObject({ status: 200 });
      const error = await refusal(harness.server.url, { auth: { token: await token({}) } });
      expect(error.message).toBe(
        'AUTH_FAILED: the token is signed with an algorithm this server does not accept',
      );
    });

    it('a verify function decides from the handshake; its thrown message reaches the client', async () => {
      await harness.close();
      harness = await Harness.start({
        auth: {
          verify: (handshake) => {
            if (handshake.auth.ticket !== 'ok') throw new Error('unknown ticket');
            return { sub: 'ticket holder', rxpeer: { host: ['t'] } };
          },
        },
      });
      const error = await refusal(harness.server.url, { auth: { ticket: 'bad' } });
      expect(error.message).toBe('AUTH_FAILED: unknown ticket');
      const socket = await harness.connect({ auth: { ticket: 'ok', caps: ['status'] } });
      expect(await emit(socket, 'create host', 'u')).toMatchObject({ status: 403 });
    });

    it('refuses unusable options when the server starts', async () => {
      await expect(Harness.start({ auth: { jwtSecret: '' } })).rejects.toMatchObject({
        code: 'INVALID_CONFIG',
      });
    });
  });
});
