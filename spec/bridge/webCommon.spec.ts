import { BridgeError } from '../../src/errors.js';
import type { LogFields, LogSink } from '../../src/logger.js';
import {
  addAction,
  addFunction,
  callback,
  defaultUnityBridgeRuntime,
  installUnityBinding,
  UnityBridgeRuntime,
  webCommonHelper,
  type EmscriptenHelper,
  type EmscriptenModule,
  type UnityBinding,
  type WebCommonFunction,
} from '../../src/bridge/webCommon.js';
import { FakeHeap, FakeUnity } from '../helpers/fakeEmscripten.js';

interface LogLine {
  level: string;
  namespace: string;
  message: string;
  fields: LogFields | undefined;
}

const bindings: UnityBinding[] = [];

afterEach(() => {
  for (const binding of bindings.splice(0)) binding.uninstall();
  defaultUnityBridgeRuntime.reset();
});

/** An isolated runtime on its own target object, with a fake Unity bound to it. */
function setup(options: { withoutDynCall?: boolean } = {}): {
  runtime: UnityBridgeRuntime;
  unity: FakeUnity;
  lines: LogLine[];
} {
  const lines: LogLine[] = [];
  const logSink: LogSink = (level, namespace, message, fields) =>
    lines.push({ level, namespace, message, fields });
  const runtime = new UnityBridgeRuntime({ logSink });
  const target = {};
  bindings.push(installUnityBinding(target, runtime));
  const unity = new FakeUnity({ target, withoutDynCall: options.withoutDynCall ?? false });
  return { runtime, unity, lines };
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function expectBridgeError(fn: () => unknown, ...fragments: string[]): BridgeError {
  const error = catchError(fn);
  expect(error).toBeInstanceOf(BridgeError);
  const bridgeError = error as BridgeError;
  expect(bridgeError.code).toBe('BRIDGE');
  for (const fragment of fragments) expect(bridgeError.message).toContain(fragment);
  return bridgeError;
}

const SAMPLES = [
  '日本語のホスト名',
  'Grüße, naïve café',
  '👋🏽 🧑‍🚀 🇯🇵',
  '{"status":200,"message":"ok ✓"}',
];

describe('installUnityBinding', () => {
  it('defines __getNop and __getMethod on globalThis and uninstall removes them again', () => {
    expect('__getNop' in globalThis).toBe(false);
    expect('__getMethod' in globalThis).toBe(false);
    const binding = installUnityBinding();
    expect(binding.runtime).toBe(defaultUnityBridgeRuntime);
    expect(typeof Reflect.get(globalThis, '__getNop')).toBe('function');
    expect(typeof Reflect.get(globalThis, '__getMethod')).toBe('function');

    binding.uninstall();
    expect('__getNop' in globalThis).toBe(false);
    expect('__getMethod' in globalThis).toBe(false);
    binding.uninstall(); // idempotent
    expect('__getNop' in globalThis).toBe(false);
  });

  it('puts back what the target had before and leaves a later replacement alone', () => {
    const before = (): string => 'previous';
    const target: Record<string, unknown> = { __getNop: before };
    const binding = installUnityBinding(target, new UnityBridgeRuntime());
    expect(target['__getNop']).not.toBe(before);
    const later = (): string => 'someone else';
    target['__getMethod'] = later;

    binding.uninstall();
    expect(target['__getNop']).toBe(before);
    expect(target['__getMethod']).toBe(later);
  });

  it('serves the three jslib methods and names an unknown one in a BridgeError', () => {
    const { runtime } = setup();
    expect(runtime.getMethod('CallAction')).toBe(runtime.methods.CallAction);
    expect(runtime.getMethod('CallFunction')).toBe(runtime.methods.CallFunction);
    expect(runtime.getMethod('AddCallback')).toBe(runtime.methods.AddCallback);

    const target = {};
    bindings.push(installUnityBinding(target, runtime));
    const getMethod = Reflect.get(target, '__getMethod') as (name: string) => unknown;
    const error = expectBridgeError(() => getMethod('CallSomething'), '"CallSomething"');
    expect(error.context).toEqual({ method: 'CallSomething' });
  });

  it('lets the full jslib start-up run against a fresh page', () => {
    const { runtime, unity } = setup();
    unity.loadJslib();
    expect(runtime.isBound).toBe(true);
    unity.init();
    expect(runtime.isDebug).toBe(false);
    expect(runtime.getGLContext()).toBe(unity.glContext);
    expect(unity.liveAllocations()).toEqual([]);
  });
});

describe('actions (C# → JS)', () => {
  it('receive the two strings C# passed', () => {
    const { runtime, unity } = setup();
    const calls: Array<[string, string]> = [];
    runtime.addAction('WebGLPeerClient#DoStartHostAsync', (a, b) => calls.push([a, b]));
    unity.init();

    unity.callAction('WebGLPeerClient#DoStartHostAsync', 'my host', 'second');
    expect(calls).toEqual([['my host', 'second']]);
    expect(unity.liveAllocations()).toEqual([]);
  });

  it('read null pointers and C#-default arguments as empty strings', () => {
    const { runtime, unity } = setup();
    const calls: Array<[string, string]> = [];
    runtime.addAction('WebGLPeerClient#DoStopAsync', (a, b) => calls.push([a, b]));
    unity.init();

    unity.callAction('WebGLPeerClient#DoStopAsync');
    unity.callAction('WebGLPeerClient#DoStopAsync', null, null);
    unity.callAction('WebGLPeerClient#DoStopAsync', '', 'x');
    expect(calls).toEqual([
      ['', ''],
      ['', ''],
      ['', 'x'],
    ]);
  });

  it.each(SAMPLES)('decode multi-byte UTF-8 and emoji: %s', (sample) => {
    const { runtime, unity } = setup();
    const calls: Array<[string, string]> = [];
    runtime.addAction('a', (a, b) => calls.push([a, b]));
    unity.init();

    unity.callAction('a', sample, `${sample}!`);
    expect(calls).toEqual([[sample, `${sample}!`]]);
  });

  it('use a multi-byte action name as is', () => {
    const { runtime, unity } = setup();
    const action = jest.fn();
    runtime.addAction('名前#🎮', action);
    unity.callAction('名前#🎮', 'x');
    expect(action).toHaveBeenCalledWith('x', '');
  });

  it('throw a BridgeError naming an unknown action', () => {
    const { runtime, unity } = setup();
    runtime.addAction('WebGLPeerClient#DoStopAsync', () => undefined);
    unity.init();
    const error = expectBridgeError(
      () => unity.callAction('WebGLPeerClient#NoSuchAction', 'x'),
      '"WebGLPeerClient#NoSuchAction"',
      'action',
    );
    expect(error.context).toEqual({ action: 'WebGLPeerClient#NoSuchAction' });
    expect(unity.liveAllocations()).toEqual([]);
  });

  it('replace an action registered again under the same name, with a debug log', () => {
    const { runtime, unity, lines } = setup();
    unity.init({ isDebug: true });
    const first = jest.fn();
    const second = jest.fn();
    runtime.addAction('a', first);
    runtime.addAction('a', second);
    unity.callAction('a', 'x');
    expect(first).not.toHaveBeenCalled();
    expect(second).toHaveBeenCalledWith('x', '');
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'debug',
        message: 'replacing action',
        fields: { name: 'a' },
      }),
    );
  });

  it('let what an action throws reach the caller unchanged', () => {
    const { runtime, unity } = setup();
    const boom = new Error('boom');
    runtime.addAction('a', () => {
      throw boom;
    });
    expect(catchError(() => unity.callAction('a'))).toBe(boom);
    expect(unity.liveAllocations()).toEqual([]);
  });

  it('refuse names and handlers of the wrong type', () => {
    const runtime = new UnityBridgeRuntime();
    expectBridgeError(() => runtime.addAction('a', 'nope' as unknown as () => void), '"a"');
    expectBridgeError(() => runtime.addFunction(42 as unknown as string, () => ''), 'string');
  });
});

describe('functions (C# → JS → C#)', () => {
  it('return strings C# can read, and C# frees them', () => {
    const { runtime, unity } = setup();
    runtime.addFunction('WebGLPeerClient#GetClientId', () => 'socket-id-123');
    runtime.addFunction('echo', (a, b) => `${a}|${b}`);
    runtime.addFunction('empty', () => '');
    unity.init();

    expect(unity.callFunction('WebGLPeerClient#GetClientId')).toBe('socket-id-123');
    expect(unity.callFunction('empty')).toBe('');
    for (const sample of SAMPLES)
      expect(unity.callFunction('echo', sample, null)).toBe(`${sample}|`);
    expect(unity.liveAllocations()).toEqual([]);
  });

  it('leave the result block allocated for C# to own', () => {
    const { runtime, unity } = setup();
    runtime.addFunction('f', () => 'owned by C# 👍');
    unity.init();
    const name = unity.allocString('f');
    const resultPtr = runtime.methods.CallFunction(name, 0, 0);
    unity.heap.free(name);

    expect(resultPtr).not.toBe(0);
    expect(unity.liveAllocations()).toEqual([
      expect.objectContaining({ ptr: resultPtr, preview: 'owned by C# 👍' }),
    ]);
    expect(unity.helper.UTF8ToString(resultPtr)).toBe('owned by C# 👍');
    unity.heap.free(resultPtr);
    expect(unity.liveAllocations()).toEqual([]);
  });

  it('throw a BridgeError naming an unknown function', () => {
    const { unity } = setup();
    const error = expectBridgeError(
      () => unity.callFunction('WebGLPeerClient#GetNothing'),
      '"WebGLPeerClient#GetNothing"',
      'function',
    );
    expect(error.context).toEqual({ function: 'WebGLPeerClient#GetNothing' });
    expect(unity.liveAllocations()).toEqual([]);
  });

  it('throw a BridgeError when a function returns something other than a string', () => {
    const { runtime, unity } = setup();
    runtime.addFunction('bad', (() => 42) as unknown as WebCommonFunction);
    expectBridgeError(() => unity.callFunction('bad'), '"bad"', 'number');
    expect(unity.liveAllocations()).toEqual([]);
  });
});

describe('callbacks (JS → C#)', () => {
  it('deliver both strings to C# and free them afterwards', () => {
    const { runtime, unity } = setup();
    unity.init();
    const received: Array<[string, string]> = [];
    unity.addCallback('WebGLPeerClient#ReceiveStartHostResponse', (a, b) => received.push([a, b]));
    const mallocsBefore = unity.heap.mallocCount;

    runtime.callback('WebGLPeerClient#ReceiveStartHostResponse', '{"status":200}', 'two');
    expect(received).toEqual([['{"status":200}', 'two']]);
    expect(unity.callbackLog).toHaveLength(1);
    const [call] = unity.callbackLog;
    expect(call).toMatchObject({
      name: 'WebGLPeerClient#ReceiveStartHostResponse',
      str1: '{"status":200}',
      str2: 'two',
    });
    expect(call?.ptr1).not.toBe(0);
    expect(call?.ptr2).not.toBe(0);
    expect(unity.heap.mallocCount - mallocsBefore).toBe(2);
    expect(unity.liveAllocations()).toEqual([]);
  });

  it('send missing strings as empty ones and keep UTF-8 intact', () => {
    const { runtime, unity } = setup();
    unity.addCallback('WebGLPeerClient#HandleOnStarted');
    unity.addCallback('WebGLPeerClient#HandleOnUserConnecting');
    runtime.callback('WebGLPeerClient#HandleOnStarted');
    for (const sample of SAMPLES)
      runtime.callback('WebGLPeerClient#HandleOnUserConnecting', sample);

    expect(unity.callbackLog.map(({ name, str1, str2 }) => [name, str1, str2])).toEqual([
      ['WebGLPeerClient#HandleOnStarted', '', ''],
      ...SAMPLES.map((s) => ['WebGLPeerClient#HandleOnUserConnecting', s, '']),
    ]);
    expect(unity.liveAllocations()).toEqual([]);
  });

  it('throw a BridgeError naming a callback C# has not registered, allocating nothing', () => {
    const { runtime, unity } = setup();
    unity.init();
    const mallocsBefore = unity.heap.mallocCount;
    const error = expectBridgeError(
      () => runtime.callback('WebGLPeerClient#HandleOnDisconnected', 'bye'),
      '"WebGLPeerClient#HandleOnDisconnected"',
    );
    expect(error.context).toEqual({ callback: 'WebGLPeerClient#HandleOnDisconnected' });
    expect(unity.heap.mallocCount).toBe(mallocsBefore);
  });

  it('still free both strings when the C# side throws, and rethrow what it threw', () => {
    const { runtime, unity } = setup();
    const csharpError = new Error('NullReferenceException');
    unity.addCallback('WebGLPeerClient#HandleOnConnectFailed', () => {
      throw csharpError;
    });
    const freesBefore = unity.heap.freeCount;

    expect(
      catchError(() => runtime.callback('WebGLPeerClient#HandleOnConnectFailed', 'x', 'y')),
    ).toBe(csharpError);
    expect(unity.callbackLog).toHaveLength(1);
    expect(unity.heap.freeCount - freesBefore).toBe(2);
    expect(unity.liveAllocations()).toEqual([]);
  });

  it('still free the strings when dynCall_vii itself fails', () => {
    const { runtime, unity } = setup();
    unity.loadJslib();
    const namePtr = unity.allocString('dangling');
    runtime.methods.AddCallback(namePtr, 999);
    unity.heap.free(namePtr);
    expect(() => runtime.callback('dangling', 'x')).toThrow('no function at table index 999');
    expect(unity.liveAllocations()).toEqual([]);
  });

  it('use the newest registration of a callback', () => {
    const { runtime, unity } = setup();
    const first = jest.fn();
    const second = jest.fn();
    unity.addCallback('cb', first);
    unity.addCallback('cb', second);
    runtime.callback('cb', 'x');
    expect(first).not.toHaveBeenCalled();
    expect(second).toHaveBeenCalledWith('x', '');
  });

  it('work from inside an action (C# → JS → C#)', () => {
    const { runtime, unity } = setup();
    unity.addCallback('WebGLPeerClient#ReceiveListHostsResponse');
    runtime.addAction('WebGLPeerClient#DoListHostsAsync', () =>
      runtime.callback('WebGLPeerClient#ReceiveListHostsResponse', '{"status":200,"hosts":[]}'),
    );
    unity.callAction('WebGLPeerClient#DoListHostsAsync');
    expect(unity.callbackLog.map((c) => c.str1)).toEqual(['{"status":200,"hosts":[]}']);
    expect(unity.liveAllocations()).toEqual([]);
  });

  it('throw a BridgeError when the Module has no dynCall_vii', () => {
    const { runtime, unity } = setup({ withoutDynCall: true });
    unity.addCallback('cb');
    expectBridgeError(() => runtime.callback('cb'), '"cb"', 'dynCall_vii');
    expect(unity.liveAllocations()).toEqual([]);
  });

  it('are forgotten when a new Unity instance binds', () => {
    const { runtime, unity } = setup();
    unity.addCallback('cb');
    const target = {};
    bindings.push(installUnityBinding(target, runtime));
    new FakeUnity({ target }).init();
    expectBridgeError(() => runtime.callback('cb'), '"cb"');
  });
});

describe('binding and config', () => {
  it('refuses to run before Unity has bound its helper', () => {
    const runtime = new UnityBridgeRuntime();
    expectBridgeError(() => runtime.methods.CallAction(8, 0, 0), 'CallAction', '__getNop');
    expectBridgeError(() => runtime.getGLContext(), '__getNop');
  });

  it('reads the Module lazily, since _malloc appears only once wasm is ready', () => {
    const runtime = new UnityBridgeRuntime();
    const unity = new FakeUnity();
    const module = {} as EmscriptenModule;
    const helper: EmscriptenHelper = { ...unity.helper, Module: module };
    const nop = runtime.getNop(helper, () => unity.glContext);
    Object.assign(module, unity.module); // wasm instantiated

    const configPtr = unity.allocString('{"isDebug":false}');
    nop(configPtr);
    unity.heap.free(configPtr);
    const namePtr = unity.allocString('cb');
    runtime.methods.AddCallback(
      namePtr,
      unity.registerFunction(() => undefined),
    );
    unity.heap.free(namePtr);
    runtime.callback('cb', 'x', 'y');
    expect(unity.heap.mallocCount).toBe(4);
    expect(unity.liveAllocations()).toEqual([]);
  });

  it('turns on debug logging under rxpeer:bridge when isDebug is true', () => {
    const { runtime, unity, lines } = setup();
    runtime.addAction('a', () => undefined);
    unity.init({ isDebug: true });
    unity.callAction('a', 'secret');
    expect(runtime.isDebug).toBe(true);
    const debug = lines.filter((l) => l.level === 'debug');
    expect(debug.length).toBeGreaterThan(0);
    expect(debug.every((l) => l.namespace === 'rxpeer:bridge')).toBe(true);
    expect(debug).toContainEqual(
      expect.objectContaining({ message: 'action from C#', fields: { name: 'a' } }),
    );
    // Strings can carry credentials (the client config): only names are logged.
    expect(JSON.stringify(lines)).not.toContain('secret');
  });

  it('logs no debug lines when isDebug is false, and turns them off again', () => {
    const { runtime, unity, lines } = setup();
    runtime.addAction('a', () => undefined);
    unity.init({ isDebug: true });
    unity.init({ isDebug: false });
    lines.splice(0);
    unity.callAction('a');
    unity.addCallback('cb');
    runtime.callback('cb');
    expect(runtime.isDebug).toBe(false);
    expect(lines.filter((l) => l.level === 'debug')).toEqual([]);
  });

  it('accepts a null config pointer and rejects a config that is not the expected JSON', () => {
    const { runtime, unity } = setup();
    unity.initRaw(null);
    expect(runtime.isDebug).toBe(false);
    expectBridgeError(() => unity.initRaw('{isDebug: true'), 'not JSON');
    expectBridgeError(() => unity.initRaw('[true]'), 'object');
    expectBridgeError(() => unity.initRaw('{"isDebug":"yes"}'), 'isDebug');
    expect(unity.liveAllocations()).toEqual([]);
  });

  it('reset forgets actions, functions, callbacks and the binding', () => {
    const { runtime, unity } = setup();
    runtime.addAction('a', () => undefined);
    unity.init({ isDebug: true });
    unity.addCallback('cb');
    runtime.reset();
    expect(runtime.isBound).toBe(false);
    expect(runtime.isDebug).toBe(false);
    expectBridgeError(() => runtime.callback('cb'), '"cb"');
    unity.init();
    expectBridgeError(() => unity.callAction('a'), '"a"');
  });
});

describe('the default runtime and free functions', () => {
  it('connect addAction, addFunction and callback to Unity through globalThis', () => {
    bindings.push(installUnityBinding());
    const unity = new FakeUnity();
    const calls: string[] = [];
    addAction('WebGLPeerClient#DoStartClientAsync', (hostId) => calls.push(hostId));
    addFunction('WebGLPeerClient#GetClientId', () => 'id-1');
    unity.init();
    unity.addCallback('WebGLPeerClient#HandleOnStarted');

    unity.callAction('WebGLPeerClient#DoStartClientAsync', 'host-1');
    expect(calls).toEqual(['host-1']);
    expect(unity.callFunction('WebGLPeerClient#GetClientId')).toBe('id-1');
    callback('WebGLPeerClient#HandleOnStarted');
    expect(unity.callbackLog.map((c) => c.name)).toEqual(['WebGLPeerClient#HandleOnStarted']);
    expect(unity.liveAllocations()).toEqual([]);
  });

  it('offer the free functions as one WebCommonHelper, and bound methods on a runtime', () => {
    expect(webCommonHelper).toEqual({ addAction, addFunction, callback });
    const { runtime, unity } = setup();
    const { addAction: add, callback: call } = runtime;
    const action = jest.fn();
    add('a', action);
    unity.addCallback('cb');
    unity.callAction('a', 'x');
    call('cb', 'y');
    expect(action).toHaveBeenCalledWith('x', '');
    expect(unity.callbackLog.map((c) => c.str1)).toEqual(['y']);
  });
});

describe('fakeEmscripten', () => {
  it('detects double and invalid frees', () => {
    const heap = new FakeHeap(1024);
    const ptr = heap.malloc(10);
    heap.free(ptr);
    expect(() => heap.free(ptr)).toThrow('double free');
    expect(() => heap.free(ptr + 1)).toThrow('never returned');
    heap.free(0);
  });

  it('reuses and coalesces freed blocks, and returns 0 when nothing fits', () => {
    const heap = new FakeHeap(1024);
    const a = heap.malloc(100);
    const b = heap.malloc(100);
    const c = heap.malloc(100);
    heap.free(a);
    heap.free(b);
    expect(heap.malloc(200)).toBe(a);
    heap.free(a);
    heap.free(c);
    expect(heap.malloc(1024 - 8)).toBe(8);
    expect(heap.malloc(1)).toBe(0);
  });

  it('round-trips UTF-8 and refuses reads and writes outside live blocks', () => {
    const unity = new FakeUnity();
    for (const sample of SAMPLES) {
      expect(unity.helper.lengthBytesUTF8(sample)).toBe(Buffer.byteLength(sample, 'utf8'));
      const ptr = unity.allocString(sample);
      expect(unity.helper.UTF8ToString(ptr)).toBe(sample);
      unity.heap.free(ptr);
      expect(() => unity.helper.UTF8ToString(ptr)).toThrow('not inside a live allocation');
    }
    const small = unity.heap.malloc(4);
    expect(() => unity.helper.stringToUTF8('too long', small, 64)).toThrow('live allocation');
    unity.helper.stringToUTF8('👋', small, 4); // 4 bytes do not fit with the NUL: nothing written
    expect(unity.helper.UTF8ToString(small)).toBe('');
    unity.heap.free(small);
  });
});
