/**
 * The encoder service on 127.0.0.1:0 with ci models trained a few steps on a one-variable in-memory dataset: health,
 * Encode and Decode bit for bit as encodeState / decodeState in process, malformed requests, and main.ts as a child
 * process that drains on SIGTERM.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { GrpcStatus } from '@alignda/errors';
import { createLogger } from '@alignda/log';
import { createLatentSessions, fileModelStore } from '@alignda/nn';
import type { LatentModels } from '@alignda/nn';
import { decodeState, encodeState, trainLatentModels } from '@alignda/pipelines';
import {
  EncoderServiceClient,
  checkHealth,
  createGrpcClient,
  fieldFromProto,
  fieldToProto,
  float32FromTensor,
  tensorFromFloat32,
  unaryCall,
} from '@alignda/rpc';
import type { GrpcService } from '@alignda/rpc';
import { createRng, denormalise, normalise } from '@alignda/tensor';
import type { Field } from '@alignda/tensor';
import type { DaSource } from '@alignda/world';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { memoryDataset } from '../../../packages/pipelines/src/internal/testing.js';
import { spawnServiceMain } from '../../../packages/rpc/src/internal/testing.js';
import { buildApp } from './app.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const [C, H, W] = [1, 32, 64];
const COUNT = 80;

/** Travelling waves in temperature (K) plus noise, as packages/pipelines' no-truth test trains on. */
function states(): Float32Array[] {
  const rng = createRng(3);
  return Array.from({ length: COUNT }, (_, t) => {
    const [a, b] = [rng.normal(), rng.normal()];
    return Float32Array.from({ length: C * H * W }, (_, g) => {
      const [i, k] = [Math.floor(g / W), g % W];
      return (
        280 - 0.5 * i + 3 * a * Math.sin((2 * Math.PI * k) / W + t / 4) + 2 * b * Math.cos((Math.PI * i) / H)
      );
    });
  });
}

describe('encoder service', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'alignda-encoder-'));
  const modelDir = path.join(root, 'memory-ci');
  let source: DaSource;
  let models: LatentModels;
  let service: GrpcService;
  let client: EncoderServiceClient;

  beforeAll(async () => {
    source = memoryDataset(states(), { train: [0, 40], alignment: [40, 56], test: [56, COUNT] });
    mkdirSync(modelDir);
    const store = fileModelStore(modelDir);
    await trainLatentModels(source, store, { preset: 'ci', steps: 3, seed: 1 });
    models = await store.loadAll();
    const app = await buildApp({
      models,
      layout: source,
      modelVersion: 'memory-ci',
      autoencoderSha256: await store.autoencoderSha256(),
      log: createLogger({ service: 'encoder', level: 'silent' }),
      executionProvider: 'cpu',
    });
    service = await app.listen({ port: 0 });
    client = createGrpcClient(EncoderServiceClient, service.address);
  }, 60_000);

  afterAll(async () => {
    client.close();
    await service.drain({ graceMs: 1000 });
    rmSync(root, { recursive: true, force: true });
  });

  it('reports SERVING for the server and EncoderService once the models are loaded', async () => {
    expect(await checkHealth(service.address)).toBe('SERVING');
    expect(await checkHealth(service.address, 'alignda.v1.EncoderService')).toBe('SERVING');
  });

  it('encodes and decodes bit for bit as encodeState and decodeState do in process', async () => {
    const fields = [source.field(60), source.field(61)];
    const encoded = await unaryCall(client.encode.bind(client), {
      fields: fields.map((f) => fieldToProto(f)),
      modelVersion: '',
    });
    const latents = float32FromTensor(encoded.latents, 'latents');
    const zShape = models.score.config.latentShape;
    expect(latents.shape).toEqual([2, ...zShape]);
    expect(encoded.modelVersion).toBe('memory-ci');
    // The autoencoder's identity, as a score model pins it: the SHA-256 of its weights file.
    expect(encoded.autoencoderSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(encoded.autoencoderSha256).toBe(
      (await fileModelStore(modelDir).readManifest())?.autoencoderSha256,
    );

    const one = await createLatentSessions(models, 1);
    const norm = models.vae.norm;
    const size = latents.data.length / 2;
    for (const [n, f] of fields.entries()) {
      const z = await encodeState(one, normalise({ data: f.data, shape: f.shape }, norm).data);
      expect(latents.data.subarray(n * size, (n + 1) * size)).toEqual(z);
    }

    const validTime = new Date(Date.UTC(2013, 0, 16));
    const decoded = await unaryCall(client.decode.bind(client), {
      latents: encoded.latents,
      modelVersion: 'memory-ci',
      validTime,
    });
    expect(decoded.fields).toHaveLength(2);
    for (const [n, message] of decoded.fields.entries()) {
      const { field, validTime: at } = fieldFromProto(message);
      const x = await decodeState(one, latents.data.subarray(n * size, (n + 1) * size));
      expect(field.data).toEqual(denormalise({ data: x, shape: [C, H, W] }, norm).data);
      expect(at).toEqual(validTime);
      expect([field.channels, field.units, field.grid.kind]).toEqual([['t'], ['K'], 'beta-plane']);
    }

    const described = await unaryCall(client.describeModel.bind(client), { modelVersion: '' });
    expect(described).toMatchObject({
      modelVersion: 'memory-ci',
      channels: ['t'],
      units: ['K'],
      fieldShape: [C, H, W],
      latentShape: zShape,
    });
  });

  it('answers malformed tensors, foreign fields and latents of the wrong shape with INVALID_ARGUMENT', async () => {
    const good = fieldToProto(source.field(60));
    const encode = (fields: unknown[]): Promise<unknown> =>
      unaryCall(client.encode.bind(client), { fields: fields as [], modelVersion: '' });
    const short = { ...good, tensor: { ...good.tensor, data: new Uint8Array(10) } };
    await expect(encode([good, short])).rejects.toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
      details: expect.stringContaining('fields[1].tensor.data: has 10 bytes') as string,
    });
    const foreign: Field = { ...source.field(60), channels: ['air'], units: ['degC'] };
    await expect(encode([fieldToProto(foreign)])).rejects.toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
      details: 'fields[0].channels: are [air], expected [t]; fields[0].units: are [degC], expected [K]',
    });
    await expect(encode([])).rejects.toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT });
    const latents = tensorFromFloat32(new Float32Array(3 * 5), [1, 3, 5]);
    await expect(
      unaryCall(client.decode.bind(client), { latents, modelVersion: '', validTime: undefined }),
    ).rejects.toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT });
    await expect(
      unaryCall(client.describeModel.bind(client), { modelVersion: 'other' }),
    ).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND });
    // Found by `npm run fuzz`: NaN and infinite values were encoded and decoded into NaN answers, silently.
    const nanField = { ...source.field(60), data: Float32Array.from(source.field(60).data) };
    nanField.data[7] = Number.POSITIVE_INFINITY;
    await expect(encode([fieldToProto(nanField)])).rejects.toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
      details:
        'fields[0].tensor.data: 1 values are NaN or infinite (the first is element 7): send finite values',
    });
    const nanLatents = tensorFromFloat32(
      new Float32Array(models.score.config.latentShape.reduce((a, b) => a * b)).fill(Number.NaN),
      [1, ...models.score.config.latentShape],
    );
    await expect(
      unaryCall(client.decode.bind(client), { latents: nanLatents, modelVersion: '', validTime: undefined }),
    ).rejects.toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
      details: expect.stringMatching(/^latents\.data: \d+ values are NaN/) as string,
    });
  });

  const ncep = path.resolve(REPO, '../shared/data/ncep-air');
  it.skipIf(!existsSync(ncep))(
    'runs main.ts as a process that serves, then drains on SIGTERM and exits 0',
    async () => {
      const proc = await spawnServiceMain(
        'services/encoder/src/main.ts',
        ['--model-dir', modelDir, '--dataset', 'ncep-air', '--port', '0'],
        { cwd: REPO, env: { ALIGNDA_HOME: root, ALIGNDA_EXECUTION_PROVIDER: 'cpu', LOG_LEVEL: 'info' } },
      );
      expect(await checkHealth(proc.address)).toBe('SERVING');
      proc.child.kill('SIGTERM');
      const late = new Promise((resolve) =>
        setTimeout(() => resolve('still running after 10 s'), 10_000).unref(),
      );
      expect(await Promise.race([proc.exited, late])).toBe(0);
      expect(proc.output()).toContain('"msg":"stopped"');
    },
    60_000,
  );
});
