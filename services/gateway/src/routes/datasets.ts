/**
 * `/v1/datasets`: register a dataset of one's own (admin scope) and read the registry (read scope). A dataset is a
 * Zarr v2 store or a netCDF file (classic or netCDF-4) already under the data root (ALIGNDA_DATA_DIR), named by a
 * path relative to it: the gateway never reads a path outside it (`..`, other absolute paths and symbolic links out
 * of it are refused), and takes no uploads. The checks against the data and the registry itself
 * (`<ALIGNDA_HOME>/datasets`, shared with `alignda dataset add`) are packages/world's.
 */
import path from 'node:path';

import { z } from 'zod';

import { createDatasetRegistry, datasetDescriptorSchema, datasetRegistryDir } from '@alignda/world';
import type { DatasetEntry, DatasetRegistry } from '@alignda/world';

import type { GatewayApp, GatewayDeps } from '../deps.js';
import { problemResponse } from '../problem.js';

const problem = problemResponse;

const period = z.strictObject({ start: z.string(), end: z.string() });

/** A registry entry as the API shows it. */
const datasetViewSchema = z
  .strictObject({
    name: z.string(),
    title: z.string(),
    builtin: z.boolean().describe('shipped with the platform (ncep-air) rather than registered'),
    format: z.enum(['zarr', 'netcdf']),
    path: z.string().describe('the source, relative to the data root (ALIGNDA_DATA_DIR)'),
    stepHours: z.number().nullable().describe('hours between time steps, from the time axis (24: daily)'),
    timeRange: z
      .strictObject({
        start: z.string().describe('first valid time, ISO 8601 UTC'),
        end: z.string().describe('last valid time, ISO 8601 UTC'),
        count: z.number().int().describe('number of time steps'),
      })
      .nullable()
      .describe('known for registered datasets'),
    variables: z.array(z.strictObject({ channel: z.string(), source: z.string(), units: z.string() })),
    periods: z.strictObject({
      train: period.optional(),
      alignment: period.optional(),
      test: period.optional(),
    }),
    addedAt: z.string().nullable().describe('when it was registered, ISO 8601 UTC; null for built-ins'),
  })
  .describe('a dataset of the registry');

type DatasetView = z.infer<typeof datasetViewSchema>;

const nameParams = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes')
    .describe('the dataset name, e.g. ncep-air'),
});

const registerQuery = z.strictObject({
  replace: z
    .enum(['true', 'false', '1', '0'])
    .transform((v) => v === 'true' || v === '1')
    .default(false)
    .describe('replace a registered dataset of the same name'),
});

function viewOf(e: DatasetEntry, dataDir: string): DatasetView {
  const d = e.descriptor;
  return {
    name: e.name,
    title: e.title,
    builtin: e.builtin,
    format: d.source.format,
    path: path.relative(dataDir, d.source.path).split(path.sep).join('/'),
    stepHours: e.stepHours ?? null,
    timeRange: e.timeRange ?? null,
    variables: d.variables.map((v) => ({ channel: v.channel, source: v.source, units: v.units })),
    periods: d.periods,
    addedAt: e.addedAt ?? null,
  };
}

/** Registers the dataset routes. */
export function registerDatasetRoutes(app: GatewayApp, deps: GatewayDeps): void {
  const dataDir = path.resolve(deps.dataDir ?? path.resolve(process.cwd(), '../shared/data'));
  // Read per request: `alignda dataset add` and other gateway replicas write the same folder.
  const registry = (): DatasetRegistry =>
    createDatasetRegistry({ dataDir, registryDir: datasetRegistryDir(deps.homeDir) });

  app.post(
    '/v1/datasets',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Register a dataset',
        description:
          'The body is a dataset descriptor (the JSON of `alignda dataset add`); `source.path` is relative to the ' +
          'data root (ALIGNDA_DATA_DIR) or an absolute path under it. The descriptor is checked against the data ' +
          '(coordinates present and 1-D, CF time units, times strictly increasing and uniformly spaced, variables ' +
          'present with a supported element type and dimensionality, train and test periods inside the data); ' +
          'nothing is registered when a check fails, and the problem names the field. The time step (hours) is ' +
          'read from the time axis and recorded. Files are not uploaded: they must already be under the data root.',
        tags: ['datasets'],
        security: [{ apiKey: [] }],
        querystring: registerQuery,
        body: datasetDescriptorSchema,
        response: {
          201: datasetViewSchema,
          400: problem('a bad descriptor, a path outside the data root, or data that fails a check (named)'),
          401: problem('no, an unknown or a revoked API key'),
          403: problem('the key lacks the admin scope'),
          404: problem('the source file or folder does not exist under the data root'),
          409: problem('the name is taken (a built-in dataset, or a registered one without replace=true)'),
        },
      },
    },
    async (request, reply) => {
      const entry = await registry().registerDescriptor(request.body, dataDir, {
        replace: request.query.replace,
      });
      request.log.info({ dataset: entry.name, stepHours: entry.stepHours }, 'dataset registered');
      void reply.code(201).header('location', `/v1/datasets/${entry.name}`);
      return viewOf(entry, dataDir);
    },
  );

  app.get(
    '/v1/datasets',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'List the datasets',
        description: 'The built-in datasets and those registered, with their time step and time range.',
        tags: ['datasets'],
        security: [{ apiKey: [] }],
        response: {
          200: z.strictObject({ datasets: z.array(datasetViewSchema) }),
          401: problem('no, an unknown or a revoked API key'),
          403: problem('the key lacks the read scope'),
        },
      },
    },
    () =>
      Promise.resolve({
        datasets: registry()
          .list()
          .map((e) => viewOf(e, dataDir)),
      }),
  );

  app.get(
    '/v1/datasets/:name',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Read a dataset',
        tags: ['datasets'],
        security: [{ apiKey: [] }],
        params: nameParams,
        response: {
          200: datasetViewSchema,
          400: problem('the name is not a dataset name'),
          401: problem('no, an unknown or a revoked API key'),
          403: problem('the key lacks the read scope'),
          404: problem('no such dataset'),
        },
      },
    },
    (request) => Promise.resolve(viewOf(registry().get(request.params.name), dataDir)),
  );
}
