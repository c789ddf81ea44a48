/**
 * The HTTP side of the server, for every request Socket.IO does not take
 * (Socket.IO answers everything under its path itself): `GET /healthz`, then
 * the caller's `onRequest`, then `staticDir`, then 404.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MemoryStatus } from './memoryGuard.js';
import type { BackendStatus } from './state.js';
import { sendText, serveStatic } from './staticFiles.js';

/**
 * A connect/Express-style handler for extra routes: handle the request, or
 * call `next()` to fall through to `staticDir` and then 404. An Express app
 * can be passed as is.
 */
export type RequestHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

export interface Health {
  ok: boolean;
  /** Socket.IO sockets connected to this node. */
  sockets: number;
  /** engine.io clients of this node, those that have not joined the namespace (yet) included. */
  clients: number;
  /** Hosts in the host index. */
  hosts: number;
  /** The heap as the memory guard sees it; `overloaded` goes with `ok: false`. */
  memory: MemoryStatus;
  /** With Redis: its status as this node sees it (`down` goes with `ok: false`). */
  redis?: BackendStatus;
}

export interface HttpRoutes {
  health: () => Promise<Health>;
  onRequest?: RequestHandler | undefined;
  staticDir?: string | undefined;
  /** While it returns `true`, every route but `/healthz` answers 503. */
  overloaded?: () => boolean;
  onError: (error: unknown, req: IncomingMessage) => void;
}

/** The path of a request URL, percent-decoded; `undefined` when it cannot be decoded. */
function requestPath(url: string | undefined): string | undefined {
  const raw = (url ?? '/').split('?', 1)[0] ?? '/';
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** @internal Builds the `request` listener of the HTTP server the signaling server creates. */
export function createRequestListener(
  routes: HttpRoutes,
): (req: IncomingMessage, res: ServerResponse) => void {
  const fail = (error: unknown, req: IncomingMessage, res: ServerResponse): void => {
    routes.onError(error, req);
    if (!res.writableEnded) sendText(res, 500, 'Internal Server Error');
  };

  const fallThrough = (path: string, req: IncomingMessage, res: ServerResponse): void => {
    if (routes.staticDir === undefined) {
      sendText(res, 404, 'Not Found');
      return;
    }
    serveStatic(routes.staticDir, path, req, res).catch((error: unknown) => fail(error, req, res));
  };

  return (req, res) => {
    const path = requestPath(req.url);
    if (path === undefined || path.includes('\0')) {
      sendText(res, 400, 'Bad Request');
      return;
    }
    if (path === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendText(res, 405, 'Method Not Allowed', { Allow: 'GET, HEAD' });
        return;
      }
      routes
        .health()
        .then((health) => {
          const body = JSON.stringify(health);
          res.writeHead(health.ok ? 200 : 503, {
            'Content-Type': 'application/json; charset=utf-8',
            'Content-Length': Buffer.byteLength(body),
            'Cache-Control': 'no-store',
          });
          res.end(req.method === 'HEAD' ? undefined : body);
        })
        .catch((error: unknown) => fail(error, req, res));
      return;
    }
    if (routes.overloaded?.() === true) {
      sendText(res, 503, 'Service Unavailable: the server is overloaded; try again shortly', {
        'Retry-After': '5',
      });
      return;
    }
    if (routes.onRequest === undefined) {
      fallThrough(path, req, res);
      return;
    }
    try {
      routes.onRequest(req, res, (error?: unknown) => {
        if (error !== undefined) fail(error, req, res);
        else if (!res.headersSent) fallThrough(path, req, res);
      });
    } catch (error) {
      fail(error, req, res);
    }
  };
}
