/**
 * The frame-level fuzz spec, for one transport: a seeded corpus of hostile
 * engine.io/Socket.IO input (see ./frames), then the recovery checks of
 * ./arena. `RXPEER_FUZZ_SEED` (an integer, or `random`) and
 * `RXPEER_FUZZ_INPUTS` override the fixed CI seed and the corpus size; the
 * seed is printed either way. `RXPEER_FUZZ_SKIP_KNOWN=1` leaves out the
 * inputs of crashes already filed (an investigation aid, never in CI).
 */
import { closeArena, crashReport, openArena, recoveryFailures, type Arena } from './arena';
import { isKnownCrash, seedFromEnv } from './frames';
import { runFuzz, type Transport } from './fuzzRunner';
import { createAgent, useLocalAddress } from './rawClients';
import { cleanupBuild } from './serverProcess';

export function describeFuzz(transport: Transport, fixedSeed: number, defaultInputs: number): void {
  const seed = seedFromEnv(fixedSeed);
  const total = Number(process.env.RXPEER_FUZZ_INPUTS ?? defaultInputs);
  // An investigation aid, off in CI: leave out the inputs of crashes already filed (see isKnownCrash).
  const skipKnown = process.env.RXPEER_FUZZ_SKIP_KNOWN === '1';

  describe(`frame-level fuzzing over ${transport}`, () => {
    // The fuzzer connects from 127.0.0.3; the honest checks from 127.0.0.1.
    useLocalAddress('127.0.0.3');
    let arena: Arena | undefined;
    const agent = createAgent(8);

    beforeAll(async () => {
      arena = await openArena();
    });
    afterAll(async () => {
      agent.destroy();
      await closeArena(arena);
      cleanupBuild();
    });

    it(`survives ${total} seeded inputs, then serves honest users as before with its heap back to the baseline`, async () => {
      const a = arena!;
      const outcome = await runFuzz(a.server, {
        seed,
        total,
        perSession: 40,
        transport,
        concurrency: 4,
        ids: [a.host.id],
        agent,
        ...(skipKnown ? { keep: (input) => !isKnownCrash(input) } : {}),
      });
      // eslint-disable-next-line no-console
      console.log(
        `fuzz ${transport}${skipKnown ? ' (known crashes left out)' : ''}: seed ${seed} (RXPEER_FUZZ_SEED=${seed} to replay), ${outcome.sent} inputs in ${outcome.sessions} connections (+${outcome.httpRequests} hostile HTTP requests), ${(outcome.durationMs / 1000).toFixed(1)} s, client errors ${outcome.clientErrors}${outcome.firstClientErrors.length > 0 ? ` (${outcome.firstClientErrors.join('; ')})` : ''}`,
      );
      const crash =
        a.server.exit === undefined ? '' : await crashReport(transport, seed, outcome, a.server);
      const recovery = await recoveryFailures(a);
      expect({ seed, crash, failures: recovery.failures }).toEqual({
        seed,
        crash: '',
        failures: [],
      });
      expect(outcome.sent).toBeGreaterThanOrEqual(total);
    });
  });
}
