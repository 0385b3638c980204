import { describe, expect, it } from 'vitest';
import { APP_ERROR_CODES, AppError, isAppError, toAppError } from './app-error.js';

describe('AppError', () => {
  it('carries its code, message and frozen details', () => {
    const err = new AppError('NOT_FOUND', 'job j1 not found', { details: { jobId: 'j1' } });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('AppError');
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toBe('job j1 not found');
    expect(err.details).toEqual({ jobId: 'j1' });
    expect(Object.isFrozen(err.details)).toBe(true);
  });

  it('normalises a non-Error cause into an Error', () => {
    const err = new AppError('INTERNAL', 'boom', { cause: { reason: 'disk' } });
    expect(err.cause).toBeInstanceOf(Error);
    expect(err.cause?.message).toBe('{"reason":"disk"}');
  });

  it('keeps an Error cause as it is', () => {
    const root = new RangeError('bad');
    expect(new AppError('INTERNAL', 'wrapped', { cause: root }).cause).toBe(root);
  });

  it('rejects a code outside the closed table', () => {
    expect(() => new AppError('NOPE' as never, 'x')).toThrow(/unknown code "NOPE"/);
  });

  it('serialises to code, message and details without stack or cause', () => {
    const err = new AppError('INVALID_ARGUMENT', 'bad steps', {
      details: { steps: -1 },
      cause: new Error('x'),
    });
    expect(JSON.parse(JSON.stringify(err))).toEqual({
      code: 'INVALID_ARGUMENT',
      message: 'bad steps',
      details: { steps: -1 },
    });
  });

  it('lists every code exactly once', () => {
    expect(new Set(APP_ERROR_CODES).size).toBe(APP_ERROR_CODES.length);
  });
});

describe('isAppError', () => {
  it('recognises AppErrors and rejects plain errors and non-errors', () => {
    expect(isAppError(new AppError('CONFLICT', 'x'))).toBe(true);
    expect(isAppError(new Error('x'))).toBe(false);
    expect(isAppError({ name: 'AppError', code: 'CONFLICT', message: 'x' })).toBe(false);
  });

  it('recognises subclasses, whatever their name', () => {
    class ThingError extends AppError {
      override readonly name = 'ThingError';
    }
    const err = new ThingError('NOT_FOUND', 'no thing');
    expect(isAppError(err)).toBe(true);
    expect(toAppError(err)).toBe(err);
  });

  it('recognises a subclass from another copy of the module by its brand, not by its name', () => {
    const foreign = Object.assign(new Error('x'), { name: 'TrainError', code: 'NOT_FOUND' });
    expect(isAppError(foreign)).toBe(false);
    Object.defineProperty(foreign, Symbol.for('@alignda/errors.AppError'), { value: true });
    expect(isAppError(foreign)).toBe(true);
    const brand = Object.getOwnPropertyDescriptor(
      new AppError('NOT_FOUND', 'x'),
      Symbol.for('@alignda/errors.AppError'),
    );
    expect(brand).toMatchObject({ value: true, enumerable: false });
  });

  it('recognises an AppError from another copy of the module by shape', () => {
    const foreign = Object.assign(new Error('x'), { name: 'AppError', code: 'NOT_FOUND' });
    expect(isAppError(foreign)).toBe(true);
    expect(isAppError(Object.assign(new Error('x'), { name: 'AppError', code: 'WHAT' }))).toBe(false);
  });
});

describe('toAppError', () => {
  it('returns an AppError unchanged', () => {
    const err = new AppError('UNAVAILABLE', 'redis down');
    expect(toAppError(err)).toBe(err);
  });

  it('maps AbortError to CANCELLED and TimeoutError to DEADLINE_EXCEEDED', () => {
    expect(toAppError(new DOMException('stop', 'AbortError')).code).toBe('CANCELLED');
    expect(toAppError(new DOMException('late', 'TimeoutError')).code).toBe('DEADLINE_EXCEEDED');
  });

  it('wraps other errors as INTERNAL with the original as cause', () => {
    const root = new TypeError('undefined is not a function');
    const err = toAppError(root);
    expect(err.code).toBe('INTERNAL');
    expect(err.message).toBe('undefined is not a function');
    expect(err.cause).toBe(root);
  });

  it('wraps thrown non-errors as INTERNAL naming the value', () => {
    expect(toAppError('oops').message).toBe('non-error value thrown: oops');
    expect(toAppError(42).message).toBe('non-error value thrown: 42');
  });
});
