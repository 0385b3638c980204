/**
 * The checks of the Dockerfile and .dockerignore against the compose files and the code: the targets compose builds
 * exist and run as a non-root user with the `alignda` entrypoint; the dependencies are installed by `npm ci` with the
 * workspace's manifests and install-script policy; the GPU target runs onnxruntime-node's own CUDA install; every
 * variable the image sets is one the code reads.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import type { CodeFacts } from './code-facts.js';
import { REPO } from './code-facts.js';
import { globalArgs, imageOf, stagesUsedBy } from './dockerfile.js';
import type { Stage } from './dockerfile.js';

/** The commands the image installs (`/usr/local/bin/<name>`) and the repository file each runs. */
export const IMAGE_COMMANDS = {
  alignda: 'packages/cli/src/main.ts',
  'alignda-health': 'packages/rpc/scripts/health-check.ts',
} as const;

/** Whether a RUN of `target` or of a stage it is built on or copies from matches `pattern`. */
const runs = (stages: readonly Stage[], target: string, pattern: RegExp): boolean => {
  const used = stagesUsedBy(stages, target);
  return stages.some(
    (s) => used.has(s.name) && s.instructions.some((i) => i.keyword === 'RUN' && pattern.test(i.args)),
  );
};

/** What every image compose builds must be, for the targets `targets` (and the Dockerfile's last stage). */
export function checkImages(
  stages: readonly Stage[],
  targets: ReadonlySet<string>,
  facts: CodeFacts,
): string[] {
  const problems: string[] = [];
  const names = new Set(stages.map((s) => s.name));
  for (const t of targets)
    if (!names.has(t)) problems.push(`compose builds target ${t}, which the Dockerfile lacks`);
  for (const [command, file] of Object.entries(IMAGE_COMMANDS)) {
    if (!existsSync(path.join(REPO, file))) problems.push(`${command} runs ${file}, which does not exist`);
    const writes = stages.some((s) =>
      s.instructions.some(
        (i) =>
          i.keyword === 'RUN' &&
          i.args.includes(`/usr/local/bin/${command} `) &&
          i.args.includes(`/app/${file}`),
      ),
    );
    if (!writes) problems.push(`no RUN writes /usr/local/bin/${command} running /app/${file}`);
  }
  const last = stages.at(-1)?.name;
  for (const t of [...targets, ...(last === undefined ? [] : [last])]) {
    if (!names.has(t)) continue;
    const image = imageOf(stages, t);
    if (image.user === undefined || /^(root|0)(:|$)/.test(image.user))
      problems.push(`target ${t}: runs as ${image.user ?? 'root (no USER)'}, not a user of its own`);
    if (JSON.stringify(image.entrypoint) !== JSON.stringify(['alignda']))
      problems.push(`target ${t}: ENTRYPOINT is ${JSON.stringify(image.entrypoint)}, not ["alignda"]`);
    for (const command of Object.keys(IMAGE_COMMANDS))
      if (
        !image.instructions.some((i) => i.keyword === 'COPY' && i.args.includes(`/usr/local/bin/${command}`))
      )
        problems.push(`target ${t}: does not copy /usr/local/bin/${command}`);
    if (image.workdir !== '/app')
      problems.push(`target ${t}: WORKDIR ${image.workdir}, the sources are in /app`);
    for (const name of Object.keys(image.env))
      if (!facts.knownEnv.has(name)) problems.push(`target ${t}: ENV ${name} is read by no code`);
    if (!runs(stages, t, /\bnpm ci\b/))
      problems.push(`target ${t}: its dependencies are not installed by npm ci`);
  }
  return problems;
}

/**
 * The dependency stage: `npm ci` after every manifest (root, lockfile, .npmrc, each workspace's package.json), with
 * the install scripts as package.json "allowScripts" says (an npm that reads it; no blanket --ignore-scripts).
 */
export function checkInstall(text: string, stages: readonly Stage[]): string[] {
  const problems: string[] = [];
  const root = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
    workspaces?: string[];
    allowScripts?: Record<string, boolean>;
  };
  if (root.allowScripts?.['onnxruntime-node'] !== false)
    problems.push('package.json allowScripts no longer denies onnxruntime-node (the CPU image relies on it)');
  const stage = stages.find((s) =>
    s.instructions.some((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args)),
  );
  if (stage === undefined) return [...problems, 'no stage runs npm ci'];
  const at = stage.instructions.findIndex((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
  const ci = stage.instructions[at]?.args ?? '';
  if (/--ignore-scripts|--dangerously-allow-all-scripts/.test(ci))
    problems.push(`npm ci overrides package.json's allowScripts: ${ci}`);
  const copied = stage.instructions
    .slice(0, at)
    .filter((i) => i.keyword === 'COPY')
    .flatMap((i) =>
      i.args
        .split(/\s+/)
        .filter((w) => !w.startsWith('--'))
        .slice(0, -1),
    );
  for (const file of [
    'package.json',
    'package-lock.json',
    '.npmrc',
    ...(root.workspaces ?? []).map((w) => `${w}/package.json`),
  ])
    if (!copied.includes(file)) problems.push(`npm ci runs before ${file} is copied`);
  const npm = globalArgs(text).NPM_VERSION ?? '';
  const pinned = stage.instructions.some(
    (i) => i.keyword === 'RUN' && i.args.includes('npm install --global "npm@${NPM_VERSION}"'),
  );
  if (!pinned || !(Number(npm.split('.')[0]) >= 11))
    problems.push('the npm that runs npm ci is not pinned to a version that reads allowScripts (>= 11)');
  return problems;
}

/**
 * The GPU target installs onnxruntime-node's CUDA provider the way the package documents: its install script with
 * ONNXRUNTIME_NODE_INSTALL set to a manifest the installed version has for linux/x64.
 */
export function checkGpuImage(stages: readonly Stage[], target: string): string[] {
  const problems: string[] = [];
  const ort = path.join(REPO, 'node_modules/onnxruntime-node');
  const require = createRequire(path.join(ort, 'package.json'));
  const metadata = require('./script/install-metadata.js') as { requirements: Record<string, string[]> };
  const utils = readFileSync(path.join(ort, 'script/install-utils.js'), 'utf8');
  if (!utils.includes('process.env.ONNXRUNTIME_NODE_INSTALL'))
    problems.push('onnxruntime-node no longer reads ONNXRUNTIME_NODE_INSTALL');
  if (!stages.some((s) => s.name === target)) return [...problems, `no stage ${target}`];
  const install = [...stages.flatMap((s) => s.instructions)].find(
    (i) => i.keyword === 'RUN' && i.args.includes('onnxruntime-node/script/install'),
  );
  const flag = install === undefined ? undefined : /ONNXRUNTIME_NODE_INSTALL=(\S+)/.exec(install.args)?.[1];
  if (install === undefined || flag === undefined)
    return [...problems, 'no RUN of onnxruntime-node/script/install'];
  if (!existsSync(path.join(ort, 'script/install.js')))
    problems.push('onnxruntime-node has no script/install.js');
  for (const manifest of flag.split(','))
    if (!(metadata.requirements['linux/x64'] ?? []).includes(manifest))
      problems.push(`ONNXRUNTIME_NODE_INSTALL=${manifest} is no manifest of onnxruntime-node on linux/x64`);
  // The CUDA install's stage reaches the GPU target: copied from (COPY --from) or built on.
  const installStage = stages.find((s) => s.instructions.includes(install))?.name ?? '';
  if (!stagesUsedBy(stages, target).has(installStage))
    problems.push(`${target} does not take node_modules from ${installStage}, where CUDA is installed`);
  return problems;
}

/** .dockerignore keeps host builds out and what the image needs in. */
export function checkDockerignore(text: string): string[] {
  const lines = new Set(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#')),
  );
  const problems: string[] = [];
  for (const out of ['**/node_modules', '.git', '.alignda'])
    if (!lines.has(out)) problems.push(`.dockerignore does not exclude ${out}`);
  for (const needed of [
    'package.json',
    'package-lock.json',
    '.npmrc',
    'packages',
    'services',
    'tsconfig.json',
  ])
    if (lines.has(needed) || lines.has(`/${needed}`))
      problems.push(`.dockerignore excludes ${needed}, which the image needs`);
  return problems;
}
