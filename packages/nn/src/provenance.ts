/**
 * What made an analysis, as the registry records it with every Analysis row (issue 13, "Provenance"): the code (git
 * commit, SHA-256 of package-lock.json), the runtime (Node.js, onnxruntime-node, the execution provider) and the
 * models (the served version and the SHA-256 of each file of the model folder that the sampler reads). The request and
 * its seeds are added by whoever runs the job. `alignda assimilate --from-job` compares a model folder's files with
 * the recorded ones before it says whether a re-run reproduces the stored analysis.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { onnxruntimeVersion } from '@alignda/graph';

export { hashFile } from './file-hash.js';

import { hashFile } from './file-hash.js';
import { MODEL_FILES, MODEL_MANIFEST_FILE } from './model-store.js';
import type { ModelManifest } from './model-store.js';

/** One file of a model folder. */
export interface ModelFileRecord {
  /** The file's name in the folder, e.g. `score.safetensors`. */
  readonly name: string;
  readonly bytes: number;
  /** SHA-256 of its bytes, hex. */
  readonly sha256: string;
}

/** The models an analysis was made with. */
export interface ModelsProvenance {
  /** The model version the platform serves (the folder's name unless set otherwise). */
  readonly version: string;
  /** The folder's `models.json` (source, preset, background, lead); null for a folder without one. */
  readonly manifest: ModelManifest | null;
  /** The VAE, emulator and score checkpoints and the manifest, in that order; a missing one is left out. */
  readonly files: readonly ModelFileRecord[];
}

/** The code, runtime and models of a process that makes analyses. */
export interface PlatformProvenance {
  /** The commit checked out (HEAD of the repository's `.git`), hex; null outside a git checkout. */
  readonly gitCommit: string | null;
  /** SHA-256 of the repository's package-lock.json, hex: the exact dependency versions; null when absent. */
  readonly lockfileSha256: string | null;
  /** `process.version`, e.g. `v20.19.0`. */
  readonly node: string;
  readonly onnxruntime: {
    /** onnxruntime-node's version, e.g. `1.30.0`. */
    readonly version: string;
    /** The execution provider asked for (ALIGNDA_EXECUTION_PROVIDER: cpu, cuda or auto); null when unknown. */
    readonly executionProviderRequested: string | null;
  };
  /** null when the process knows no model folder. */
  readonly models: ModelsProvenance | null;
}

/** Options of {@link platformProvenance}. */
export interface PlatformProvenanceOptions {
  /** The model folder; its checkpoints are hashed. @defaultValue none: `models` is null */
  readonly modelDir?: string;
  /** The served model version. @defaultValue the model folder's name */
  readonly modelVersion?: string;
  /** ALIGNDA_EXECUTION_PROVIDER. @defaultValue null */
  readonly executionProvider?: string;
  /** Where to look for the repository. @defaultValue the first folder above `process.cwd()` holding package-lock.json */
  readonly repoRoot?: string;
}

/** The folder at or above `start` that holds `package-lock.json` (the npm workspace root), if any. */
export function findRepoRoot(start: string = process.cwd()): string | undefined {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package-lock.json'))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

const HEX_COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The commit HEAD names in the git repository at `root`, read from `.git` without running git: a detached HEAD's
 * hash, or the branch's ref (loose, else in packed-refs). A `.git` file (a worktree or submodule) is followed to its
 * git directory, and a worktree's `commondir` to the shared refs.
 * @returns the commit, hex; null when `root` is not a git checkout or HEAD cannot be resolved
 */
export function readGitCommit(root: string): string | null {
  let gitDir = path.join(root, '.git');
  if (!existsSync(gitDir)) return null;
  if (statSync(gitDir).isFile()) {
    const pointer = /^gitdir:\s*(.+)$/m.exec(readText(gitDir) ?? '')?.[1]?.trim();
    if (pointer === undefined) return null;
    gitDir = path.resolve(root, pointer);
  }
  const head = readText(path.join(gitDir, 'HEAD'))?.trim();
  if (head === undefined) return null;
  if (HEX_COMMIT.test(head)) return head;
  const ref = /^ref:\s*(\S+)$/.exec(head)?.[1];
  if (ref === undefined) return null;
  const common = readText(path.join(gitDir, 'commondir'))?.trim();
  const dirs = [gitDir, ...(common === undefined ? [] : [path.resolve(gitDir, common)])];
  for (const dir of dirs) {
    const loose = readText(path.join(dir, ref))?.trim();
    if (loose !== undefined && HEX_COMMIT.test(loose)) return loose;
    for (const line of (readText(path.join(dir, 'packed-refs')) ?? '').split('\n')) {
      const [hash, name] = line.trim().split(' ');
      if (name === ref && hash !== undefined && HEX_COMMIT.test(hash)) return hash;
    }
  }
  return null;
}

/** The provenance of the model folder `dir`: its checkpoints' and manifest's hashes and the manifest itself. */
export async function modelsProvenance(
  dir: string,
  version: string = path.basename(dir),
): Promise<ModelsProvenance> {
  const files: ModelFileRecord[] = [];
  for (const name of [...Object.values(MODEL_FILES), MODEL_MANIFEST_FILE]) {
    const file = path.join(dir, name);
    if (existsSync(file)) files.push({ name, ...(await hashFile(file)) });
  }
  const manifestText = readText(path.join(dir, MODEL_MANIFEST_FILE));
  let manifest: ModelManifest | null = null;
  try {
    manifest = manifestText === undefined ? null : (JSON.parse(manifestText) as ModelManifest);
  } catch {
    manifest = null; // hashed all the same: a corrupt manifest is what it is
  }
  return { version, manifest, files };
}

/** The provenance of this process: code, runtime and (with `modelDir`) models. */
export async function platformProvenance(
  options: PlatformProvenanceOptions = {},
): Promise<PlatformProvenance> {
  const root = options.repoRoot ?? findRepoRoot();
  const lockfile = root === undefined ? undefined : path.join(root, 'package-lock.json');
  return {
    gitCommit: root === undefined ? null : readGitCommit(root),
    lockfileSha256: lockfile !== undefined && existsSync(lockfile) ? (await hashFile(lockfile)).sha256 : null,
    node: process.version,
    onnxruntime: {
      version: onnxruntimeVersion(),
      executionProviderRequested: options.executionProvider ?? null,
    },
    models:
      options.modelDir === undefined
        ? null
        : await modelsProvenance(options.modelDir, options.modelVersion ?? path.basename(options.modelDir)),
  };
}

/** How two sets of model files compare. */
export interface ModelFilesComparison {
  /** Every file of either set has the same hash in the other. */
  readonly same: boolean;
  /** Files whose hashes differ, or that one set has and the other lacks, by name. */
  readonly differing: readonly string[];
}

/** Compares the model files `a` and `b` (e.g. the recorded ones and a local folder's) by name and SHA-256. */
export function compareModelFiles(
  a: readonly Pick<ModelFileRecord, 'name' | 'sha256'>[],
  b: readonly Pick<ModelFileRecord, 'name' | 'sha256'>[],
): ModelFilesComparison {
  const hashes = (files: typeof a): Map<string, string> => new Map(files.map((f) => [f.name, f.sha256]));
  const ha = hashes(a);
  const hb = hashes(b);
  const names = [...new Set([...ha.keys(), ...hb.keys()])].sort();
  const differing = names.filter((n) => ha.get(n) !== hb.get(n));
  return { same: differing.length === 0 && names.length > 0, differing };
}
