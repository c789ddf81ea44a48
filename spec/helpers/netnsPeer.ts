/**
 * A member in its own process (run inside a network namespace with
 * `ip netns exec`): joins the host argv[3] at the server argv[2] with the
 * config JSON argv[4], and speaks JSON lines.
 *
 * Out (stdout): `{"ev":"started","id"}`, `{"ev":"phase","id","phase","restarts"}`,
 * `{"ev":"pcCreate","id"}`, `{"ev":"leave","id"}`, `{"ev":"error","code"}`,
 * `{"ev":"sent","count"}` (answer to `stop`), `{"ev":"hosts","count"}` (answer to `list`).
 * In (stdin): `send` (start sending a sequence number every 20 ms on the
 * reliable, ordered channel `app`), `stop` (stop, report the count sent),
 * `list` (a `list hosts` round trip through the server), `quit`.
 */
import wrtc from '@roamhq/wrtc';
import { createInterface } from 'node:readline';
import { PeerClient } from '../../src/client/PeerClient';
import type { PeerClientConfig } from '../../src/client/types';

import { APP_CHANNEL } from './netnsApp';

function main(): void {
  const [, , url, hostId, configJson] = process.argv;
  const config = JSON.parse(configJson ?? '{}') as Partial<PeerClientConfig>;
  const client = new PeerClient(
    { url: url!, ...config },
    { createPeerConnection: (c) => new wrtc.RTCPeerConnection(c) as unknown as RTCPeerConnection },
  );
  const out = (event: Record<string, unknown>): void => {
    process.stdout.write(`${JSON.stringify(event)}\n`);
  };
  let channel: RTCDataChannel | undefined;
  let sent = 0;
  let ticker: NodeJS.Timeout | undefined;

  client.addPcCreateHook((id, _isOffer, pc) => {
    channel = pc.createDataChannel(APP_CHANNEL.label, {
      negotiated: true,
      id: APP_CHANNEL.id,
      ordered: true,
    });
    out({ ev: 'pcCreate', id });
  });
  client.started$.subscribe((id) => out({ ev: 'started', id }));
  client.peerPhase$.subscribe((change) => out({ ev: 'phase', ...change }));
  client.userDisconnecting$.subscribe((id) => out({ ev: 'leave', id }));
  client.errors$.subscribe((error) =>
    out({ ev: 'error', code: error.code, message: error.message }),
  );
  client.startFailed$.subscribe(() => out({ ev: 'startFailed' }));
  client.disconnected$.subscribe((reason) => out({ ev: 'disconnected', reason }));
  client.reconnected$.subscribe((id) => out({ ev: 'reconnected', id }));

  createInterface({ input: process.stdin }).on('line', (line) => {
    switch (line.trim()) {
      case 'send':
        ticker ??= setInterval(() => {
          if (channel?.readyState !== 'open') return;
          try {
            channel.send(String(sent + 1));
            sent += 1;
          } catch {
            // closed meanwhile: not sent
          }
        }, 20);
        break;
      case 'stop':
        clearInterval(ticker);
        ticker = undefined;
        out({ ev: 'sent', count: sent });
        break;
      case 'list':
        // A round trip through the server: the member's signaling works (again).
        client.listHosts().then(
          (hosts) => out({ ev: 'hosts', count: hosts.length }),
          (error: unknown) => out({ ev: 'hostsFailed', message: String(error) }),
        );
        break;
      case 'quit':
        clearInterval(ticker);
        void client.dispose().finally(() => process.exit(0));
        break;
      default:
        break;
    }
  });
  void client.startClient(hostId!);
}

main();
