/**
 * The rxpeer demo: host a room or join one, chat with every member over a
 * data channel (`client.channel('chat')`), and watch the client's streams live (`peers$` as a table,
 * the lifecycle streams as a timeline). Plain DOM and RxJS.
 *
 * A session is one Observable: subscribing to it makes a PeerClient, wires
 * its streams to the page and starts it. It ends when Leave has stopped the
 * client (so the timeline still draws the goodbyes) or when a start failed;
 * its teardown disposes the client, and every subscription goes with it.
 */
import {
  EMPTY,
  Observable,
  asapScheduler,
  catchError,
  combineLatest,
  concatMap,
  defer,
  exhaustMap,
  filter,
  finalize,
  fromEvent,
  ignoreElements,
  map,
  merge,
  mergeMap,
  observeOn,
  of,
  scan,
  share,
  shareReplay,
  startWith,
  take,
  takeUntil,
  takeWhile,
  tap,
  throwError,
  withLatestFrom,
} from 'rxjs';
import {
  ClientStoppedError,
  PeerClient,
  RxpeerError,
  createLogger,
  type HostInfo,
} from '../../src/index';
import {
  appendChat,
  appendEvent,
  renderChatEnabled,
  renderHosts,
  renderPeers,
  renderSession,
  ui,
  type TimelineEntry,
} from './view';

const CHAT_LABEL = 'chat';
/** The library's own lines go to the console; `?debug` shows every message and candidate. */
const logger = createLogger(
  'rxpeer',
  new URLSearchParams(location.search).has('debug') ? 'debug' : 'info',
);

type Start = { role: 'host'; name: string } | { role: 'client'; hostId: string; name: string };

ui.url.value = location.origin;
const signalingUrl = (): string => ui.url.value.trim() || location.origin;

function errorEntry(error: unknown): TimelineEntry {
  return error instanceof RxpeerError
    ? { event: 'error', code: error.code, detail: `${error.code}: ${error.message}`, failure: true }
    : { event: 'error', detail: String(error), failure: true };
}

/** Every lifecycle stream of the client, as timeline entries. */
function timeline$(client: PeerClient): Observable<TimelineEntry> {
  return merge(
    client.started$.pipe(map((id) => ({ event: 'started', detail: `own id ${id}` }))),
    client.startFailed$.pipe(
      map((error) => ({
        event: 'startFailed',
        code: error.code,
        detail: `${error.code}: ${error.message}; the client stopped`,
        failure: true,
      })),
    ),
    client.connectFailed$.pipe(
      map((reason) => ({ event: 'connectFailed', detail: reason, failure: true })),
    ),
    client.disconnected$.pipe(
      map((reason) => ({ event: 'disconnected', detail: reason, failure: true })),
    ),
    client.reconnected$.pipe(map((id) => ({ event: 'reconnected', detail: `signaling id ${id}` }))),
    client.userConnecting$.pipe(map((id) => ({ event: 'userConnecting', detail: id }))),
    client.userDisconnecting$.pipe(map((id) => ({ event: 'userDisconnecting', detail: id }))),
    client.errors$.pipe(map(errorEntry)),
  );
}

/** One session as host or client; see the file comment. */
function session$(start: Start): Observable<never> {
  return defer(() => {
    const client = new PeerClient({ url: signalingUrl(), logger });
    // The chat: one data channel with every member, whichever side offered.
    const chat = client.channel(CHAT_LABEL);
    const target = start.role === 'host' ? start.name : `${start.name} (${start.hostId})`;
    appendEvent({ event: start.role === 'host' ? 'startHost' : 'startClient', detail: target });

    const status$ = client.state$.pipe(
      map((state) =>
        state.status === 'started'
          ? ({ state: 'started', role: start.role, id: state.id ?? '' } as const)
          : ({ state: 'starting', role: start.role, target } as const),
      ),
      tap(renderSession),
    );
    const incoming$ = chat.messages$.pipe(
      map(({ from, data }) => ({
        from,
        text: typeof data === 'string' ? data : `<${data.byteLength} bytes>`,
      })),
      tap(appendChat),
    );
    const outgoing$ = fromEvent<SubmitEvent>(ui.chatForm, 'submit').pipe(
      tap((e) => e.preventDefault()),
      map(() => ui.chatInput.value.trim()),
      filter((text) => text !== ''),
      tap((text) => {
        ui.chatInput.value = '';
        appendChat({ from: client.clientId ?? 'me', text, mine: true });
      }),
      // Each message goes once it is handed to every open channel; a failure shows on the timeline.
      concatMap((text) =>
        defer(() => chat.broadcast(text)).pipe(
          catchError((error: unknown) => {
            appendEvent(errorEntry(error));
            return EMPTY;
          }),
        ),
      ),
    );
    const peers$ = combineLatest([client.peers$, chat.open$]).pipe(
      tap(([peers, open]) => renderPeers([...peers.values()], open)),
    );
    const start$ = (
      start.role === 'host' ? client.startHost$(start.name) : client.startClient$(start.hostId)
    ).pipe(
      // Leave pressed while starting is not a failure; a start failure is on the timeline already.
      catchError((error: unknown) =>
        error instanceof ClientStoppedError ||
        (error instanceof RxpeerError &&
          (error.code === 'START_TIMEOUT' || error.code === 'HOST_LEFT'))
          ? EMPTY
          : throwError(() => error),
      ),
    );
    const ended$ = merge(
      fromEvent(ui.leave, 'click').pipe(
        take(1),
        mergeMap(() => client.stop$()),
      ),
      // A failed start has stopped the client already; end once the timeline has drawn it.
      client.startFailed$.pipe(observeOn(asapScheduler)),
    );

    return merge(
      status$,
      timeline$(client).pipe(tap(appendEvent)),
      peers$,
      chat.open$.pipe(tap((open) => renderChatEnabled(open.size))),
      incoming$,
      outgoing$,
      // Last, so everything above is listening before the client starts.
      start$,
    ).pipe(
      ignoreElements(),
      takeUntil(ended$),
      finalize(() => {
        void client.dispose();
        renderSession({ state: 'idle' });
        renderPeers([], new Set());
        renderChatEnabled(0);
        appendEvent({ event: 'stopped', detail: 'client disposed' });
      }),
    );
  });
}

/** The hosts on the server, through a client made for the question and disposed after it. */
function listHosts$(): Observable<HostInfo[]> {
  return defer(() => {
    const lobby = new PeerClient({
      url: signalingUrl(),
      logger,
      socketOptions: { reconnection: false },
    });
    return lobby.listHosts$().pipe(finalize(() => void lobby.dispose()));
  });
}

const hostStarts$ = fromEvent<SubmitEvent>(ui.hostForm, 'submit').pipe(
  tap((e) => e.preventDefault()),
  map((): Start => ({ role: 'host', name: ui.hostName.value.trim() })),
  filter((start) => start.name !== ''),
);
const joins$ = fromEvent<MouseEvent>(ui.hosts, 'click').pipe(
  map((e) => (e.target as Element).closest<HTMLButtonElement>('button[data-host-id]')),
  filter((button): button is HTMLButtonElement => button !== null),
  map((button): Start => ({
    role: 'client',
    hostId: button.dataset.hostId ?? '',
    name: button.dataset.hostName ?? '',
  })),
);

// One session at a time: starts while one runs are ignored (their buttons are disabled too).
merge(hostStarts$, joins$)
  .pipe(
    exhaustMap((start) =>
      session$(start).pipe(
        // A rejected start (name taken, server unreachable …) is not on errors$: show it here.
        catchError((error: unknown) => {
          appendEvent(errorEntry(error));
          return EMPTY;
        }),
      ),
    ),
  )
  .subscribe();

// The host list: on load and on every Refresh.
fromEvent(ui.refresh, 'click')
  .pipe(
    startWith(undefined),
    exhaustMap(() =>
      listHosts$().pipe(
        catchError((error: unknown) =>
          of(`could not list hosts: ${error instanceof Error ? error.message : String(error)}`),
        ),
      ),
    ),
  )
  .subscribe(renderHosts);

renderSession({ state: 'idle' });
renderChatEnabled(0);
