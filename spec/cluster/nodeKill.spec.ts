/**
 * A node killed with SIGKILL leaves no host listed forever: the others reap
 * its sockets once its heartbeat key expires (≤ 8 s with the defaults,
 * documented as ≤ 10 s), and its hosts' members on other nodes are told.
 */
import { RedisServer } from '../helpers/redis';
import { buildNodeScript, request, SignalingNode, Sockets, waitFor, type HostsAck } from './nodes';

jest.setTimeout(60_000);

/** README "Running several nodes": heartbeat 2 s, TTL 6 s → gone within 8 s; documented bound 10 s. */
const STALE_BOUND_MS = 10_000;

describe('a signaling node killed with SIGKILL', () => {
  let redis: RedisServer;
  let build: ReturnType<typeof buildNodeScript>;
  let a: SignalingNode;
  let b: SignalingNode;
  let doomed: SignalingNode;
  const sockets = new Sockets();

  beforeAll(async () => {
    build = buildNodeScript();
    redis = await RedisServer.start();
    [a, b, doomed] = await Promise.all([
      SignalingNode.start(build.script, 'A', redis.url),
      SignalingNode.start(build.script, 'B', redis.url),
      SignalingNode.start(build.script, 'C', redis.url),
    ]);
  });

  afterAll(async () => {
    sockets.closeAll();
    await Promise.all([a?.stop(), b?.stop(), doomed?.stop('SIGKILL')]);
    await redis?.stop();
    build?.cleanup();
  });

  it('its hosts leave list hosts on every node within the documented bound, and their members hear it', async () => {
    const hostOnC = await sockets.connect(doomed.url);
    expect(await request(hostOnC, 'create host', 'on the doomed node')).toMatchObject({
      status: 200,
    });
    const keeper = await sockets.connect(a.url);
    expect(await request(keeper, 'create host', 'on a live node')).toMatchObject({ status: 200 });
    const memberOnA = await sockets.connect(a.url);
    expect(await request(memberOnA, 'message', { type: 'join', to: hostOnC.id })).toMatchObject({
      status: 200,
    });
    const memberOnC = await sockets.connect(doomed.url);
    expect(await request(memberOnC, 'message', { type: 'join', to: keeper.id })).toMatchObject({
      status: 200,
    });
    const onB = await sockets.connect(b.url);
    for (const probe of [keeper, onB]) {
      const { hosts } = await request<HostsAck>(probe, 'list hosts');
      expect(hosts.map((h) => h.name).sort()).toEqual(['on a live node', 'on the doomed node']);
    }

    // socket.io-client forgets its id once disconnected.
    const hostId = hostOnC.id!;
    const memberId = memberOnC.id!;
    expect(await doomed.stop('SIGKILL')).toBeNull();
    const killedAt = Date.now();
    const listedOn = async (probe: typeof onB): Promise<boolean> =>
      (await request<HostsAck>(probe, 'list hosts')).hosts.some(
        (h) => h.name === 'on the doomed node',
      );
    await waitFor(
      async () => !(await listedOn(onB)) && !(await listedOn(keeper)),
      STALE_BOUND_MS,
      "the dead node's host to leave the list",
      100,
    );
    const took = Date.now() - killedAt;
    process.stdout.write(
      `cluster reap: the SIGKILLed node's host left list hosts after ${took} ms\n`,
    );
    expect(took).toBeLessThanOrEqual(STALE_BOUND_MS);

    // The member on A is told its host left; the live host is told its member on C left.
    await waitFor(
      () => sockets.of(memberOnA).leaves.includes(hostId),
      2_000,
      'user disconnected for the dead host',
    );
    await waitFor(
      () => sockets.of(keeper).leaves.includes(memberId),
      2_000,
      'user disconnected for the dead member',
    );
    // The name is free again, on any node.
    const again = await sockets.connect(b.url);
    expect(await request(again, 'create host', 'on the doomed node')).toMatchObject({
      status: 200,
    });
    expect(a.alive && b.alive).toBe(true);
  });
});
