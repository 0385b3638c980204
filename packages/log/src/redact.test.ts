import { describe, expect, it } from 'vitest';
import { redactSecrets, redactUrl } from './redact.js';

describe('redactUrl', () => {
  it('replaces the password of a user:password URL', () => {
    expect(redactUrl('postgresql://root:pa:ss@127.0.0.1:5432/db?schema=x')).toBe(
      'postgresql://root:***@127.0.0.1:5432/db?schema=x',
    );
  });

  it('replaces a password-only Redis URL', () => {
    expect(redactUrl('rediss://:tok@redis.example:6380/0')).toBe('rediss://:***@redis.example:6380/0');
  });

  it('keeps URLs without a password unchanged', () => {
    for (const url of ['postgres://root@127.0.0.1/db', 'redis://127.0.0.1:6379', 'file:/tmp/a.db']) {
      expect(redactUrl(url)).toBe(url);
    }
  });

  it('replaces password query parameters', () => {
    expect(redactUrl('postgres://h/db?user=a&password=b&sslmode=require')).toBe(
      'postgres://h/db?user=a&password=***&sslmode=require',
    );
  });
});

describe('redactSecrets', () => {
  it('redacts every URL inside free text', () => {
    expect(redactSecrets('a redis://:x@h:1 and postgres://u:y@h/d')).toBe(
      'a redis://:***@h:1 and postgres://u:***@h/d',
    );
  });
});
