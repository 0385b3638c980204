import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { registerWorldCommand } from './world.js';

describe('alignda world', () => {
  const dirs: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('generates a run, prints its statistics and writes a PNG map of one state', async () => {
    const out = mkdtempSync(join(tmpdir(), 'alignda-world-cli-'));
    dirs.push(out);
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    const cli = (...argv: string[]): Promise<Command> => {
      const program = new Command('alignda').exitOverride();
      registerWorldCommand(program);
      return program.parseAsync(['node', 'alignda', 'world', ...argv]);
    };
    // 0.005 year = 7 states after a 2-day spin-up: the command path, not the climate, is under test.
    await cli('generate', '--seed', '3', '--years', '0.005', '--spin-up-days', '2', '--out', out);
    const runLine = lines.find((l) => l.startsWith('generated: '));
    expect(runLine).toMatch(/generated: .*qg-s3-y0p005-v1-[0-9a-f]{8} \(7 states/);
    const runDir = (runLine as string).slice('generated: '.length).split(' (')[0] as string;
    await cli('stats', '--dir', runDir);
    expect(lines.some((l) => /^u_upper\s+m s-1\s+22\.00/.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith('dominant zonal wavenumber of v_upper: '))).toBe(true);
    const png = join(out, 'map.png');
    await cli('map', '--dir', runDir, '--time', '6', '--out', png);
    expect([...readFileSync(png).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]); // PNG signature
    await expect(cli('map', '--dir', runDir, '--time', '7', '--out', png)).rejects.toThrow(
      /state index 7 outside 0..6/,
    );
  });
});
