/**
 * The operations routes, put in front of the caller's `onRequest`:
 * `GET /readyz` (readiness, src/server/drain.ts) and `GET /metrics`
 * (Prometheus text, src/server/metrics.ts) when metrics are served on the
 * main port.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readiness } from './drain.js';
import type { RequestHandler } from './http.js';
import { sendText } from './staticFiles.js';

export interface OperationsRoutes {
  readiness: () => Promise<Readiness>;
  /** Prometheus exposition: the content type and the body. */
  metrics?: (() => Promise<{ contentType: string; body: string }>) | undefined;
}

const pathOf = (url: string | undefined): string => (url ?? '/').split('?', 1)[0] ?? '/';

function answer(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** A `RequestHandler` serving `/readyz` and `/metrics`, passing anything else to `next` (or `then`). */
export function operationsRoutes(
  routes: OperationsRoutes,
  then: RequestHandler | undefined,
): RequestHandler {
  return (req, res, next) => {
    const path = pathOf(req.url);
    const known = path === '/readyz' || (path === '/metrics' && routes.metrics !== undefined);
    if (!known) {
      if (then === undefined) next();
      else then(req, res, next);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'Method Not Allowed', { Allow: 'GET, HEAD' });
      return;
    }
    const served =
      path === '/readyz'
        ? routes.readiness().then((readiness) => {
            answer(
              req,
              res,
              readiness.ready ? 200 : 503,
              'application/json; charset=utf-8',
              JSON.stringify(readiness),
            );
          })
        : routes.metrics!().then(({ contentType, body }) =>
            answer(req, res, 200, contentType, body),
          );
    served.catch((error: unknown) => next(error));
  };
}
