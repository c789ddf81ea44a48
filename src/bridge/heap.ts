/**
 * The Emscripten side of the Unity WebGL bridge: the shapes Unity's
 * `helper.jslib` hands to `__getNop`, and string marshalling through the
 * Emscripten heap (UTF-8, NUL-terminated, null pointer = `""`).
 */

import { BridgeError } from '../errors.js';

/** A pointer into the Emscripten heap; `0` is the null pointer. */
export type HeapPtr = number;

/**
 * The parts of the Emscripten `Module` the bridge uses. Members are read at
 * call time, never copied: `_malloc` and friends only appear on `Module` once
 * the wasm instance is ready, after `__getNop` was called.
 */
export interface EmscriptenModule {
  /** Allocates `size` bytes; returns `0` when out of memory. */
  _malloc(size: number): HeapPtr;
  /** Frees a block from `_malloc`; `_free(0)` does nothing. */
  _free(ptr: HeapPtr): void;
  /** Calls the `void(int, int)` function at `index` in the wasm function table. */
  dynCall_vii(index: number, a1: number, a2: number): void;
}

/**
 * What Unity's Web.Common `helper.jslib` passes as the first argument of
 * `__getNop`: `{ lengthBytesUTF8, stringToUTF8, UTF8ToString, Module, GL }`.
 */
export interface EmscriptenHelper {
  Module: EmscriptenModule;
  /** UTF-8 byte length of `str`, without the NUL terminator. */
  lengthBytesUTF8(str: string): number;
  /** Writes `str` as NUL-terminated UTF-8, at most `maxBytesToWrite` bytes including the NUL. */
  stringToUTF8(str: string, outPtr: HeapPtr, maxBytesToWrite: number): unknown;
  /** Reads the NUL-terminated UTF-8 string at `ptr`. */
  UTF8ToString(ptr: HeapPtr, maxBytesToRead?: number): string;
  /** Emscripten's `GL` object (unused by rxpeer, passed through). */
  GL?: unknown;
}

/** The second argument of `__getNop`: returns the current WebGL context (`GLctx`). */
export type GetGLContext = () => unknown;

/** Reads the string at `ptr`; the null pointer reads as `""`. @internal */
export function readHeapString(helper: EmscriptenHelper, ptr: HeapPtr): string {
  return ptr === 0 ? '' : helper.UTF8ToString(ptr);
}

/**
 * Copies `str` into a fresh `_malloc` block (NUL-terminated UTF-8) and returns
 * its pointer; the caller owns it. Throws a {@link BridgeError} when the heap
 * is out of memory. @internal
 */
export function allocHeapString(helper: EmscriptenHelper, str: string): HeapPtr {
  const size = helper.lengthBytesUTF8(str) + 1;
  const ptr = helper.Module._malloc(size);
  if (ptr === 0) {
    throw new BridgeError(`The Emscripten heap could not allocate ${size} bytes for a string`, {
      size,
    });
  }
  helper.stringToUTF8(str, ptr, size);
  return ptr;
}

/**
 * Copies two strings into the heap, runs `use` with their pointers and frees
 * both afterwards, also when `use` (or the second allocation) throws. @internal
 */
export function withHeapStrings<T>(
  helper: EmscriptenHelper,
  str1: string,
  str2: string,
  use: (ptr1: HeapPtr, ptr2: HeapPtr) => T,
): T {
  const ptr1 = allocHeapString(helper, str1);
  try {
    const ptr2 = allocHeapString(helper, str2);
    try {
      return use(ptr1, ptr2);
    } finally {
      helper.Module._free(ptr2);
    }
  } finally {
    helper.Module._free(ptr1);
  }
}
