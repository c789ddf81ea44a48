/** The operations flags of `rxpeer-signaling` (issue 18): tokens, drain, metrics, TURN. */
import { parseCli } from '../../src/server/config';
import type { SignalingServerOptions } from '../../src/server';

const run = (argv: string[], env: Record<string, string> = {}): SignalingServerOptions => {
  const parsed = parseCli(argv, env);
  if (parsed.kind !== 'run') throw new Error(`expected run, got ${JSON.stringify(parsed)}`);
  return parsed.options;
};
const error = (argv: string[], env: Record<string, string> = {}): string => {
  const parsed = parseCli(argv, env);
  if (parsed.kind !== 'error') throw new Error(`expected an error, got ${JSON.stringify(parsed)}`);
  return parsed.message;
};

describe('operations flags', () => {
  it('--jwt-secret or SIGNALING_JWT_SECRET turns on admission by token', () => {
    expect(run(['--jwt-secret', 's3cret']).auth).toEqual({ jwtSecret: 's3cret' });
    expect(run([], { SIGNALING_JWT_SECRET: 'from-env' }).auth).toEqual({ jwtSecret: 'from-env' });
    expect(run([]).auth).toBeUndefined();
  });

  it('--drain-timeout and --drain-move-after', () => {
    expect(run(['--drain-timeout', '5000', '--drain-move-after', '250']).drain).toEqual({
      timeoutMs: 5000,
      moveAfterMs: 250,
    });
    expect(error(['--drain-timeout', 'soon'])).toContain('--drain-timeout');
  });

  it('--metrics off, --metrics-port and --metrics-host', () => {
    expect(run(['--metrics', 'off']).metrics).toEqual({ enabled: false });
    expect(run(['--metrics-port', '9464', '--metrics-host', '0.0.0.0']).metrics).toEqual({
      port: 9464,
      host: '0.0.0.0',
    });
    expect(run([], { SIGNALING_METRICS: 'false' }).metrics).toEqual({ enabled: false });
  });

  it('--turn-secret with repeated --turn-url and --turn-ttl; both secret and URL are needed', () => {
    expect(
      run([
        '--turn-secret',
        'k',
        '--turn-url',
        'turn:a.example:3478?transport=udp',
        '--turn-url',
        'turns:a.example:5349',
        '--turn-ttl',
        '3600',
      ]).turn,
    ).toEqual({
      secret: 'k',
      urls: ['turn:a.example:3478?transport=udp', 'turns:a.example:5349'],
      ttl: 3600,
    });
    expect(
      run([], { SIGNALING_TURN_SECRET: 'k', SIGNALING_TURN_URLS: 'turn:x:1, turn:y:2' }).turn,
    ).toEqual({
      secret: 'k',
      urls: ['turn:x:1', 'turn:y:2'],
    });
    expect(error(['--turn-secret', 'k'])).toContain('--turn-url');
    expect(error(['--turn-url', 'stun:x:1', '--turn-secret', 'k'])).toContain('turn: or turns:');
    expect(error(['--turn-url', 'turn:x:1', '--turn-secret', 'k', '--turn-ttl', '5'])).toContain(
      '60 seconds',
    );
  });
});
