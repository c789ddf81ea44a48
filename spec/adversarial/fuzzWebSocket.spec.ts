/**
 * Issue 12: half of the 100,000-input frame-level corpus, over WebSocket
 * (one frame per packet, a session's frames in one TCP write).
 */
import { describeFuzz } from './fuzzSpec';

jest.setTimeout(300_000);

describeFuzz('websocket', 0x12_0002, 50_000);
