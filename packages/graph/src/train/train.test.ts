import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { exportInference } from '../onnx.js';
import { createSession, releaseSessions } from '../runtime.js';
import type { TensorData } from '../types.js';
import { AdamW } from './adamw.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { Ema } from './ema.js';
import { warmupCosineSchedule } from './lr-schedule.js';
import { cloneParams } from './param-map.js';
import { attentionBlock, convNet, evaluate, teacherData, trainer, trainSteps } from './test-models.js';
import type { RegressionModel } from './test-models.js';

// Seeds: teacher weights 101, student weights 7, training batches 1000 + k, held-out batches -1..-4.
const TEACHER_SEED = 101;
const STUDENT_SEED = 7;
const DATA_SEED = 1000;
const HELD_OUT = [-1, -2, -3, -4];

afterAll(async () => {
  await releaseSessions();
});

/** Trains a student on the teacher's outputs; returns held-out loss and variance of y before and after. */
async function fit(model: (seed: number) => RegressionModel, steps: number, peakLr: number) {
  const data = await teacherData(model, TEACHER_SEED, DATA_SEED);
  const t = await trainer(model(STUDENT_SEED));
  const params = t.model.graph.initialParams();
  const opt = new AdamW(params, { weightDecay: 0 });
  const before = await evaluate(t, params, data, HELD_OUT);
  await trainSteps(
    t,
    params,
    opt,
    data,
    0,
    steps,
    warmupCosineSchedule({ peakLr, warmupSteps: 20, totalSteps: steps }),
  );
  const after = await evaluate(t, params, data, HELD_OUT);
  return { before, after };
}

describe('training with AdamW on onnxruntime gradients', () => {
  it('fits a small conv net to a teacher conv net to 5% of the predict-the-mean loss (1000 steps)', async () => {
    // Held-out MSE: ~1.46 at initialisation, var(y) ~0.42, ~0.013 after training (seeded, deterministic).
    const { before, after } = await fit(convNet, 1000, 2e-2);
    expect(before.loss).toBeGreaterThan(before.varY);
    expect(after.loss).toBeLessThan(0.05 * after.varY);
  });

  it('fits a self-attention block (MatMul, Transpose, Softmax) to a teacher to 1% of the predict-the-mean loss (600 steps)', async () => {
    // Held-out MSE: ~0.90 at initialisation, var(y) ~0.44, ~1.3e-4 after training.
    const { before, after } = await fit(attentionBlock, 600, 2e-2);
    expect(before.loss).toBeGreaterThan(before.varY);
    expect(after.loss).toBeLessThan(0.01 * after.varY);
  });

  it('reloads a checkpoint bit-identically and continues training exactly as without the interruption', async () => {
    const data = await teacherData(convNet, TEACHER_SEED, DATA_SEED);
    const t = await trainer(convNet(STUDENT_SEED));
    const lr = warmupCosineSchedule({ peakLr: 1e-2, warmupSteps: 5, totalSteps: 60 });
    const params = t.model.graph.initialParams();
    const opt = new AdamW(params, { weightDecay: 0.01 });
    const ema = new Ema(params, { decay: 0.9 });
    await trainSteps(t, params, opt, data, 0, 40, lr);
    ema.update(params);

    const dir = await mkdtemp(join(tmpdir(), 'alignda-train-'));
    try {
      const path = join(dir, 'convnet.safetensors');
      const shapes = Object.fromEntries(t.model.graph.params.map((p) => [p.name, p.shape]));
      await saveCheckpoint(path, {
        config: { model: 'convnet', seed: STUDENT_SEED },
        params,
        shapes,
        optimizer: { config: opt.config, state: opt.state() },
        ema: { decay: ema.decay, warmup: ema.warmup, state: ema.state() },
      });
      const saved = cloneParams(params);
      const straightLosses = await trainSteps(t, params, opt, data, 40, 60, lr);

      const ckpt = await loadCheckpoint(path);
      expect(ckpt.params).toEqual(saved);
      expect(ckpt.shapes).toEqual(shapes);
      expect(ckpt.ema?.state.shadow).toEqual(ema.state().shadow);
      const resumed = ckpt.params;
      const opt2 = new AdamW(resumed, ckpt.optimizer?.config);
      if (ckpt.optimizer !== undefined) opt2.loadState(ckpt.optimizer.state);
      const resumedLosses = await trainSteps(t, resumed, opt2, data, 40, 60, lr);
      expect(resumedLosses).toEqual(straightLosses);
      for (const name of t.names) {
        expect(
          Buffer.from((resumed[name] as Float32Array).buffer).equals(
            Buffer.from((params[name] as Float32Array).buffer),
          ),
        ).toBe(true);
      }
      // And the run moved: the continuation is not a no-op.
      expect(resumed).not.toEqual(saved);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  for (const [label, model] of [
    ['conv net', convNet],
    ['attention block', attentionBlock],
  ] as const) {
    it(`exports a frozen inference graph of the trained ${label} that reproduces the training graph's forward to 1e-6`, async () => {
      const data = await teacherData(model, TEACHER_SEED, DATA_SEED);
      const t = await trainer(model(STUDENT_SEED));
      const params = t.model.graph.initialParams();
      await trainSteps(t, params, new AdamW(params), data, 0, 30, () => 1e-2);
      const { x, y } = await data(-1);
      const training = await createSession(t.model.graph);
      const frozen = await createSession(exportInference(t.model.graph, params));
      expect(frozen.graphOptimizationLevel).toBe('all');
      const a = ((await training.run({ x, y, ...params }, ['pred'])).pred as TensorData).data as Float32Array;
      const b = ((await frozen.run({ x, y }, ['pred'])).pred as TensorData).data as Float32Array;
      // Guard against comparing two copies of the initial weights: training changed the output.
      const init = (
        (await training.run({ x, y, ...t.model.graph.initialParams() }, ['pred'])).pred as TensorData
      ).data as Float32Array;
      let moved = 0;
      let diff = 0;
      for (let i = 0; i < a.length; i++) {
        diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
        moved = Math.max(moved, Math.abs((a[i] as number) - (init[i] as number)));
      }
      expect(moved).toBeGreaterThan(1e-2);
      expect(diff).toBeLessThanOrEqual(1e-6);
    });
  }
});
