/**
 * The demo's DOM: the elements of index.html and the functions that draw
 * into them. No state and no streams here; main.ts decides what to draw.
 */
import type { HostInfo, PeerState } from '../../src/index';

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`index.html has no #${id}`);
  return element as T;
}

export const ui = {
  url: byId<HTMLInputElement>('url'),
  status: byId<HTMLParagraphElement>('status'),
  leave: byId<HTMLButtonElement>('leave'),
  hostForm: byId<HTMLFormElement>('host-form'),
  hostName: byId<HTMLInputElement>('host-name'),
  refresh: byId<HTMLButtonElement>('refresh'),
  hosts: byId<HTMLUListElement>('hosts'),
  chatLog: byId<HTMLOListElement>('chat-log'),
  chatForm: byId<HTMLFormElement>('chat-form'),
  chatInput: byId<HTMLInputElement>('chat-input'),
  chatSend: byId<HTMLButtonElement>('chat-send'),
  peerRows: byId<HTMLTableSectionElement>('peer-rows'),
  noPeers: byId<HTMLParagraphElement>('no-peers'),
  timeline: byId<HTMLOListElement>('timeline'),
};

type Attributes = Record<string, string | undefined>;

/** `h('li', { class: 'x', 'data-testid': 'y' }, 'text', child)`: an element; undefined attributes are left out. */
function h(tag: string, attributes: Attributes = {}, ...children: (Node | string)[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes))
    if (value !== undefined) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

/** Socket ids are 20 characters; 6 tell peers apart on screen (the full id is in the tooltip). */
const short = (id: string): string => id.slice(0, 6);
const clock = (date: Date): string =>
  date.toTimeString().slice(0, 8) + '.' + String(date.getMilliseconds()).padStart(3, '0');

/** Appends to a list and keeps its newest entry in view. */
function append(list: HTMLElement, item: HTMLElement): void {
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 8;
  list.append(item);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

export type SessionView =
  | { state: 'idle' }
  | { state: 'starting'; role: 'host' | 'client'; target: string }
  | { state: 'started'; role: 'host' | 'client'; id: string };

export function renderSession(view: SessionView): void {
  const running = view.state !== 'idle';
  document.body.dataset.session = running ? view.role : 'idle';
  ui.status.dataset.state = view.state;
  ui.status.replaceChildren(
    ...(view.state === 'idle'
      ? ['not connected']
      : view.state === 'starting'
        ? [`${view.role === 'host' ? 'creating host' : 'joining'} ${view.target}…`]
        : [`${view.role} · `, h('code', { 'data-testid': 'self-id', title: view.id }, view.id)]),
  );
  ui.leave.disabled = !running;
  ui.url.disabled = running;
  for (const control of ui.hostForm.elements) (control as HTMLButtonElement).disabled = running;
  for (const join of ui.hosts.querySelectorAll('button')) join.disabled = running;
}

export function renderHosts(hosts: HostInfo[] | string): void {
  const running = document.body.dataset.session !== 'idle';
  ui.hosts.replaceChildren(
    ...(typeof hosts === 'string'
      ? [h('li', { class: 'empty' }, hosts)]
      : hosts.length === 0
        ? [h('li', { class: 'empty' }, 'no hosts yet')]
        : hosts.map(({ id, name }) => {
            const join = h(
              'button',
              {
                type: 'button',
                class: 'small',
                'data-testid': 'join-host',
                'data-host-id': id,
                'data-host-name': name,
              },
              'Join',
            ) as HTMLButtonElement;
            join.disabled = running;
            return h(
              'li',
              { 'data-testid': 'host-item', 'data-host-id': id },
              h('span', { class: 'name' }, name),
              h('code', { title: id }, short(id)),
              join,
            );
          })),
  );
}

export function renderChatEnabled(peerCount: number): void {
  ui.chatInput.disabled = peerCount === 0;
  ui.chatSend.disabled = peerCount === 0;
  ui.chatInput.placeholder =
    peerCount === 0
      ? 'no open chat channel yet'
      : `message to ${peerCount} peer${peerCount === 1 ? '' : 's'}`;
}

export function appendChat(message: { from: string; text: string; mine?: boolean }): void {
  append(
    ui.chatLog,
    h(
      'li',
      {
        class: message.mine === true ? 'mine' : undefined,
        'data-testid': 'chat-message',
        'data-from': message.from,
      },
      h(
        'span',
        { class: 'from', title: message.from },
        message.mine === true ? 'me' : short(message.from),
      ),
      message.text,
    ),
  );
}

export function renderPeers(peers: readonly PeerState[], chatOpen: ReadonlySet<string>): void {
  ui.noPeers.hidden = peers.length > 0;
  ui.peerRows.replaceChildren(
    ...peers.map((p) =>
      h(
        'tr',
        {
          'data-testid': 'peer-row',
          'data-peer-id': p.id,
          'data-connection-state': p.connectionState,
          'data-mode': p.mode,
        },
        h('td', {}, h('code', { title: p.id }, short(p.id))),
        h('td', {}, p.isOffer ? 'offerer' : 'answerer'),
        h('td', {}, h('span', { class: `badge ${p.connectionState}` }, p.connectionState)),
        h('td', {}, p.iceConnectionState),
        h('td', {}, p.mode),
        h(
          'td',
          { class: 'num', 'data-testid': 'peer-rtt' },
          p.rtt === undefined ? '–' : `${p.rtt.toFixed(p.rtt < 10 ? 1 : 0)} ms`,
        ),
        h('td', {}, chatOpen.has(p.id) ? 'open' : '–'),
      ),
    ),
  );
}

export interface TimelineEntry {
  readonly event: string;
  readonly detail: string;
  /** Marks failures (red). */
  readonly failure?: boolean;
  /** An error's code, as `data-code`. */
  readonly code?: string;
}

export function appendEvent(entry: TimelineEntry): void {
  append(
    ui.timeline,
    h(
      'li',
      {
        class: entry.failure === true ? 'failure' : undefined,
        'data-testid': 'timeline-event',
        'data-event': entry.event,
        'data-code': entry.code,
      },
      h('time', {}, clock(new Date())),
      h('span', { class: 'event' }, entry.event),
      h('span', { class: 'detail' }, entry.detail),
    ),
  );
}
