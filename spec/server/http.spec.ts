/**
 * CHECKLIST rows 18–20 and the HTTP side: malformed frames and bad HTTP,
 * handshakes that never finish, the client cap, Origin checks, /healthz,
 * static files, the onRequest hook, an existing http.Server.
 *
 * @leakAllow Timeout — engine.io's polling transport keeps a 30 s close timer for each reaped polling handshake, past server.close()
 */

import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, request, type Server as HttpServer } from 'node:http';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Manager } from 'socket.io-client';
import { createSignalingServer } from '../../src/server/index.js';
import { Harness, disconnected, waitFor } from './helpers.js';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request: the path is sent exactly as given (no URL normalization). */
function raw(
  url: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: Number(port),
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Sends raw bytes over TCP; resolves with what came back before the close. */
function rawTcp(url: string, bytes: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = netConnect(Number(port), '127.0.0.1', () => socket.write(bytes));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    setTimeout(() => socket.destroy(), 2_000).unref();
  });
}

/** An engine.io polling handshake that never sends the Socket.IO CONNECT packet. */
async function engineHandshake(url: string): Promise<string> {
  const response = await raw(url, '/socket.io/?EIO=4&transport=polling');
  expect(response.status).toBe(200);
  const open = JSON.parse(response.body.slice(1)) as { sid: string };
  return open.sid;
}

/** An engine.io connection (WebSocket) that joins no namespace: raw Socket.IO frames can be written to it. */
async function openEngine(url: string): Promise<Manager['engine']> {
  const manager = new Manager(url, {
    transports: ['websocket'],
    reconnection: false,
    autoConnect: false,
  });
  await new Promise<void>((resolve, reject) =>
    manager.open((error?: Error) => (error === undefined ? resolve() : reject(error))),
  );
  return manager.engine;
}

describe('HTTP side and transport hardening', () => {
  let h: Harness | undefined;

  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('answers GET /healthz with ok, sockets and hosts; HEAD too; other methods 405', async () => {
    h = await Harness.start();
    const a = await h.connect();
    await h.connect();
    await h.createHost(a, 'Room');
    const response = await raw(h.server.url, '/healthz');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toContain('application/json');
    expect(JSON.parse(response.body)).toEqual({
      ok: true,
      sockets: 2,
      clients: 2,
      hosts: 1,
      memory: { heapUsed: expect.any(Number), heapLimit: expect.any(Number), overloaded: false },
    });
    expect((await raw(h.server.url, '/healthz', { method: 'HEAD' })).status).toBe(200);
    expect((await raw(h.server.url, '/healthz', { method: 'POST' })).status).toBe(405);
    expect(await h.server.health()).toMatchObject({ ok: true, sockets: 2, clients: 2, hosts: 1 });
  });

  it('answers 404 outside /socket.io and /healthz when nothing else is configured', async () => {
    h = await Harness.start();
    expect((await raw(h.server.url, '/')).status).toBe(404);
    expect((await raw(h.server.url, '/socket.io/socket.io.js')).status).toBe(400);
  });

  it('survives malformed Socket.IO frames: the offending client is closed, the server stays', async () => {
    h = await Harness.start();
    const bystander = await h.connect();
    const frames = [
      '42["message"',
      '4{not json',
      '9',
      '42[]',
      '42[{"a":1}]',
      '40/unknown,',
      '45-["x",{"_placeholder":true,"num":99}]',
      '2',
      '42["disconnect"]',
    ];
    for (const frame of frames) {
      const engine = await openEngine(h.server.url);
      const closed = new Promise<void>((resolve) => engine.once('close', () => resolve()));
      engine.write('0');
      engine.write(frame);
      await closed;
    }
    expect(bystander.connected).toBe(true);
    await waitFor(() => h!.server.io.engine.clientsCount === 1);
    expect((await raw(h.server.url, '/healthz')).status).toBe(200);
  });

  it('answers bad HTTP with 4xx and stays up', async () => {
    h = await Harness.start();
    const url = h.server.url;
    expect((await raw(url, '/socket.io/?EIO=99&transport=polling')).status).toBe(400);
    expect((await raw(url, '/socket.io/?EIO=4&transport=bogus')).status).toBe(400);
    expect((await raw(url, '/socket.io/?EIO=4&transport=polling&sid=nope')).status).toBe(400);
    expect(
      (await raw(url, '/socket.io/?EIO=4&transport=polling', { method: 'POST', body: 'x' })).status,
    ).toBe(400);
    expect(
      (
        await raw(url, '/socket.io/?EIO=4&transport=polling', {
          method: 'PUT',
          body: 'x',
          headers: { 'Content-Type': 'application/x-bogus' },
        })
      ).status,
    ).toBeGreaterThanOrEqual(400);
    expect((await raw(url, '/%E0%A4%A')).status).toBe(400);
    expect((await raw(url, '/healthz', { headers: { 'X-Big': 'x'.repeat(20_000) } })).status).toBe(
      431,
    );
    const manyHeaders: Record<string, string> = {};
    for (let i = 0; i < 3_000; i += 1) manyHeaders[`x-h${i}`] = 'v';
    expect((await raw(url, '/healthz', { headers: manyHeaders })).status).toBe(431);
    expect(await rawTcp(url, 'NOT HTTP AT ALL\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect((await raw(url, '/healthz')).status).toBe(200);
  });

  it('closes WebSocket handshakes that never join the namespace after connectTimeout', async () => {
    h = await Harness.start({ limits: { connectTimeoutMs: 300 } });
    const engines = await Promise.all(Array.from({ length: 20 }, () => openEngine(h!.server.url)));
    expect(h.server.io.engine.clientsCount).toBe(20);
    await Promise.all(
      engines.map(
        (engine) => new Promise<void>((resolve) => engine.once('close', () => resolve())),
      ),
    );
    await waitFor(() => h!.server.io.engine.clientsCount === 0);
  });

  it('reaps polling handshakes that never join within connectTimeout plus the ping timeout', async () => {
    h = await Harness.start({
      limits: { connectTimeoutMs: 300, pingIntervalMs: 1_000, pingTimeoutMs: 1_000 },
    });
    await Promise.all(Array.from({ length: 20 }, () => engineHandshake(h!.server.url)));
    expect(h.server.io.engine.clientsCount).toBe(20);
    await waitFor(() => h!.server.io.engine.clientsCount === 0, 6_000);
  });

  it('refuses handshakes beyond maxClients with 403, and takes them again when room frees up', async () => {
    h = await Harness.start({ limits: { maxClients: 3 } });
    const sockets = await Promise.all([h.connect(), h.connect(), h.connect()]);
    await expect(h.connect()).rejects.toThrow();
    const refused = await raw(h.server.url, '/socket.io/?EIO=4&transport=polling');
    expect(refused.status).toBe(403);
    await h.leave(sockets[0]!);
    await waitFor(() => h!.server.io.engine.clientsCount < 3);
    await expect(h.connect()).resolves.toBeDefined();
  });

  it('refuses a WebSocket or polling handshake from a disallowed Origin when an origin is configured', async () => {
    h = await Harness.start({ cors: { origin: 'http://good.example, http://also.example' } });
    await expect(h.connect({ extraHeaders: { Origin: 'http://evil.example' } })).rejects.toThrow();
    await expect(
      h.connect({ extraHeaders: { Origin: 'http://good.example' } }),
    ).resolves.toBeDefined();
    await expect(
      h.connect({ extraHeaders: { Origin: 'http://also.example' } }),
    ).resolves.toBeDefined();
    // Native clients (C#, Node) send no Origin; they are let in.
    await expect(h.connect()).resolves.toBeDefined();
    const polling = await raw(h.server.url, '/socket.io/?EIO=4&transport=polling', {
      headers: { Origin: 'http://evil.example' },
    });
    expect(polling.status).toBe(403);
  });

  it('lets any Origin in with the default "*"', async () => {
    h = await Harness.start();
    await expect(
      h.connect({ extraHeaders: { Origin: 'http://anything.example' } }),
    ).resolves.toBeDefined();
  });

  describe('staticDir and onRequest', () => {
    let dir: string;
    let outside: string;

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'rxpeer-static-'));
      outside = await mkdtemp(join(tmpdir(), 'rxpeer-outside-'));
      await writeFile(join(dir, 'index.html'), '<h1>demo</h1>');
      await writeFile(join(dir, 'app.js'), 'export {};');
      await writeFile(join(dir, '.env'), 'SECRET=1');
      await mkdir(join(dir, 'sub'));
      await writeFile(join(dir, 'sub', 'index.html'), 'sub');
      await writeFile(join(dir, 'build.wasm.br'), 'compressed');
      await writeFile(join(outside, 'secret.txt'), 'secret');
      await symlink(join(outside, 'secret.txt'), join(dir, 'link.txt'));
      // Links inside the directory to its own dotfile and dot directory.
      await mkdir(join(dir, '.git'));
      await writeFile(join(dir, '.git', 'config'), 'secret git config');
      await symlink(join(dir, '.env'), join(dir, 'config'));
      await symlink(join(dir, '.git'), join(dir, 'repo'));
      await symlink('.env', join(dir, 'relative'));
    });

    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
      await rm(outside, { recursive: true, force: true });
    });

    it('serves files with their types, index.html for directories, and nothing outside the directory', async () => {
      h = await Harness.start({ staticDir: dir });
      const url = h.server.url;
      const index = await raw(url, '/');
      expect([index.status, index.body, index.headers['content-type']]).toEqual([
        200,
        '<h1>demo</h1>',
        'text/html; charset=utf-8',
      ]);
      expect((await raw(url, '/app.js')).headers['content-type']).toBe(
        'text/javascript; charset=utf-8',
      );
      expect((await raw(url, '/sub/')).body).toBe('sub');
      const wasm = await raw(url, '/build.wasm.br');
      expect([wasm.headers['content-type'], wasm.headers['content-encoding']]).toEqual([
        'application/wasm',
        'br',
      ]);
      for (const path of [
        '/../secret.txt',
        '/%2e%2e/secret.txt',
        '/sub/../../secret.txt',
        '/.env',
        '/%2eenv',
        '/link.txt',
        '/config',
        '/repo/config',
        '/repo/',
        '/relative',
        '/nope',
        '/app.js%00.html',
        '/..%5csecret.txt',
      ]) {
        const response = await raw(url, path);
        expect([path, response.status]).toEqual([path, path.includes('%00') ? 400 : 404]);
        expect(response.body).not.toContain('secret');
        expect(response.body).not.toContain('SECRET');
      }
      expect((await raw(url, '/app.js', { method: 'DELETE' })).status).toBe(405);
      expect((await raw(url, '/healthz')).status).toBe(200);
    });

    it('runs onRequest before staticDir; next() falls through', async () => {
      h = await Harness.start({
        staticDir: dir,
        onRequest: (req, res, next) => {
          if (req.url === '/api/hello') {
            res.writeHead(200, { 'Content-Type': 'text/plain' });
            res.end('hello');
            return;
          }
          if (req.url === '/api/fail') throw new Error('boom');
          next();
        },
      });
      expect((await raw(h.server.url, '/api/hello')).body).toBe('hello');
      expect((await raw(h.server.url, '/api/fail')).status).toBe(500);
      expect((await raw(h.server.url, '/')).body).toBe('<h1>demo</h1>');
    });
  });

  it('attaches to an existing http.Server, leaving its other routes to it', async () => {
    const httpServer: HttpServer = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('own route');
    });
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const server = await createSignalingServer({ httpServer });
    try {
      expect(server.port).toBe((httpServer.address() as { port: number }).port);
      expect((await raw(server.url, '/anything')).body).toBe('own route');
      const response = await raw(server.url, '/socket.io/?EIO=4&transport=polling');
      expect(response.status).toBe(200);
    } finally {
      await server.close();
    }
    expect(httpServer.listening).toBe(false);
  });

  it('rejects with the listen error when the port is taken, leaving nothing open', async () => {
    h = await Harness.start();
    await expect(createSignalingServer({ port: h.server.port, host: '127.0.0.1' })).rejects.toThrow(
      /EADDRINUSE/,
    );
  });

  it('closes idempotently, disconnecting every socket', async () => {
    h = await Harness.start();
    const socket = await h.connect();
    const gone = disconnected(socket);
    await Promise.all([h.server.close(), h.server.close()]);
    await gone;
    expect(await h.server.health()).toMatchObject({ ok: false, sockets: 0, clients: 0, hosts: 0 });
  });
});
