/**
 * An emulated Unity WebGL / Emscripten side for bridge specs.
 *
 * - {@link FakeHeap}: a byte heap with a first-fit allocator that detects
 *   double and invalid frees and lists live allocations (leak checks).
 * - {@link FakeUnity}: the Emscripten helper Unity's `helper.jslib` passes to
 *   `__getNop` (`Module._malloc/_free/dynCall_vii`, `lengthBytesUTF8`,
 *   `stringToUTF8`, `UTF8ToString`, `GL`), a wasm function table, and the
 *   C# side (`WebGLHelper`/`WebGLPeerClient`): `init`, `callAction`,
 *   `callFunction`, `addCallback`, marshalling strings through the heap the
 *   way IL2CPP does.
 *
 * The fake is strict where a real heap would silently corrupt memory:
 * reading or writing a string outside a live allocation throws.
 */

import type { EmscriptenHelper, EmscriptenModule, HeapPtr } from '../../src/bridge/heap.js';

const ALIGN = 8;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A block that was allocated and not freed yet. */
export interface LiveAllocation {
  readonly ptr: HeapPtr;
  readonly size: number;
  /** The block's bytes up to the first NUL, decoded leniently (for failure messages). */
  readonly preview: string;
}

interface Block {
  ptr: number;
  size: number;
}

/** A byte heap with a first-fit free-list allocator. Address 0 is never handed out. */
export class FakeHeap {
  readonly bytes: Uint8Array;
  #free: Block[];
  readonly #live = new Map<number, number>();
  readonly #freed = new Set<number>();
  #mallocs = 0;
  #frees = 0;

  constructor(size = 1024 * 1024) {
    this.bytes = new Uint8Array(size);
    this.#free = [{ ptr: ALIGN, size: size - ALIGN }];
  }

  /** Number of successful `malloc` calls so far. */
  get mallocCount(): number {
    return this.#mallocs;
  }

  /** Number of `free` calls that released a block. */
  get freeCount(): number {
    return this.#frees;
  }

  /** Allocates `size` bytes (rounded up to 8); returns 0 when nothing fits. */
  malloc(size: number): HeapPtr {
    if (!Number.isInteger(size) || size < 0) throw new Error(`malloc: bad size ${size}`);
    const need = Math.max(ALIGN, Math.ceil(size / ALIGN) * ALIGN);
    const index = this.#free.findIndex((block) => block.size >= need);
    if (index < 0) return 0;
    const block = this.#free[index] as Block;
    const ptr = block.ptr;
    if (block.size === need) this.#free.splice(index, 1);
    else {
      block.ptr += need;
      block.size -= need;
    }
    this.#live.set(ptr, need);
    this.#freed.delete(ptr);
    this.bytes.fill(0xcd, ptr, ptr + need); // garbage, like uninitialised memory
    this.#mallocs += 1;
    return ptr;
  }

  /** Frees a block; `free(0)` does nothing. Throws on a double or invalid free. */
  free(ptr: HeapPtr): void {
    if (ptr === 0) return;
    const size = this.#live.get(ptr);
    if (size === undefined) {
      throw new Error(
        this.#freed.has(ptr)
          ? `double free of ${ptr}`
          : `free of ${ptr}, which malloc never returned`,
      );
    }
    this.#live.delete(ptr);
    this.#freed.add(ptr);
    this.#frees += 1;
    this.bytes.fill(0xdd, ptr, ptr + size); // poison, so a use after free reads garbage
    this.#insertFree({ ptr, size });
  }

  /** The live allocations, in address order. */
  liveAllocations(): LiveAllocation[] {
    return [...this.#live.entries()]
      .sort(([a], [b]) => a - b)
      .map(([ptr, size]) => {
        const block = this.bytes.subarray(ptr, ptr + size);
        const nul = block.indexOf(0);
        const preview = new TextDecoder().decode(nul < 0 ? block : block.subarray(0, nul));
        return { ptr, size, preview };
      });
  }

  /** The live block that contains `ptr`, if any. */
  blockContaining(ptr: HeapPtr): { readonly start: number; readonly end: number } | undefined {
    for (const [start, size] of this.#live) {
      if (ptr >= start && ptr < start + size) return { start, end: start + size };
    }
    return undefined;
  }

  #insertFree(block: Block): void {
    const list = this.#free;
    let i = list.findIndex((b) => b.ptr > block.ptr);
    if (i < 0) i = list.length;
    list.splice(i, 0, block);
    // Coalesce with the next block, then with the previous one.
    const next = list[i + 1];
    if (next !== undefined && block.ptr + block.size === next.ptr) {
      block.size += next.size;
      list.splice(i + 1, 1);
    }
    const prev = list[i - 1];
    if (prev !== undefined && prev.ptr + prev.size === block.ptr) {
      prev.size += block.size;
      list.splice(i, 1);
    }
  }
}

/** One call the JS side made into a C# callback, with the strings C# read. */
export interface CallbackInvocation {
  readonly name: string;
  readonly str1: string;
  readonly str2: string;
  readonly ptr1: HeapPtr;
  readonly ptr2: HeapPtr;
}

/** A C# callback handler, as `Action<string, string>`. */
export type CSharpCallback = (str1: string, str2: string) => void;

/** The jslib imports as Unity binds them at start-up. */
interface JslibImports {
  Nop: (jsonConfigPtr: HeapPtr) => void;
  CallAction: (namePtr: HeapPtr, str1Ptr: HeapPtr, str2Ptr: HeapPtr) => void;
  CallFunction: (namePtr: HeapPtr, str1Ptr: HeapPtr, str2Ptr: HeapPtr) => HeapPtr;
  AddCallback: (namePtr: HeapPtr, callbackPtr: number) => void;
}

/** A marshalled C# string argument: `undefined` is C#'s default `""`, `null` a null pointer. */
export type CSharpString = string | null | undefined;

export interface FakeUnityOptions {
  /** Where `__getNop`/`__getMethod` are looked up (default `globalThis`). */
  readonly target?: object;
  readonly heapSize?: number;
  /** Leave `Module.dynCall_vii` out, as some Emscripten builds do. */
  readonly withoutDynCall?: boolean;
}

/** The emulated Unity WebGL player: Emscripten runtime plus the C# `WebGLHelper`. */
export class FakeUnity {
  readonly heap: FakeHeap;
  /** The Emscripten `Module` (`_malloc`, `_free`, `dynCall_vii`). */
  readonly module: EmscriptenModule;
  /** What `helper.jslib` passes to `__getNop`. */
  readonly helper: EmscriptenHelper;
  /** Stand-ins for Emscripten's `GL` and the current `GLctx`. */
  readonly gl = { fake: 'GL' };
  readonly glContext = { fake: 'GLctx' };
  /** Every call into a C# callback, in order. */
  readonly callbackLog: CallbackInvocation[] = [];
  readonly #table: Array<((p1: number, p2: number) => void) | undefined> = [undefined];
  readonly #target: object;
  #imports: JslibImports | undefined;

  constructor(options: FakeUnityOptions = {}) {
    this.#target = options.target ?? globalThis;
    const heap = new FakeHeap(options.heapSize);
    this.heap = heap;
    const module: EmscriptenModule = {
      _malloc: (size) => heap.malloc(size),
      _free: (ptr) => heap.free(ptr),
      dynCall_vii: (index, a1, a2) => this.#dynCall(index, a1, a2),
    };
    if (options.withoutDynCall === true) {
      Reflect.deleteProperty(module, 'dynCall_vii');
    }
    this.module = module;
    this.helper = {
      Module: module,
      lengthBytesUTF8: (str) => encoder.encode(str).length,
      stringToUTF8: (str, outPtr, maxBytesToWrite) => this.#write(str, outPtr, maxBytesToWrite),
      UTF8ToString: (ptr, maxBytesToRead) => this.#read(ptr, maxBytesToRead),
      GL: this.gl,
    };
  }

  /**
   * What the jslib's `__postset`s do while the wasm module is set up:
   * `_Nop = __getNop(helper, () => GLctx)` and `_X = __getMethod("X")`.
   * Throws whatever a missing global or an unknown name throws.
   */
  loadJslib(): void {
    const getNop = Reflect.get(this.#target, '__getNop') as unknown;
    const getMethod = Reflect.get(this.#target, '__getMethod') as unknown;
    if (typeof getNop !== 'function' || typeof getMethod !== 'function') {
      throw new Error('the page did not define __getNop and __getMethod');
    }
    const method = (name: string): unknown => (getMethod as (n: string) => unknown)(name);
    this.#imports = {
      Nop: (getNop as (h: EmscriptenHelper, g: () => unknown) => JslibImports['Nop'])(
        this.helper,
        () => this.glContext,
      ),
      CallAction: method('CallAction') as JslibImports['CallAction'],
      CallFunction: method('CallFunction') as JslibImports['CallFunction'],
      AddCallback: method('AddCallback') as JslibImports['AddCallback'],
    };
  }

  /** C# `WebGLHelper.Initialize(new WebGLHelperConfig { IsDebug })`; loads the jslib first if needed. */
  init(config: { isDebug: boolean } = { isDebug: false }): void {
    this.initRaw(JSON.stringify({ isDebug: config.isDebug }));
  }

  /** `Nop(json)` with any config text (or a null pointer). */
  initRaw(json: CSharpString): void {
    const { Nop } = this.#bound();
    this.#marshal([json], ([ptr]) => Nop(ptr ?? 0));
  }

  /** C# `WebGLHelper.CallAction(name, str1, str2)`. */
  callAction(name: CSharpString, str1?: CSharpString, str2?: CSharpString): void {
    const { CallAction } = this.#bound();
    this.#marshal([name, str1, str2], ([n, a, b]) => CallAction(n ?? 0, a ?? 0, b ?? 0));
  }

  /**
   * C# `WebGLHelper.CallFunction(name, str1, str2)`: reads the returned string
   * (a null pointer reads as `""`) and frees it, as IL2CPP's marshaller does.
   */
  callFunction(name: CSharpString, str1?: CSharpString, str2?: CSharpString): string {
    const { CallFunction } = this.#bound();
    const resultPtr = this.#marshal([name, str1, str2], ([n, a, b]) =>
      CallFunction(n ?? 0, a ?? 0, b ?? 0),
    );
    try {
      return this.#read(resultPtr);
    } finally {
      this.heap.free(resultPtr);
    }
  }

  /**
   * C# `WebGLHelper.AddCallback(name, handler)`: puts a closure in the function
   * table that copies both strings (as C#'s marshaller does), logs the call in
   * {@link callbackLog}, then runs `handler`. Returns the table index.
   */
  addCallback(name: string, handler: CSharpCallback = () => undefined): number {
    const { AddCallback } = this.#bound();
    const index = this.registerFunction((ptr1, ptr2) => {
      const str1 = this.#read(ptr1);
      const str2 = this.#read(ptr2);
      this.callbackLog.push({ name, str1, str2, ptr1, ptr2 });
      handler(str1, str2);
    });
    this.#marshal([name], ([n]) => AddCallback(n ?? 0, index));
    return index;
  }

  /** Adds a raw `void(int, int)` to the function table; returns its index. */
  registerFunction(fn: (ptr1: HeapPtr, ptr2: HeapPtr) => void): number {
    this.#table.push(fn);
    return this.#table.length - 1;
  }

  /** Allocates `str` in the heap (the caller frees it). */
  allocString(str: string): HeapPtr {
    const size = encoder.encode(str).length + 1;
    const ptr = this.heap.malloc(size);
    if (ptr === 0) throw new Error('fake heap out of memory');
    this.#write(str, ptr, size);
    return ptr;
  }

  /** The heap's live allocations (an empty list means nothing leaked). */
  liveAllocations(): LiveAllocation[] {
    return this.heap.liveAllocations();
  }

  #bound(): JslibImports {
    if (this.#imports === undefined) this.loadJslib();
    return this.#imports as JslibImports;
  }

  /** Marshals C# strings into the heap for one call and frees them afterwards. */
  #marshal<T>(strings: CSharpString[], call: (ptrs: Array<HeapPtr | undefined>) => T): T {
    const ptrs: HeapPtr[] = [];
    try {
      for (const str of strings) ptrs.push(str === null ? 0 : this.allocString(str ?? ''));
      return call(ptrs);
    } finally {
      for (const ptr of ptrs) this.heap.free(ptr);
    }
  }

  #dynCall(index: number, a1: number, a2: number): void {
    const fn = this.#table[index];
    if (fn === undefined) throw new Error(`dynCall_vii: no function at table index ${index}`);
    fn(a1, a2);
  }

  #read(ptr: HeapPtr, maxBytesToRead?: number): string {
    if (ptr === 0) return '';
    const block = this.heap.blockContaining(ptr);
    if (block === undefined) throw new Error(`UTF8ToString(${ptr}): not inside a live allocation`);
    let end = block.end;
    if (maxBytesToRead !== undefined) end = Math.min(end, ptr + maxBytesToRead);
    const nul = this.heap.bytes.subarray(ptr, end).indexOf(0);
    if (nul < 0 && maxBytesToRead === undefined) {
      throw new Error(`UTF8ToString(${ptr}): no NUL terminator before the end of its block`);
    }
    return decoder.decode(this.heap.bytes.subarray(ptr, nul < 0 ? end : ptr + nul));
  }

  #write(str: string, outPtr: HeapPtr, maxBytesToWrite: number): number {
    if (maxBytesToWrite <= 0) return 0;
    const block = this.heap.blockContaining(outPtr);
    if (block === undefined || outPtr + maxBytesToWrite > block.end) {
      throw new Error(
        `stringToUTF8(…, ${outPtr}, ${maxBytesToWrite}): not inside one live allocation`,
      );
    }
    const target = this.heap.bytes.subarray(outPtr, outPtr + maxBytesToWrite - 1);
    const { written } = encoder.encodeInto(str, target);
    this.heap.bytes[outPtr + written] = 0;
    return written;
  }
}

/**
 * The names the C# `WebGLPeerClient` uses, spelled out as C# spells them
 * (PROTOCOL §6), independently of `BRIDGE` in src/bridge, so a spec using
 * them checks rxpeer's names against the C# side's.
 */
export const CSHARP_NAMES = {
  construct: 'WebGLPeerClient#WebGLPeerClient',
  startHost: 'WebGLPeerClient#DoStartHostAsync',
  listHosts: 'WebGLPeerClient#DoListHostsAsync',
  startClient: 'WebGLPeerClient#DoStartClientAsync',
  stop: 'WebGLPeerClient#DoStopAsync',
  getClientId: 'WebGLPeerClient#GetClientId',
  callbacks: [
    'WebGLPeerClient#HandleOnStarted',
    'WebGLPeerClient#HandleOnConnectFailed',
    'WebGLPeerClient#HandleOnDisconnected',
    'WebGLPeerClient#HandleOnUserConnecting',
    'WebGLPeerClient#HandleOnUserDisconnecting',
    'WebGLPeerClient#ReceiveStartHostResponse',
    'WebGLPeerClient#ReceiveListHostsResponse',
  ],
} as const;

/** The config JSON C#'s `WebGLPeerConfig` serializes for the constructor action. */
export function webGLPeerConfig(url: string): object {
  return {
    url,
    socketOptions: { connectionTimeout: 5000, reconnection: true, withCredentials: false },
    pcConfig: { iceServers: [] },
    vanillaIceTimeout: 5000,
    isDebug: false,
  };
}

/**
 * The C# `WebGLPeerClient` on an emulated player, in its call order: the
 * constructor action, then every callback registered right after it returns;
 * `DoStartHostAsync`, `DoListHostsAsync`, `DoStartClientAsync`, `DoStopAsync`
 * and `GetClientId` as C# calls them.
 */
export class FakeWebGLPeerClient {
  constructor(
    readonly unity: FakeUnity,
    config: object,
  ) {
    unity.callAction(CSHARP_NAMES.construct, JSON.stringify(config));
    for (const name of CSHARP_NAMES.callbacks) unity.addCallback(name);
  }

  startHost(name: string): void {
    this.unity.callAction(CSHARP_NAMES.startHost, name);
  }

  listHosts(): void {
    this.unity.callAction(CSHARP_NAMES.listHosts);
  }

  startClient(hostId: string): void {
    this.unity.callAction(CSHARP_NAMES.startClient, hostId);
  }

  stop(): void {
    this.unity.callAction(CSHARP_NAMES.stop);
  }

  clientId(): string {
    return this.unity.callFunction(CSHARP_NAMES.getClientId);
  }

  /** The first string of every call into the C# callback `name`, in order. */
  calls(name: string): string[] {
    return this.unity.callbackLog.filter((c) => c.name === name).map((c) => c.str1);
  }
}

/** What {@link installFakeUnityLoader} leaves on the page once Unity has started. */
export interface FakeUnityPage {
  readonly unity: FakeUnity;
  /** C# `new WebGLPeerClient(config)`; stays reachable as `peerClient`. */
  newPeerClient(config: object): FakeWebGLPeerClient;
  peerClient: FakeWebGLPeerClient | undefined;
}

/**
 * Stands in for Unity's `Build/<name>.loader.js` in a browser page: defines
 * `createUnityInstance(canvas, config)`, which starts an emulated player the
 * way Unity's does (the jslib binds `__getNop` / `__getMethod` while the wasm
 * module is set up, then C#'s `WebGLHelper.Initialize` runs `Nop`), and
 * leaves a {@link FakeUnityPage} at `target.fakeUnity`. A page whose scripts
 * did not define the binding gets a rejected promise, as with real Unity.
 */
export function installFakeUnityLoader(target: Record<string, unknown>): void {
  target['createUnityInstance'] = (): Promise<{ Quit(): Promise<void> }> =>
    new Promise((resolve) => {
      const unity = new FakeUnity({ target });
      unity.loadJslib();
      unity.init({ isDebug: false });
      const page: FakeUnityPage = {
        unity,
        peerClient: undefined,
        newPeerClient(config) {
          page.peerClient = new FakeWebGLPeerClient(unity, config);
          return page.peerClient;
        },
      };
      target['fakeUnity'] = page;
      resolve({ Quit: () => Promise.resolve() });
    });
}
