/**
 * rxpeer's implementation of the Extreal Web.Common helper contract
 * (`@extreal-dev/extreal.integration.web.common`): named **actions**
 * (C# → JS, no result), **functions** (C# → JS, string result) and
 * **callbacks** (JS → C#), each with up to two strings. See PROTOCOL §6.
 *
 * Unity's `helper.jslib` binds its imports through two globals,
 * `__getNop(helper, getGLctx)` and `__getMethod(name)`, which
 * {@link installUnityBinding} defines. It must run before Unity's loader
 * script, because the jslib calls both while the wasm module is set up.
 *
 * All state lives in a {@link BridgeRegistry} that a
 * {@link UnityBridgeRuntime} works on. The free functions
 * {@link addAction}, {@link addFunction} and {@link callback} use
 * {@link defaultUnityBridgeRuntime}, whose registry is the page's one shared
 * registry on `globalThis` (see {@link BRIDGE_REGISTRY_KEY}): every copy of
 * rxpeer's bridge code on a page (the shipped IIFE, an app bundle with its
 * own copy) registers into and calls from that one registry, so a page has
 * one bridge runtime whatever was loaded first.
 */

import { BridgeError, describe } from '../errors.js';
import { createLogger, type Logger, type LogSink } from '../logger.js';
import {
  allocHeapString,
  readHeapString,
  withHeapStrings,
  type EmscriptenHelper,
  type GetGLContext,
  type HeapPtr,
} from './heap.js';

export type { EmscriptenHelper, EmscriptenModule, GetGLContext, HeapPtr } from './heap.js';

/** A JavaScript action that C# calls by name; no result. */
export type WebCommonAction = (str1: string, str2: string) => void;

/** A JavaScript function that C# calls by name; its string goes back to C#. */
export type WebCommonFunction = (str1: string, str2: string) => string;

/**
 * The Web.Common helper contract. An app that has the original
 * `@extreal-dev/extreal.integration.web.common` package can pass its
 * `{ addAction, addFunction, callback }` wherever rxpeer takes one of these.
 */
export interface WebCommonHelper {
  /** Registers `action` under `name` for C#'s `WebGLHelper.CallAction`. */
  addAction(name: string, action: WebCommonAction): void;
  /** Registers `func` under `name` for C#'s `WebGLHelper.CallFunction`. */
  addFunction(name: string, func: WebCommonFunction): void;
  /** Calls the C# callback registered under `name` (`WebGLHelper.AddCallback`). */
  callback(name: string, str1?: string, str2?: string): void;
}

/** The config C#'s `WebGLHelper.Initialize` passes, as JSON, to the nop. */
export interface WebCommonConfig {
  readonly isDebug: boolean;
}

/** The imports of Unity's `helper.jslib`, as `__getMethod(name)` returns them. */
export interface UnityBindingMethods {
  /** C# `WebGLHelper.CallAction(name, str1, str2)`. */
  CallAction(namePtr: HeapPtr, str1Ptr: HeapPtr, str2Ptr: HeapPtr): void;
  /** C# `WebGLHelper.CallFunction(name, str1, str2)`; returns a `_malloc`ed string that C# owns. */
  CallFunction(namePtr: HeapPtr, str1Ptr: HeapPtr, str2Ptr: HeapPtr): HeapPtr;
  /** C# `WebGLHelper.AddCallback(name, action)`; `callbackPtr` indexes the wasm function table. */
  AddCallback(namePtr: HeapPtr, callbackPtr: number): void;
}

/** A name `__getMethod` accepts. */
export type UnityMethodName = keyof UnityBindingMethods;

/** The names `__getMethod` accepts, in the order `helper.jslib` binds them. */
export const UNITY_METHOD_NAMES: readonly UnityMethodName[] = [
  'CallAction',
  'CallFunction',
  'AddCallback',
];

/** `globalThis.__getNop`: the jslib's `Nop` import, called by `WebGLHelper.Initialize`. */
export type GetNop = (
  helper: EmscriptenHelper,
  getGLctx: GetGLContext,
) => (jsonConfigPtr: HeapPtr) => void;

/** `globalThis.__getMethod`: one of the jslib's method imports by name. */
export type GetMethod = (name: string) => UnityBindingMethods[UnityMethodName];

/**
 * Where the page's shared {@link BridgeRegistry} lives: `globalThis[BRIDGE_REGISTRY_KEY]`.
 * `Symbol.for` gives every copy of rxpeer's code the same symbol, without a
 * string property anyone could collide with by accident.
 */
export const BRIDGE_REGISTRY_KEY: unique symbol = Symbol.for('rxpeer.bridge.registry');

/**
 * The layout version of {@link BridgeRegistry}. Copies of the bridge code that
 * share a registry must agree on it; a copy that finds another version on the
 * page refuses to run ({@link BridgeError}) rather than split the page into
 * two runtimes that each see half of the names.
 */
export const BRIDGE_REGISTRY_VERSION = 1;

/**
 * The state of one Unity ↔ JavaScript bridge, as plain data so that every
 * copy of the bridge code can work on it: the registered actions and
 * functions, the C# callbacks (indices into Unity's wasm function table), the
 * Emscripten helper Unity bound, and the debug flag of the last
 * `WebGLHelper.Initialize`. Layout version 1; a change to what a field means
 * needs a new {@link BRIDGE_REGISTRY_VERSION}.
 */
export interface BridgeRegistry {
  readonly version: typeof BRIDGE_REGISTRY_VERSION;
  readonly actions: Map<string, WebCommonAction>;
  readonly functions: Map<string, WebCommonFunction>;
  readonly callbacks: Map<string, number>;
  helper: EmscriptenHelper | undefined;
  getGLctx: GetGLContext | undefined;
  isDebug: boolean;
}

function newRegistry(): BridgeRegistry {
  return {
    version: BRIDGE_REGISTRY_VERSION,
    actions: new Map(),
    functions: new Map(),
    callbacks: new Map(),
    helper: undefined,
    getGLctx: undefined,
    isDebug: false,
  };
}

/**
 * The shared registry on `target` (the page's `globalThis` by default),
 * created on first use. It is defined non-enumerable, read-only and
 * non-configurable, so no copy can replace it once it exists.
 *
 * @throws BridgeError when `target` holds something else under the key, or a
 *   registry of another layout version (two incompatible rxpeer versions on one page).
 */
export function sharedBridgeRegistry(target: object = globalThis): BridgeRegistry {
  const found: unknown = Reflect.get(target, BRIDGE_REGISTRY_KEY);
  if (found === undefined) {
    const registry = newRegistry();
    const defined = Reflect.defineProperty(target, BRIDGE_REGISTRY_KEY, {
      value: registry,
      writable: false,
      configurable: false,
      enumerable: false,
    });
    if (!defined) {
      throw new BridgeError("Cannot define the bridge registry (Symbol.for('rxpeer.bridge.registry')) on the target");
    }
    return registry;
  }
  const version: unknown =
    typeof found === 'object' && found !== null ? (found as { version?: unknown }).version : undefined;
  if (typeof version !== 'number') {
    throw new BridgeError(
      "Symbol.for('rxpeer.bridge.registry') on this page holds something that is not an rxpeer bridge registry",
    );
  }
  if (version !== BRIDGE_REGISTRY_VERSION) {
    throw new BridgeError(
      `Two incompatible copies of rxpeer's Unity bridge on one page: this one uses bridge registry version ${BRIDGE_REGISTRY_VERSION}, ` +
        `the page's registry is version ${version}. Load rxpeer-bridge.iife.js and bundle the app script from the same rxpeer version.`,
      { version, expected: BRIDGE_REGISTRY_VERSION },
    );
  }
  return found as BridgeRegistry;
}

/** Options of a {@link UnityBridgeRuntime}. */
export interface UnityBridgeRuntimeOptions {
  /** Where log lines go (default: the console sink of `src/logger.ts`). */
  readonly logSink?: LogSink;
  /**
   * Work on the page's shared registry ({@link sharedBridgeRegistry}) instead
   * of a private one. {@link defaultUnityBridgeRuntime} does; a runtime you
   * create is private unless you say so.
   */
  readonly shared?: boolean;
  /** Where the shared registry lives when `shared` is true (default `globalThis`). */
  readonly sharedTarget?: object;
}

const LOG_NAMESPACE = 'rxpeer:bridge';

/**
 * One Unity ↔ JavaScript bridge: the Web.Common helper methods and the jslib
 * imports, working on a {@link BridgeRegistry}. A runtime you create has a
 * private registry (isolation for tests, or two Unity instances on one page);
 * {@link defaultUnityBridgeRuntime} works on the page's shared one, as does
 * any runtime created with `{ shared: true }`.
 *
 * Registering an action or function under a name that already has one
 * replaces it (with a debug log): an adapter may re-register after a Unity
 * reload. A C# callback registered twice likewise points at the newer one.
 *
 * The helper methods are bound properties, so `const { callback } = runtime`
 * works.
 */
export class UnityBridgeRuntime implements WebCommonHelper {
  readonly #logSink: LogSink | undefined;
  readonly #sharedTarget: object | undefined;
  #registry: BridgeRegistry | undefined;
  #logger: Logger;
  #loggerIsDebug = false;

  /** The jslib's imports bound to this runtime; `__getMethod(name)` returns one of these. */
  readonly methods: Readonly<UnityBindingMethods>;

  constructor(options: UnityBridgeRuntimeOptions = {}) {
    this.#logSink = options.logSink;
    this.#sharedTarget = options.shared === true ? (options.sharedTarget ?? globalThis) : undefined;
    if (this.#sharedTarget === undefined) this.#registry = newRegistry();
    this.#logger = createLogger(LOG_NAMESPACE, 'info', this.#logSink);
    this.methods = Object.freeze({
      CallAction: (namePtr: HeapPtr, str1Ptr: HeapPtr, str2Ptr: HeapPtr): void =>
        this.#callAction(namePtr, str1Ptr, str2Ptr),
      CallFunction: (namePtr: HeapPtr, str1Ptr: HeapPtr, str2Ptr: HeapPtr): HeapPtr =>
        this.#callFunction(namePtr, str1Ptr, str2Ptr),
      AddCallback: (namePtr: HeapPtr, callbackPtr: number): void =>
        this.#addCallback(namePtr, callbackPtr),
    });
  }

  /**
   * The registry this runtime works on. A shared one is looked up on first
   * use (not when the runtime is made), so a bundle that is merely loaded
   * never throws.
   *
   * @throws BridgeError when the page's shared registry is of another version.
   */
  get registry(): BridgeRegistry {
    this.#registry ??= sharedBridgeRegistry(this.#sharedTarget);
    return this.#registry;
  }

  /** Whether the last `WebGLHelper.Initialize` config asked for debug logging. */
  get isDebug(): boolean {
    return this.registry.isDebug;
  }

  /** Whether Unity has handed over its Emscripten helper (`__getNop` was called). */
  get isBound(): boolean {
    return this.registry.helper !== undefined;
  }

  /**
   * Registers `action` under `name`; C# calls it with `CallAction(name, str1, str2)`.
   * Replaces an action already registered under `name`.
   */
  readonly addAction = (name: string, action: WebCommonAction): void => {
    this.#register('action', this.registry.actions, name, action);
  };

  /**
   * Registers `func` under `name`; C# calls it with `CallFunction(name, str1, str2)`
   * and gets its string back. Replaces a function already registered under `name`.
   */
  readonly addFunction = (name: string, func: WebCommonFunction): void => {
    this.#register('function', this.registry.functions, name, func);
  };

  /**
   * Calls the C# callback registered under `name` with two strings (missing
   * ones are `""`). The strings are copied into the Emscripten heap and freed
   * once C# returns, also when it throws; what C# throws is rethrown as is.
   *
   * @throws BridgeError when C# has not registered `name` (yet) or Unity is not bound.
   */
  readonly callback = (name: string, str1 = '', str2 = ''): void => {
    const callbackPtr = this.registry.callbacks.get(name);
    if (callbackPtr === undefined) {
      throw new BridgeError(
        `Unknown callback "${name}": C# has not registered it with WebGLHelper.AddCallback`,
        { callback: name },
      );
    }
    const helper = this.#requireHelper(`callback "${name}"`);
    const module = helper.Module;
    if (typeof module.dynCall_vii !== 'function') {
      throw new BridgeError(
        `Cannot call back "${name}": the Emscripten Module has no dynCall_vii`,
        { callback: name },
      );
    }
    this.#log().debug('callback to C#', { name });
    withHeapStrings(helper, str1, str2, (ptr1, ptr2) => {
      module.dynCall_vii(callbackPtr, ptr1, ptr2);
    });
  };

  /**
   * What `globalThis.__getNop(helper, getGLctx)` does: records Unity's
   * Emscripten helper (its members are read at each call, since `_malloc`
   * appears on `Module` only once wasm is ready) and returns the `Nop` import,
   * which reads the `{ "isDebug": bool }` config and sets the log level.
   *
   * Binding a different helper (a new Unity instance) forgets the C#
   * callbacks of the old one: their pointers index the old function table.
   */
  getNop(helper: EmscriptenHelper, getGLctx: GetGLContext): (jsonConfigPtr: HeapPtr) => void {
    if (typeof helper !== 'object' || helper === null || typeof helper.Module !== 'object') {
      throw new BridgeError('__getNop needs the Emscripten helper { Module, UTF8ToString, … }');
    }
    this.#bind(helper, getGLctx);
    return (jsonConfigPtr: HeapPtr): void => {
      this.#bind(helper, getGLctx);
      this.#configure(parseConfig(readHeapString(helper, jsonConfigPtr)));
    };
  }

  /**
   * What `globalThis.__getMethod(name)` does: the jslib import called `name`.
   *
   * @throws BridgeError naming `name` when it is not one of {@link UNITY_METHOD_NAMES}.
   */
  getMethod(name: string): UnityBindingMethods[UnityMethodName] {
    switch (name) {
      case 'CallAction':
      case 'CallFunction':
      case 'AddCallback':
        return this.methods[name];
      default:
        throw new BridgeError(
          `Unknown Web.Common method "${name}": expected one of ${UNITY_METHOD_NAMES.join(', ')}`,
          { method: name },
        );
    }
  }

  /**
   * The WebGL context Unity renders with (`GLctx`), for apps that draw into it.
   *
   * @throws BridgeError when Unity is not bound.
   */
  getGLContext(): unknown {
    this.#requireHelper('getGLContext');
    return this.registry.getGLctx?.();
  }

  /**
   * Forgets everything: actions, functions, callbacks, the bound helper and
   * the debug flag. For test teardown and for a page that unloads Unity. On
   * a shared registry this clears it for every copy of the bridge code.
   */
  reset(): void {
    const registry = this.registry;
    registry.actions.clear();
    registry.functions.clear();
    registry.callbacks.clear();
    registry.helper = undefined;
    registry.getGLctx = undefined;
    registry.isDebug = false;
  }

  /** The logger, at the level the registry's debug flag asks for (another copy may have changed it). */
  #log(): Logger {
    const isDebug = this.registry.isDebug;
    if (isDebug !== this.#loggerIsDebug) {
      this.#logger = createLogger(LOG_NAMESPACE, isDebug ? 'debug' : 'info', this.#logSink);
      this.#loggerIsDebug = isDebug;
    }
    return this.#logger;
  }

  #register<T>(kind: 'action' | 'function', registry: Map<string, T>, name: string, fn: T): void {
    if (typeof name !== 'string') {
      throw new BridgeError(`An ${kind} name must be a string, got ${typeof name}`, { kind });
    }
    if (typeof fn !== 'function') {
      throw new BridgeError(`The ${kind} "${name}" must be a function, got ${typeof fn}`, {
        kind,
        name,
      });
    }
    if (registry.has(name)) this.#log().debug(`replacing ${kind}`, { name });
    registry.set(name, fn);
  }

  #bind(helper: EmscriptenHelper, getGLctx: GetGLContext): void {
    const registry = this.registry;
    if (registry.helper !== undefined && registry.helper !== helper && registry.callbacks.size > 0) {
      this.#log().debug('new Unity instance: forgetting the old C# callbacks', {
        callbacks: [...registry.callbacks.keys()],
      });
      registry.callbacks.clear();
    }
    registry.helper = helper;
    registry.getGLctx = getGLctx;
  }

  #configure(config: WebCommonConfig): void {
    this.registry.isDebug = config.isDebug;
    this.#log().debug('Web.Common initialised', { isDebug: config.isDebug });
  }

  #requireHelper(what: string): EmscriptenHelper {
    const helper = this.registry.helper;
    if (helper === undefined) {
      throw new BridgeError(
        `Cannot run ${what}: Unity has not bound the Web.Common helper (__getNop was not called)`,
      );
    }
    return helper;
  }

  #callAction(namePtr: HeapPtr, str1Ptr: HeapPtr, str2Ptr: HeapPtr): void {
    const helper = this.#requireHelper('CallAction');
    const name = readHeapString(helper, namePtr);
    const action = this.registry.actions.get(name);
    if (action === undefined) {
      throw new BridgeError(`Unknown action "${name}": nothing was registered with addAction`, {
        action: name,
      });
    }
    const str1 = readHeapString(helper, str1Ptr);
    const str2 = readHeapString(helper, str2Ptr);
    this.#log().debug('action from C#', { name });
    action(str1, str2);
  }

  #callFunction(namePtr: HeapPtr, str1Ptr: HeapPtr, str2Ptr: HeapPtr): HeapPtr {
    const helper = this.#requireHelper('CallFunction');
    const name = readHeapString(helper, namePtr);
    const func = this.registry.functions.get(name);
    if (func === undefined) {
      throw new BridgeError(`Unknown function "${name}": nothing was registered with addFunction`, {
        function: name,
      });
    }
    const str1 = readHeapString(helper, str1Ptr);
    const str2 = readHeapString(helper, str2Ptr);
    this.#log().debug('function from C#', { name });
    const result: unknown = func(str1, str2);
    if (typeof result !== 'string') {
      throw new BridgeError(`The function "${name}" returned ${typeof result}, not a string`, {
        function: name,
      });
    }
    // C# owns the block: its marshaller frees it after copying the string.
    return allocHeapString(helper, result);
  }

  #addCallback(namePtr: HeapPtr, callbackPtr: number): void {
    const helper = this.#requireHelper('AddCallback');
    const name = readHeapString(helper, namePtr);
    const callbacks = this.registry.callbacks;
    if (callbacks.has(name)) this.#log().debug('replacing C# callback', { name });
    else this.#log().debug('C# callback added', { name });
    callbacks.set(name, callbackPtr);
  }
}

function parseConfig(json: string): WebCommonConfig {
  if (json === '') return { isDebug: false };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new BridgeError(`The Web.Common config is not JSON: ${describe(error)}`, { json });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BridgeError('The Web.Common config must be a JSON object', { json });
  }
  const isDebug: unknown = (value as Record<string, unknown>)['isDebug'];
  if (isDebug !== undefined && typeof isDebug !== 'boolean') {
    throw new BridgeError(
      `The Web.Common config's isDebug must be a boolean, got ${typeof isDebug}`,
      {
        json,
      },
    );
  }
  return { isDebug: isDebug === true };
}

/**
 * The runtime behind the free functions, {@link webCommonHelper} and the
 * default {@link installUnityBinding}. It works on the page's shared registry,
 * so the default runtime of every copy of rxpeer's bridge code on a page
 * (the shipped IIFE, an app bundle's own copy) is the same bridge.
 */
export const defaultUnityBridgeRuntime: UnityBridgeRuntime = new UnityBridgeRuntime({ shared: true });

/** Registers `action` under `name` on {@link defaultUnityBridgeRuntime}. */
export function addAction(name: string, action: (str1: string, str2: string) => void): void {
  defaultUnityBridgeRuntime.addAction(name, action);
}

/** Registers `func` under `name` on {@link defaultUnityBridgeRuntime}. */
export function addFunction(name: string, func: (str1: string, str2: string) => string): void {
  defaultUnityBridgeRuntime.addFunction(name, func);
}

/** Calls the C# callback `name` through {@link defaultUnityBridgeRuntime}. */
export function callback(name: string, str1?: string, str2?: string): void {
  defaultUnityBridgeRuntime.callback(name, str1, str2);
}

/** The free functions as one {@link WebCommonHelper}. */
export const webCommonHelper: WebCommonHelper = Object.freeze({ addAction, addFunction, callback });

/**
 * The rxpeer runtime behind a helper: {@link defaultUnityBridgeRuntime} for
 * {@link webCommonHelper}, the runtime itself for a {@link UnityBridgeRuntime},
 * and `undefined` for anything else (the original Web.Common package's
 * functions, which bring their own binding). @internal
 */
export function runtimeBehind(helper: WebCommonHelper): UnityBridgeRuntime | undefined {
  if (helper === webCommonHelper) return defaultUnityBridgeRuntime;
  return helper instanceof UnityBridgeRuntime ? helper : undefined;
}

/** What {@link installUnityBinding} returns. */
export interface UnityBinding {
  /** The runtime the globals delegate to. */
  readonly runtime: UnityBridgeRuntime;
  /**
   * Removes `__getNop`/`__getMethod`, restoring what the target had before.
   * Leaves a global alone if something else replaced it since. Idempotent.
   * Does nothing when the install found the binding already in place.
   */
  uninstall(): void;
}

const GLOBAL_NAMES = ['__getNop', '__getMethod'] as const;

/**
 * Marks the globals rxpeer installs with the registry they reach, so that
 * any copy of the bridge code can tell "already bound to this registry".
 */
const BINDING_MARK: unique symbol = Symbol.for('rxpeer.bridge.binding');

/** What a target's `__getNop`/`__getMethod` are, as far as rxpeer can tell. */
export type UnityBindingFound =
  | { readonly kind: 'none' }
  | { readonly kind: 'rxpeer'; readonly registry: BridgeRegistry }
  | { readonly kind: 'other' };

/**
 * Looks at `target.__getNop` and `target.__getMethod`: missing (either one),
 * installed by rxpeer (any copy; with the registry they reach), or defined by
 * something else (the original Web.Common package, when imported, does).
 */
export function findUnityBinding(target: object = globalThis): UnityBindingFound {
  const values = GLOBAL_NAMES.map((key) => Reflect.get(target, key) as unknown);
  if (!values.every((value) => typeof value === 'function')) return { kind: 'none' };
  const marks = values.map((value) => Reflect.get(value as object, BINDING_MARK) as unknown);
  const [first] = marks;
  if (first !== undefined && first !== null && marks.every((mark) => mark === first)) {
    return { kind: 'rxpeer', registry: first as BridgeRegistry };
  }
  return { kind: 'other' };
}

/**
 * Defines `target.__getNop` and `target.__getMethod` (PROTOCOL §6) so that
 * Unity's Web.Common `helper.jslib` binds to `runtime`. Call it before
 * Unity's loader script runs. Values the target already had are put back by
 * {@link UnityBinding.uninstall}.
 *
 * Installing again is harmless: when `target` already has rxpeer's binding to
 * the same registry (from this copy of the bridge code or another, for
 * example `PeerAdapter.adapt()` in an app bundle), nothing changes and the
 * returned binding's `uninstall` does nothing.
 *
 * @throws BridgeError when the page's shared registry is of another version.
 */
export function installUnityBinding(
  target: object = globalThis,
  runtime: UnityBridgeRuntime = defaultUnityBridgeRuntime,
): UnityBinding {
  const registry = runtime.registry;
  const found = findUnityBinding(target);
  if (found.kind === 'rxpeer' && found.registry === registry) {
    return { runtime, uninstall: () => undefined };
  }
  const getNop: GetNop = (helper, getGLctx) => runtime.getNop(helper, getGLctx);
  const getMethod: GetMethod = (name) => runtime.getMethod(name);
  const ours: Record<(typeof GLOBAL_NAMES)[number], object> = {
    __getNop: getNop,
    __getMethod: getMethod,
  };
  for (const fn of Object.values(ours)) {
    Reflect.defineProperty(fn, BINDING_MARK, { value: registry, enumerable: false });
  }
  const previous = GLOBAL_NAMES.map(
    (key) => [key, Reflect.getOwnPropertyDescriptor(target, key)] as const,
  );
  for (const key of GLOBAL_NAMES) {
    const defined = Reflect.defineProperty(target, key, {
      value: ours[key],
      writable: true,
      configurable: true,
      enumerable: false,
    });
    if (!defined) throw new BridgeError(`Cannot define ${key} on the target`, { global: key });
  }
  let installed = true;
  return {
    runtime,
    uninstall(): void {
      if (!installed) return;
      installed = false;
      for (const [key, descriptor] of previous) {
        if (Reflect.get(target, key) !== ours[key]) continue;
        if (descriptor === undefined) Reflect.deleteProperty(target, key);
        else Reflect.defineProperty(target, key, descriptor);
      }
    },
  };
}
