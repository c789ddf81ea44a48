/**
 * The Unity WebGL bridge (PROTOCOL §6): the C# `WebGLPeerClient` drives a
 * rxpeer PeerClient through named actions, one function and callbacks.
 * Every bridge name lives in {@link BRIDGE} below, nowhere else.
 */
import { Subscription, firstValueFrom, type Observable } from 'rxjs';
import { PeerClient } from '../client/PeerClient.js';
import type { PeerClientDeps, PeerSocketOptions } from '../client/types.js';
import {
  AckTimeoutError,
  BridgeError,
  HostNameAlreadyExistsError,
  ServerRejectedError,
  SignalingConnectError,
  describe,
} from '../errors.js';
import { createLogger, type LogSink, type Logger } from '../logger.js';
import { Status } from '../protocol/wire.js';
import {
  findUnityBinding,
  installUnityBinding,
  runtimeBehind,
  webCommonHelper,
  type UnityBinding,
  type WebCommonHelper,
} from './webCommon.js';

const PREFIX = 'WebGLPeerClient#';

/** Every name of PROTOCOL §6, prefixed. */
export const BRIDGE = {
  actions: {
    construct: `${PREFIX}WebGLPeerClient`,
    startHost: `${PREFIX}DoStartHostAsync`,
    listHosts: `${PREFIX}DoListHostsAsync`,
    startClient: `${PREFIX}DoStartClientAsync`,
    stop: `${PREFIX}DoStopAsync`,
  },
  functions: {
    getClientId: `${PREFIX}GetClientId`,
  },
  callbacks: {
    started: `${PREFIX}HandleOnStarted`,
    connectFailed: `${PREFIX}HandleOnConnectFailed`,
    disconnected: `${PREFIX}HandleOnDisconnected`,
    userConnecting: `${PREFIX}HandleOnUserConnecting`,
    userDisconnecting: `${PREFIX}HandleOnUserDisconnecting`,
    startHostResponse: `${PREFIX}ReceiveStartHostResponse`,
    listHostsResponse: `${PREFIX}ReceiveListHostsResponse`,
  },
} as const;

/** Hands out the live PeerClient; throws until Unity has constructed it. */
export type PeerClientProvider = () => PeerClient;

/** The config JSON the C# side sends with the constructor action. */
export interface WebGLPeerConfigJson {
  url: string;
  socketOptions?: { connectionTimeout?: number; reconnection?: boolean; withCredentials?: boolean };
  pcConfig?: { iceServers?: { urls: string | string[]; username?: string; credential?: string }[] };
  vanillaIceTimeout?: number;
  isDebug?: boolean;
}

export interface PeerAdapterOptions {
  /** Passed to the PeerClient (a Node WebRTC engine in specs; the browser's own by default). */
  deps?: PeerClientDeps;
  /** Where log lines go (the console by default). */
  logSink?: LogSink;
  /**
   * Where `adapt()` looks for, and if missing installs, Unity's Web.Common
   * binding (`__getNop` / `__getMethod`). Default `globalThis`, the page.
   */
  bindingTarget?: object;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Parses and checks the C# config; a broken one is a {@link BridgeError} naming the field. */
export function parseWebGLPeerConfig(json: string): WebGLPeerConfigJson {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new BridgeError(`The ${BRIDGE.actions.construct} config is not JSON: ${describe(error)}`);
  }
  if (!isRecord(value)) throw new BridgeError(`The ${BRIDGE.actions.construct} config is not a JSON object`);
  if (typeof value.url !== 'string' || value.url === '') {
    throw new BridgeError(`The ${BRIDGE.actions.construct} config has no "url"`, { field: 'url' });
  }
  for (const field of ['socketOptions', 'pcConfig'] as const) {
    if (value[field] !== undefined && value[field] !== null && !isRecord(value[field])) {
      throw new BridgeError(`The ${BRIDGE.actions.construct} config's "${field}" is not an object`, { field });
    }
  }
  if (value.vanillaIceTimeout !== undefined && typeof value.vanillaIceTimeout !== 'number') {
    throw new BridgeError(`The ${BRIDGE.actions.construct} config's "vanillaIceTimeout" is not a number`, {
      field: 'vanillaIceTimeout',
    });
  }
  return value as unknown as WebGLPeerConfigJson;
}

/** C# sends empty strings for absent TURN credentials; RTCPeerConnection wants them absent. */
function toRtcConfiguration(pcConfig: WebGLPeerConfigJson['pcConfig']): RTCConfiguration {
  const iceServers = (pcConfig?.iceServers ?? []).map((server) => ({
    urls: server.urls,
    ...(server.username ? { username: server.username } : {}),
    ...(server.credential ? { credential: server.credential } : {}),
  }));
  return { iceServers };
}

function toSocketOptions(options: WebGLPeerConfigJson['socketOptions']): PeerSocketOptions {
  const result: PeerSocketOptions = {};
  if (options?.connectionTimeout !== undefined && options.connectionTimeout > 0) {
    result.connectionTimeout = options.connectionTimeout;
  }
  if (options?.reconnection !== undefined) result.reconnection = options.reconnection;
  if (options?.withCredentials !== undefined) result.withCredentials = options.withCredentials;
  return result;
}

/** The status a failed `list hosts` reports to C# (which reads only `hosts`, so a failure lists no rooms). */
function statusOf(error: unknown): { status: number; message: string } {
  if (error instanceof HostNameAlreadyExistsError) {
    return { status: Status.Conflict, message: error.serverMessage };
  }
  if (error instanceof ServerRejectedError) return { status: error.status, message: error.serverMessage };
  if (error instanceof AckTimeoutError) return { status: 504, message: error.message };
  if (error instanceof SignalingConnectError) return { status: 503, message: error.message };
  return { status: 500, message: describe(error) };
}

/**
 * The answer C# gets for a `create host` that did not succeed. C#'s
 * `PeerClient.StartHostAsync` fails only on status 409 and takes any other
 * status as success (it fires OnStarted), so every refusal (a name the server
 * or rxpeer refuses, a rate limit, a server that is down or never answers)
 * goes to C# as 409, a `HostNameAlreadyExistsException` there, with the real
 * reason in `message`.
 */
function refusedStartHost(error: unknown): { status: number; message: string } {
  if (error instanceof HostNameAlreadyExistsError) {
    return { status: Status.Conflict, message: error.serverMessage };
  }
  return { status: Status.Conflict, message: describe(error) };
}

/**
 * Registers the bridge's actions and function, and maps the client's streams
 * to the C# callbacks.
 *
 * @example
 * const peerAdapter = new PeerAdapter();
 * peerAdapter.adapt();
 * // later, once Unity has constructed the client:
 * peerAdapter.getPeerClient().addPcCreateHook((id, isOffer, pc) => { … });
 */
export class PeerAdapter {
  private client: PeerClient | undefined;
  private wiring = new Subscription();
  private log: Logger;
  /** The binding `adapt()` installed, if it had to; `dispose()` removes it. */
  private binding: UnityBinding | undefined;

  constructor(
    private readonly helper: WebCommonHelper = webCommonHelper,
    private readonly options: PeerAdapterOptions = {},
  ) {
    this.log = createLogger('rxpeer:bridge', 'info', options.logSink);
  }

  /**
   * Registers every action and the function of PROTOCOL §6, and makes sure
   * Unity can reach them: when the page has no Web.Common binding yet
   * (`__getNop` / `__getMethod`), it installs rxpeer's, as importing the
   * Extreal package does. A binding already there (from
   * `installUnityBinding()`, the shipped IIFE, or the original package) is
   * left as it is. Calling it again is harmless.
   *
   * @throws BridgeError when the page's bridge registry belongs to an
   *   incompatible rxpeer version.
   */
  adapt = (): void => {
    this.ensureBinding();
    const { helper } = this;
    helper.addAction(BRIDGE.actions.construct, (json) => this.construct(json));
    helper.addAction(BRIDGE.actions.startHost, (name) => {
      this.respond(
        BRIDGE.callbacks.startHostResponse,
        this.getPeerClient().startHostResponse$(name),
        (response) => ({ status: response.status, message: response.message }),
        (error) => refusedStartHost(error),
      );
    });
    helper.addAction(BRIDGE.actions.listHosts, () => {
      this.respond(
        BRIDGE.callbacks.listHostsResponse,
        this.getPeerClient().listHosts$(),
        (hosts) => ({ status: Status.Ok, hosts }),
        (error) => ({ ...statusOf(error), hosts: [] }),
      );
    });
    helper.addAction(BRIDGE.actions.startClient, (hostId) => {
      this.getPeerClient()
        .startClient(hostId)
        .catch((error: unknown) => this.log.error('start client failed', { hostId, error: describe(error) }));
    });
    helper.addAction(BRIDGE.actions.stop, () => {
      this.getPeerClient()
        .stop()
        .catch((error: unknown) => this.log.error('stop failed', { error: describe(error) }));
    });
    helper.addFunction(BRIDGE.functions.getClientId, () => this.client?.clientId ?? '');
  };

  /**
   * The live PeerClient. Pass the function itself around (`getPeerClient`
   * is bound); it throws a {@link BridgeError} until Unity has called the
   * constructor action.
   */
  getPeerClient: PeerClientProvider = () => {
    if (this.client === undefined) {
      throw new BridgeError(
        `No PeerClient yet: Unity has not called ${BRIDGE.actions.construct} (create the WebGLPeerClient in C# first)`,
      );
    }
    return this.client;
  };

  /**
   * Stops and releases the client (the page is going away, or a test ends),
   * and removes the Web.Common binding if `adapt()` installed it.
   */
  async dispose(): Promise<void> {
    this.binding?.uninstall();
    this.binding = undefined;
    this.wiring.unsubscribe();
    this.wiring = new Subscription();
    const client = this.client;
    this.client = undefined;
    await client?.dispose();
  }

  /**
   * Installs the Web.Common binding for the runtime behind the helper when
   * the page has none; says so in the log when C#'s calls would not reach
   * this adapter's registrations.
   */
  private ensureBinding(): void {
    const target = this.options.bindingTarget ?? globalThis;
    const runtime = runtimeBehind(this.helper);
    const found = findUnityBinding(target);
    if (runtime === undefined) {
      // The original Web.Common package's functions: importing that package defines the binding.
      if (found.kind === 'none') {
        this.log.warn(
          'no Web.Common binding (__getNop / __getMethod) on the page, and the helper passed is not rxpeer\'s: ' +
            'import the package that provides it before adapt(), or call installUnityBinding()',
        );
      }
      return;
    }
    if (found.kind === 'none') {
      this.binding = installUnityBinding(target, runtime);
      this.log.debug('installed the Web.Common binding (__getNop / __getMethod)');
    } else if (found.kind === 'other') {
      this.log.warn('the page\'s Web.Common binding is not rxpeer\'s: C# calls reach that helper, not this adapter');
    } else if (found.registry !== runtime.registry) {
      this.log.warn('the page\'s Web.Common binding reaches another rxpeer bridge runtime than this adapter\'s helper');
    }
  }

  private construct(json: string): void {
    const config = parseWebGLPeerConfig(json);
    this.log = createLogger('rxpeer:bridge', config.isDebug === true ? 'debug' : 'info', this.options.logSink);
    if (this.client !== undefined) {
      this.log.info('the WebGLPeerClient was constructed again; the previous client is disposed');
      void this.dispose();
    }
    const client = new PeerClient(
      {
        url: config.url,
        socketOptions: toSocketOptions(config.socketOptions),
        pcConfig: toRtcConfiguration(config.pcConfig),
        ...(config.vanillaIceTimeout !== undefined ? { vanillaIceTimeout: config.vanillaIceTimeout } : {}),
        // OnStartFailed and the start timeout live on the C# side for WebGL.
        p2pTimeout: 0,
        logger: this.log,
      },
      this.options.deps,
    );
    this.client = client;
    const { callbacks } = BRIDGE;
    const call = (name: string, str1?: string): void => this.helper.callback(name, str1);
    // Nothing here fires synchronously: C# registers its callbacks right after this action returns.
    this.wiring.add(client.started$.subscribe(() => call(callbacks.started)));
    this.wiring.add(client.connectFailed$.subscribe((reason) => call(callbacks.connectFailed, reason)));
    this.wiring.add(client.disconnected$.subscribe((reason) => call(callbacks.disconnected, reason)));
    this.wiring.add(client.userConnecting$.subscribe((id) => call(callbacks.userConnecting, id)));
    this.wiring.add(client.userDisconnecting$.subscribe((id) => call(callbacks.userDisconnecting, id)));
    this.wiring.add(client.errors$.subscribe((error) => this.log.debug(error.message, { code: error.code })));
  }

  /** Runs a request and always answers C#, which waits for a response. */
  private respond<T>(
    callbackName: string,
    request$: Observable<T>,
    ok: (value: T) => object,
    failed: (error: unknown) => object,
  ): void {
    firstValueFrom(request$)
      .then(
        (value) => this.helper.callback(callbackName, JSON.stringify(ok(value))),
        (error: unknown) => {
          this.log.info('request failed', { callback: callbackName, error: describe(error) });
          this.helper.callback(callbackName, JSON.stringify(failed(error)));
        },
      )
      .catch((error: unknown) => this.log.error('could not answer C#', { callback: callbackName, error: describe(error) }));
  }
}
