/**
 * Faults of whole processes and of the network under signaling: a peer
 * killed with SIGKILL, and a signaling link that is slow and gets cut.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import type { PeerClient } from '../../src/client/PeerClient';
import { openPeerConnections } from '../helpers/engine';
import { useRealServer } from '../helpers/realServer';
import { attachChat } from '../helpers/chat';
import { collect, next } from '../helpers/clientHarness';
import { impairedProxy, type ImpairedProxy } from '../helpers/impairedProxy';

jest.setTimeout(60_000);

describe('process and network faults', () => {
  const real = useRealServer();
  let dir: string;
  let peerScript: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rxpeer-peer-'));
    peerScript = join(dir, 'peer.cjs');
    buildSync({
      entryPoints: [join(__dirname, '../fixtures/peerProcess.ts')],
      outfile: peerScript,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      external: ['@roamhq/wrtc'],
      nodePaths: [join(__dirname, '../../node_modules')],
      logLevel: 'warning',
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const make = (url: string, config = {}): PeerClient => real.client(config, url);

  it('a peer process killed with SIGKILL: the others hear it within 1 s, and close its connection once', async () => {
    const host = make(real.server.url);
    const hs = next(host.started$);
    await host.startHost('kill');
    const hostId = await hs;
    const other = make(real.server.url);
    const os = next(other.started$, undefined, 15_000);
    await other.startClient(hostId);
    await os;

    const child: ChildProcess = spawn(process.execPath, [peerScript, real.server.url, hostId], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NODE_PATH: join(__dirname, '../../node_modules') },
    });
    try {
      let giveUp: NodeJS.Timeout | undefined;
      const victim = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /started (\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`peer process exited (${String(code)}): ${out}`)));
        giveUp = setTimeout(() => reject(new Error(`peer process did not start: ${out}`)), 20_000);
      }).finally(() => clearTimeout(giveUp));
      await next(other.peers$, (p) => p.get(victim)?.connectionState === 'connected', 15_000);
      const hostLeaving = collect(host.userDisconnecting$);
      const otherLeaving = collect(other.userDisconnecting$);
      const heard = Promise.all([
        next(host.userDisconnecting$, (id) => id === victim, 5000),
        next(other.userDisconnecting$, (id) => id === victim, 5000),
      ]);
      const t0 = Date.now();
      child.kill('SIGKILL');
      await heard;
      const elapsed = Date.now() - t0;
      expect(elapsed).toBeLessThan(1000);
      await new Promise((r) => setTimeout(r, 300));
      expect(hostLeaving.values).toEqual([victim]);
      expect(otherLeaving.values).toEqual([victim]);
    } finally {
      child.kill('SIGKILL');
    }
  });

  describe('over an impaired signaling link (300 ms each way)', () => {
    let proxy: ImpairedProxy;
    beforeEach(async () => {
      proxy = await impairedProxy(real.server.port, 300);
    });
    afterEach(async () => {
      await proxy.close();
    });

    it('completes the setup within the start timeout, in order, without duplicated steps', async () => {
      const host = make(proxy.url);
      const hs = next(host.started$, undefined, 15_000);
      await host.startHost('slow');
      const hostId = await hs;
      const created = collect(host.pcCreate$);
      const joiner = make(proxy.url);
      const errors = collect(joiner.errors$);
      const chat = attachChat(joiner);
      const hostChat = attachChat(host);
      const started = next(joiner.started$, undefined, 15_000);
      await joiner.startClient(hostId);
      const id = await started;
      expect(created.values.map((e) => e.id)).toEqual([id]);
      expect(errors.values).toEqual([]);
      await chat.openTo([hostId], 15_000);
      chat.broadcast('slowly');
      await hostChat.receivedAtLeast(1);
    });

    it("recovers when the joiner's link is cut in the middle of its join: one connection per pair at the end", async () => {
      const host = make(real.server.url);
      const hs = next(host.started$, undefined, 15_000);
      await host.startHost('cut');
      const hostId = await hs;
      const joiner = make(proxy.url, { socketOptions: { reconnectionDelay: 200, reconnectionDelayMax: 1000 } });
      const started = next(joiner.started$, undefined, 15_000);
      void joiner.startClient(hostId).catch(() => undefined); // settles only with the start
      // The join is on its way; cut every signaling connection.
      await next(host.userConnecting$, undefined, 10_000);
      expect(proxy.cutAll()).toBeGreaterThan(0);
      await started;
      const hostPeers = await next(host.peers$, (p) => p.size === 1 && [...p.values()][0]!.connectionState === 'connected', 15_000);
      const joinerPeers = await next(joiner.peers$, (p) => p.size === 1 && [...p.values()][0]!.connectionState === 'connected', 15_000);
      expect(hostPeers.size).toBe(1);
      expect(joinerPeers.size).toBe(1);
      expect(openPeerConnections()).toHaveLength(2);
    });
  });
});
