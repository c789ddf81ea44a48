/**
 * `list hosts` answers, bounded: at most `maxListedHosts` hosts per answer
 * (the first page for Extreal clients, which read `hosts` only; rxpeer
 * clients can ask for the next ones with `{ offset }`), and the size of each
 * page known, so the server can charge it to the asker's address.
 *
 * The backends hand out one array until a host comes or goes; pages are
 * memoized per array, so a busy lobby costs one slice and one size count per
 * change, not per request.
 */

import type { HostInfo } from '../protocol/wire.js';

export interface HostPage {
  hosts: HostInfo[];
  /** Hosts in the whole list. */
  total: number;
  /** `offset` of the next page, when there is one. */
  next?: number;
  /** UTF-8 bytes of `hosts` as JSON: what the answer costs to send. */
  bytes: number;
}

/** Reads the optional `{ offset }` argument of `list hosts`; anything else is offset 0. */
export function parseListOffset(args: readonly unknown[]): number {
  const first = args.length > 1 ? args[0] : undefined;
  if (typeof first !== 'object' || first === null) return 0;
  const offset = (first as { offset?: unknown }).offset;
  return typeof offset === 'number' && Number.isInteger(offset) && offset > 0 ? offset : 0;
}

export class HostPages {
  private pages = new WeakMap<readonly HostInfo[], Map<number, HostPage>>();

  constructor(private readonly pageSize: number) {}

  /** The page of `list` that starts at `offset` (past the end: an empty page). */
  page(list: readonly HostInfo[], offset: number): HostPage {
    const aligned = offset % this.pageSize === 0;
    let memo = this.pages.get(list);
    const hit = aligned ? memo?.get(offset) : undefined;
    if (hit !== undefined) return hit;
    const hosts = list.slice(offset, offset + this.pageSize);
    const end = offset + hosts.length;
    const page: HostPage = {
      hosts,
      total: list.length,
      ...(end < list.length ? { next: end } : {}),
      bytes: Buffer.byteLength(JSON.stringify(hosts), 'utf8'),
    };
    if (aligned) {
      if (memo === undefined) {
        memo = new Map();
        this.pages.set(list, memo);
      }
      memo.set(offset, page);
    }
    return page;
  }
}
