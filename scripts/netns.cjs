#!/usr/bin/env node
// Runs a command inside a network namespace of its own, so every packet the
// tests, the soak and the benchmark send (WebRTC connectivity checks included:
// the engines gather candidates on every interface they see) stays inside it.
// The namespace has loopback and one veth pair whose far end is in the same
// namespace, addressed 10.231.0.1/24: Chromium never gathers loopback host
// candidates and gathers none at all without a default route, so it gets an
// interface besides `lo` and a default route through it (to 10.231.0.2, which
// nobody answers). Those addresses exist only inside this namespace: nothing
// leaves the machine.
//
//   node scripts/netns.cjs <command> [args…]
//
// Needs root (or unprivileged user namespaces) and util-linux's `unshare`.
// Without them it refuses to run, unless RXPEER_ALLOW_HOST_NETWORK=1 says
// that running on the machine's own interfaces is acceptable.
'use strict';
const { spawnSync } = require('node:child_process');
const { constants } = require('node:os');

const [command, ...args] = process.argv.slice(2);
if (command === undefined) {
  process.stderr.write('usage: node scripts/netns.cjs <command> [args…]\n');
  process.exit(2);
}

const run = (cmd, argv) => {
  const result = spawnSync(cmd, argv, { stdio: 'inherit', env: process.env });
  if (result.error) {
    process.stderr.write(`rxpeer: could not run ${cmd}: ${result.error.message}\n`);
    return 1;
  }
  return result.status ?? 128 + (constants.signals[result.signal] ?? 1);
};

if (process.env.RXPEER_NETNS === '1') process.exit(run(command, args));

// Try the namespace: `unshare -n` (root) or `unshare -rn` (user namespaces).
const inner = [
  '-c',
  'ip link set lo up && ip link add rxpeer0 type veth peer name rxpeer1 && ' +
    'ip addr add 10.231.0.1/24 dev rxpeer0 && ip link set rxpeer0 up && ip link set rxpeer1 up && ' +
    'ip route add default via 10.231.0.2 dev rxpeer0 && ' +
    'exec env RXPEER_NETNS=1 "$@"',
  'rxpeer-netns',
  command,
  ...args,
];
for (const flags of ['-n', '-rn']) {
  const probe = spawnSync('unshare', [flags, 'true'], { stdio: 'ignore' });
  if (probe.status === 0) process.exit(run('unshare', [flags, 'sh', ...inner]));
}

if (process.env.RXPEER_ALLOW_HOST_NETWORK === '1') {
  process.stderr.write('rxpeer: no network namespace available; running on the host network.\n');
  process.exit(run(command, args));
}
process.stderr.write(
  'rxpeer: the tests run in a network namespace of their own, which needs root\n' +
    '  (or user namespaces) and `unshare`. Run as root, or set RXPEER_ALLOW_HOST_NETWORK=1\n' +
    '  to run on this machine\'s own interfaces.\n',
);
process.exit(1);
