/**
 * The soak in its short form (50 join/leave cycles), in its own process with
 * --expose-gc: peer connections, sockets, handles, timers and the JS heap must
 * be back to the baseline taken after warm-up. `npm run soak` runs 1,000.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

jest.setTimeout(120_000);

const soak = () =>
  spawnSync(process.execPath, [join(__dirname, '../../soak/run.cjs'), '--cycles', '50', '--json'], {
    encoding: 'utf8',
    timeout: 55_000,
  });

it('returns to the baseline after 50 join/leave cycles', () => {
  let run = soak();
  // The native engine (@roamhq/wrtc) can die of a signal on a loaded machine, in its own
  // threads; that is reported and the soak runs once more. Any other failure counts.
  if (/died of SIG/.test(run.stderr)) {
    // eslint-disable-next-line no-console
    console.warn(`soak: first run: ${run.stderr.trim()}; running it again`);
    run = soak();
  }
  const line = run.stdout.trim().split('\n').pop() ?? '';
  let result: { ok: boolean; checks: Record<string, { value: unknown; ok: boolean }> };
  try {
    result = JSON.parse(line) as typeof result;
  } catch {
    throw new Error(`the soak printed no result (exit ${String(run.status)}):\n${run.stdout}\n${run.stderr}`);
  }
  const failed = Object.entries(result.checks).filter(([, c]) => !c.ok);
  expect(failed).toEqual([]);
  expect(result.ok).toBe(true);
  expect(run.status).toBe(0);
});
