#!/usr/bin/env node
// Runs before `npm test`: installs the system packages the end-to-end tests
// use (Debian's chromium, redis-server, coturn, prometheus and haproxy) when they are missing.
// As root it installs them with apt-get; otherwise it prints the one line to run.
'use strict';
const { existsSync } = require('node:fs');
const { execSync } = require('node:child_process');

const NEEDED = [
  { pkg: 'chromium', bin: '/usr/bin/chromium' },
  { pkg: 'redis-server', bin: '/usr/bin/redis-server' },
  { pkg: 'coturn', bin: '/usr/bin/turnserver' },
  // The operations specs: a real scraper (metrics) and a real load balancer (drain).
  { pkg: 'prometheus', bin: '/usr/bin/prometheus' },
  { pkg: 'haproxy', bin: '/usr/sbin/haproxy' },
];
const missing = NEEDED.filter((n) => !existsSync(n.bin)).map((n) => n.pkg);
if (missing.length === 0) process.exit(0);

const line = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) {
  process.stderr.write(`rxpeer: the end-to-end tests need ${missing.join(', ')}. Run as root:\n  ${line}\n`);
  process.exit(1);
}
process.stdout.write(`rxpeer: installing ${missing.join(', ')} from Debian's packages…\n`);
execSync(line, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
// The Debian packages start their daemons on default ports; the tests start their own on loopback.
for (const svc of ['redis-server', 'coturn', 'prometheus', 'haproxy']) {
  try {
    execSync(`service ${svc} stop`, { stdio: 'ignore' });
  } catch {
    // not running, or no service manager: nothing to stop
  }
}
