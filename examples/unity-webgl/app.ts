/**
 * The example's page script, as shipped: bundle it (it imports `rxpeer/bridge`)
 * and load it before Unity's loader script, as `index.html` does.
 *
 *   npx esbuild examples/unity-webgl/app.ts --bundle --format=iife --outfile=app.js
 */
import { main } from './dataChannelClient.js';

main();
