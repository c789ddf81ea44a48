/**
 * Issue 12: half of the 100,000-input frame-level corpus, over engine.io
 * long-polling (every session's packets in one POST, separated by \x1e).
 */
import { describeFuzz } from './fuzzSpec';

jest.setTimeout(300_000);

describeFuzz('polling', 0x12_0001, 50_000);
