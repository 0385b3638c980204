import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createRng } from '@alignda/tensor';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { AdamW } from './adamw.js';
import {
  CHECKPOINT_FORMAT,
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from './checkpoint.js';
import { Ema } from './ema.js';
import type { ParamMap } from './param-map.js';
import { encodeSafetensors } from './safetensors.js';

/** Gradient of 1/2 ||W x - y||^2 summed over a fixed batch, for a linear model y = W x + b (pure TS). */
function linearGrads(p: ParamMap, xs: Float32Array[], ys: Float32Array[]): ParamMap {
  const w = p.w as Float32Array; // [2, 3]
  const b = p.b as Float32Array; // [2]
  const gw = new Float32Array(6);
  const gb = new Float32Array(2);
  xs.forEach((x, s) => {
    for (let o = 0; o < 2; o++) {
      let r = (b[o] as number) - (ys[s]?.[o] as number);
      for (let i = 0; i < 3; i++) r += (w[o * 3 + i] as number) * (x[i] as number);
      gb[o] = (gb[o] as number) + r;
      for (let i = 0; i < 3; i++) gw[o * 3 + i] = (gw[o * 3 + i] as number) + r * (x[i] as number);
    }
  });
  return { w: gw, b: gb };
}

describe('checkpoints', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'alignda-ckpt-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const rng = createRng(21);
  const xs = Array.from({ length: 8 }, () => rng.fillNormal(new Float32Array(3)));
  const ys = Array.from({ length: 8 }, () => rng.fillNormal(new Float32Array(2)));
  const init = (): ParamMap => ({ w: createRng(4).fillNormal(new Float32Array(6)), b: new Float32Array(2) });
  const config = { model: 'linear', width: 3, note: 'ünïcode' };

  it('reloads parameters, optimizer state, EMA and config bit-identically', async () => {
    const p = init();
    const opt = new AdamW(p, { lr: 0.05 });
    const ema = new Ema(p, { decay: 0.9 });
    for (let t = 0; t < 5; t++) {
      opt.step(p, linearGrads(p, xs, ys));
      ema.update(p);
    }
    const path = join(dir, 'model.safetensors');
    await saveCheckpoint(path, {
      config,
      params: p,
      shapes: { w: [2, 3], b: [2] },
      optimizer: { config: opt.config, state: opt.state() },
      ema: { decay: ema.decay, warmup: ema.warmup, state: ema.state() },
    });
    const back = await loadCheckpoint(path);
    expect(back.config).toEqual(config);
    expect(back.shapes).toEqual({ w: [2, 3], b: [2] });
    expect(back.params).toEqual(p);
    expect(back.optimizer?.state).toEqual(opt.state());
    expect(back.optimizer?.config).toEqual(opt.config);
    expect(back.ema?.state).toEqual(ema.state());
    // Re-encoding what was loaded gives the same bytes.
    expect(Buffer.from(encodeCheckpoint(back)).equals(await readFile(path))).toBe(true);
  });

  it('continues training after a reload exactly as an uninterrupted run', async () => {
    const straight = init();
    const optA = new AdamW(straight, { lr: 0.05 });
    for (let t = 0; t < 12; t++) optA.step(straight, linearGrads(straight, xs, ys));

    const p = init();
    const optB = new AdamW(p, { lr: 0.05 });
    for (let t = 0; t < 5; t++) optB.step(p, linearGrads(p, xs, ys));
    const path = join(dir, 'resume.safetensors');
    await saveCheckpoint(path, {
      config,
      params: p,
      optimizer: { config: optB.config, state: optB.state() },
    });

    const back = await loadCheckpoint(path);
    const q = back.params;
    const optC = new AdamW(q, back.optimizer?.config);
    if (back.optimizer) optC.loadState(back.optimizer.state);
    for (let t = 5; t < 12; t++) optC.step(q, linearGrads(q, xs, ys));
    expect(q).toEqual(straight);
  });

  it('keeps float64 parameters float64', () => {
    const params: ParamMap = { scale: new Float64Array([Math.PI, 1e-300]), w: new Float32Array([0.1]) };
    const back = decodeCheckpoint(encodeCheckpoint({ config: null, params }));
    expect(back.params.scale).toBeInstanceOf(Float64Array);
    expect(back.params).toEqual(params);
  });

  it('names the file and the problem when it is corrupt or not a checkpoint', async () => {
    const path = join(dir, 'bad.safetensors');
    const bytes = encodeCheckpoint({ config, params: init() });
    await writeFile(path, bytes.subarray(0, bytes.length - 1));
    await expect(loadCheckpoint(path)).rejects.toThrow(`${path}: data section`);
    const foreign = encodeSafetensors(
      { w: { dtype: 'F32', shape: [1], data: new Float32Array(1) } },
      { format: 'pt' },
    );
    expect(() => decodeCheckpoint(foreign)).toThrow(
      `metadata format is "pt", expected '${CHECKPOINT_FORMAT}'`,
    );
    const noM = encodeSafetensors(
      { 'params/w': { dtype: 'F32', shape: [1], data: new Float32Array(1) } },
      { format: CHECKPOINT_FORMAT, config: '{}', optimizer: '{"name":"adamw","step":1,"config":{}}' },
    );
    expect(() => decodeCheckpoint(noM)).toThrow(/adamw.m covers \[\], the parameters are \[w\]/);
  });
});
