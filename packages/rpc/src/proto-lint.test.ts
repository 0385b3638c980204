import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROTO_DIR, protoLintProblems } from '../scripts/buf.js';

describe('proto/ contracts', () => {
  const temps: string[] = [];
  afterEach(() => {
    for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('pass buf lint (STANDARD + COMMENTS) and buf format', () => {
    expect(protoLintProblems()).toEqual([]);
  });

  it('fail the check when a message is uncommented or misformatted', () => {
    const copy = mkdtempSync(join(tmpdir(), 'alignda-proto-lint-'));
    temps.push(copy);
    cpSync(PROTO_DIR, copy, { recursive: true });
    appendFileSync(join(copy, 'alignda/v1/forecast.proto'), 'message Undocumented {   string x = 1; }\n');
    const problems = protoLintProblems(copy);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/Message "Undocumented" should have a non-empty comment/);
    expect(problems[1]).toMatch(/^buf format/);
  });
});
