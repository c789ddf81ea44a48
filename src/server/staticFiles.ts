/**
 * A small, careful static file handler for `staticDir`: GET and HEAD only,
 * no dotfiles, no `..`, checked on the URL and again on the resolved path (a
 * symlink to a dotfile, a dot directory or anything outside the directory is
 * refused), `index.html`
 * for directories, pre-compressed `.br`/`.gz` files served with their
 * `Content-Encoding` (as Unity WebGL builds ship them).
 */

import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.data': 'application/octet-stream',
};

const ENCODINGS: Readonly<Record<string, string>> = { '.br': 'br', '.gz': 'gzip' };

/** @internal Writes a short plain-text response. */
export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${text}\n`;
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/**
 * `true` when `real` (a resolved path) lies inside `realRoot` and no segment
 * of it below the root is a dotfile or dot directory.
 */
function servable(realRoot: string, real: string): boolean {
  if (real === realRoot) return true;
  if (!real.startsWith(realRoot + sep)) return false;
  return !relative(realRoot, real)
    .split(sep)
    .some((segment) => segment.startsWith('.'));
}

/**
 * Resolves a decoded URL path to a file under `root`, or `undefined` when the
 * path is not allowed (dot segments, NUL, backslashes) or leaves the root.
 */
async function resolveFile(realRoot: string, urlPath: string): Promise<string | undefined> {
  if (urlPath.includes('\0') || urlPath.includes('\\')) return undefined;
  const segments = urlPath.split('/').filter((segment) => segment.length > 0);
  if (segments.some((segment) => segment.startsWith('.'))) return undefined;
  let candidate = join(realRoot, ...segments);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    return undefined;
  }
  if (!servable(realRoot, real)) return undefined;
  let info = await stat(real);
  if (info.isDirectory()) {
    candidate = join(real, 'index.html');
    try {
      real = await realpath(candidate);
    } catch {
      return undefined;
    }
    if (real === realRoot || !servable(realRoot, real)) return undefined;
    info = await stat(real);
  }
  return info.isFile() ? real : undefined;
}

/** @internal Serves `urlPath` (already decoded) from `root`. */
export async function serveStatic(
  root: string,
  urlPath: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendText(res, 405, 'Method Not Allowed', { Allow: 'GET, HEAD' });
    return;
  }
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch {
    sendText(res, 404, 'Not Found');
    return;
  }
  const file = await resolveFile(realRoot, urlPath).catch(() => undefined);
  if (file === undefined) {
    sendText(res, 404, 'Not Found');
    return;
  }
  const info = await stat(file);
  let ext = extname(file).toLowerCase();
  const encoding = ENCODINGS[ext];
  if (encoding !== undefined) ext = extname(file.slice(0, -ext.length)).toLowerCase();
  const headers: Record<string, string | number> = {
    'Content-Type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
    'Content-Length': info.size,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-cache',
  };
  if (encoding !== undefined) headers['Content-Encoding'] = encoding;
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}
