import type { Command } from 'commander';

import { runDatasetAdd, runDatasetExample, runDatasetList, runDatasetShow } from '../run/dataset-run.js';

/**
 * Registers `alignda dataset`: add a dataset of one's own (a Zarr v2 store or a netCDF file under ALIGNDA_DATA_DIR,
 * described by a descriptor JSON file), list the datasets, show one.
 */
export function registerDatasetCommand(program: Command): void {
  const dataset = program
    .command('dataset')
    .description('register and inspect datasets (Zarr v2 or netCDF under ALIGNDA_DATA_DIR)');
  dataset
    .command('add')
    .description(
      'check a descriptor against its data and register the dataset (nothing is registered on an error)',
    )
    .argument(
      '<descriptor>',
      'descriptor JSON file (see the README, "Your own dataset"); source.path relative to it, under ALIGNDA_DATA_DIR',
    )
    .option('--replace', 'replace a registered dataset of the same name', false)
    .action(async (file: string, opts: { replace: boolean }) => {
      await runDatasetAdd(file, opts);
    });
  dataset
    .command('list')
    .description('list the datasets: built in and registered, with their time step')
    .action(() => {
      runDatasetList();
    });
  dataset
    .command('example')
    .description(
      'write a small daily dataset (netCDF3 and Zarr v2) and its descriptor, to try the commands with',
    )
    .argument('<dir>', 'folder to write into (under ALIGNDA_DATA_DIR, to add it)')
    .option('--name <name>', 'the dataset name in the descriptor', 'daily-t2m')
    .action(async (dir: string, opts: { name: string }) => {
      await runDatasetExample(dir, opts.name);
    });
  dataset
    .command('show')
    .description('show a dataset: source, variables, grid, times, step and periods')
    .argument('<name>', 'the dataset name')
    .action(async (name: string) => {
      await runDatasetShow(name);
    });
}
