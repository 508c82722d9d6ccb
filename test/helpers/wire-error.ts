// Unit-test helper for the wire codecs: the WireError a call throws.
import { expect } from 'vitest';
import { WireError } from '../../src/wire/errors.js';

/** Runs `f`, asserts that it throws a WireError and returns it; fails when nothing is thrown. */
export function thrown(f: () => unknown): WireError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WireError);
    return e as WireError;
  }
  throw new Error('expected a WireError');
}
