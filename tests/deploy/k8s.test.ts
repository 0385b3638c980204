/**
 * infra/k8s matched against the code (no cluster runs here), with the checks of docker-compose.yml where they apply
 * (compose-checks.ts, on the manifests read by k8s-model.ts) and those only Kubernetes needs (k8s-checks.ts): every
 * command is an `alignda` command with its own flags and every service `alignda serve` accepts has a Deployment; every
 * variable is one the container's code reads (TLS from packages/rpc's grpc-tls.ts for the gRPC services), with a value
 * it accepts; probes, Services, container ports and addresses agree with what each service serves; the one-shot Jobs
 * make the nature run and the model set where the services read them; Redis keeps an append-only file; every image is
 * one the Dockerfile builds (or Redis); the sampler asks for a GPU and runs the CUDA image; KEDA reads the wait list
 * of the queue each Deployment consumes; TLS files come from one mounted secret. The last block breaks the files one
 * way at a time and shows that each break is caught.
 *
 * No trainer Deployment: no trainer worker exists in the code yet (the `train` queue has no consumer); when one comes,
 * `alignda serve` lists it, and the checks ask for its Deployment, its GPU and its ScaledObject.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { QUEUE_NAMES, QueueName } from '@alignda/queue';

import { REPO, readCodeFacts } from './code-facts.js';
import type { CodeFacts } from './code-facts.js';
import {
  checkCommands,
  checkEnvironment,
  checkPorts,
  checkQueues,
  checkRedis,
  checkSetup,
  containers,
} from './compose-checks.js';
import { composeFile, parseComposeText } from './compose-model.js';
import { checkGpuImage, checkImages } from './dockerfile-checks.js';
import { parseDockerfile } from './dockerfile.js';
import {
  checkGpu,
  checkKustomization,
  checkScaledObjects,
  checkServices,
  checkTls,
  checkWorkloadImages,
  withGrpcTls,
} from './k8s-checks.js';
import { readK8s } from './k8s-model.js';

const K8S = path.join(REPO, 'infra/k8s');
const FILES: ReadonlyMap<string, string> = new Map(
  readdirSync(K8S)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => [f, readFileSync(path.join(K8S, f), 'utf8')]),
);
const STAGES = parseDockerfile(readFileSync(path.join(REPO, 'Dockerfile'), 'utf8'));

/** Image name -> Dockerfile target, as docker-compose builds them (alignda: runtime, alignda-sampler-gpu: sampler-gpu). */
const BUILD_TARGETS: ReadonlyMap<string, string> = new Map(
  ['docker-compose.yml', 'docker-compose.gpu.yml'].flatMap((file) =>
    [...composeFile(parseComposeText(readFileSync(path.join(REPO, file), 'utf8'))).services.values()].flatMap(
      (s) =>
        s.image === undefined || s.build?.target === undefined
          ? []
          : [[s.image.split(':')[0] ?? '', s.build.target]],
    ),
  ) as [string, string][],
);

let facts: CodeFacts;
beforeAll(async () => {
  facts = withGrpcTls(await readCodeFacts());
});

/** Every problem the checks find in the manifests `files` (file name -> text). */
async function problemsOf(files: ReadonlyMap<string, string>): Promise<string[]> {
  const model = readK8s(files, BUILD_TARGETS);
  const cs = containers(model.compose, STAGES, facts);
  const targets = new Set(
    [...model.compose.services.values()].flatMap((s) =>
      s.build === undefined ? [] : [s.build.target ?? ''],
    ),
  );
  return [
    ...checkKustomization(model, [...files.keys()]),
    ...(await checkCommands(cs, facts)),
    ...checkEnvironment(cs, facts),
    ...checkPorts(cs, model.compose),
    ...checkSetup(cs, model.compose),
    ...checkRedis(model.compose),
    ...checkQueues(model.compose, [...files.values()].join('\n'), QUEUE_NAMES),
    ...checkWorkloadImages(model),
    ...checkImages(STAGES, targets, facts),
    ...checkServices(model, cs),
    ...checkGpu(model, cs, QueueName.train, (t) => checkGpuImage(STAGES, t)),
    ...checkScaledObjects(model, cs),
    ...checkTls(model, cs, facts),
  ];
}

describe('infra/k8s', () => {
  it('passes every check', async () => {
    expect(await problemsOf(FILES)).toEqual([]);
  });

  it('has a Deployment and a Service per service of alignda serve, and the setup Jobs', () => {
    const model = readK8s(FILES, BUILD_TARGETS);
    const deployments = [...model.containers.values()].filter((c) => c.kind === 'Deployment');
    expect(deployments.map((d) => d.workload).sort()).toEqual([...facts.services].sort());
    for (const s of facts.services) expect(model.services.has(s), s).toBe(true);
    const jobs = [...model.compose.services.values()].filter((s) => s.restart === 'no');
    expect(jobs.map((j) => j.command.slice(0, 2).join(' ')).sort()).toEqual([
      'check',
      'train --world',
      'world generate',
    ]);
  });

  it('scales the sampler, the orchestrator, the cycle service and the trainer on their queues, sampler and trainer on GPUs', () => {
    const model = readK8s(FILES, BUILD_TARGETS);
    expect(model.scaledObjects.map((s) => [s.target, s.triggers[0]?.metadata.listName]).sort()).toEqual([
      ['cycler', `bull:${QueueName.cycle}:wait`],
      ['orchestrator', `bull:${QueueName.assimilate}:wait`],
      ['sampler', `bull:${QueueName.sample}:wait`],
      ['trainer', `bull:${QueueName.train}:wait`],
    ]);
    expect(model.containers.get('sampler')?.limits['nvidia.com/gpu']).toBe('1');
    expect(model.containers.get('trainer')?.limits['nvidia.com/gpu']).toBe('1');
  });
});

/** One way to break the manifests: a text replacement in one file, and the problem it must cause. */
interface Break {
  readonly title: string;
  readonly file: string;
  readonly from: string | RegExp;
  readonly to: string;
  readonly expected: RegExp;
}

const BREAKS: Break[] = [
  {
    title: 'a misspelt variable',
    file: 'encoder.yaml',
    from: 'name: ALIGNDA_MODEL_DIR',
    to: 'name: ALIGNDA_MODELDIR',
    expected: /encoder: ALIGNDA_MODELDIR is read by no code/,
  },
  {
    title: 'TLS given to the gateway, which serves no gRPC',
    file: 'gateway.yaml',
    from: '                name: alignda-common\n',
    to: '                name: alignda-common\n            - configMapRef:\n                name: alignda-grpc\n',
    expected: /gateway: ALIGNDA_GRPC_TLS_CERT is not read by services\/gateway/,
  },
  {
    title: 'a Service at another port',
    file: 'forecast.yaml',
    from: /port: 50053\n(\s+)targetPort: 50053/,
    to: 'port: 50063\n$1targetPort: 50063',
    expected: /forecast: its Service maps 50063->50063, the service serves 50053/,
  },
  {
    title: 'a container port that is not the one served',
    file: 'reward.yaml',
    from: 'containerPort: 50054',
    to: 'containerPort: 50064',
    expected: /reward: serves port 50054, its container declares 50064/,
  },
  {
    title: 'an address at the wrong port',
    file: 'orchestrator.yaml',
    from: 'value: encoder:50051',
    to: 'value: encoder:50061',
    expected: /ALIGNDA_ENCODER_ADDRESS=encoder:50061, but encoder serves port 50051/,
  },
  {
    title: 'a probe of another port',
    file: 'ingest.yaml',
    from: /'127\.0\.0\.1:50055'\]\n(\s+)periodSeconds: 10/,
    to: "'127.0.0.1:50065']\n$1periodSeconds: 10",
    expected: /ingest: healthcheck probes 127.0.0.1:50065, the service serves 127.0.0.1:50055/,
  },
  {
    title: 'a service without a Deployment',
    file: 'kustomization.yaml',
    from: '  - reward.yaml\n',
    to: '',
    expected: /no compose service runs `serve reward`/,
  },
  {
    title: 'a service alignda serve does not know',
    file: 'forecast.yaml',
    from: 'args: [serve, forecast]',
    to: 'args: [serve, forcast]',
    expected: /serve forcast` is not a service/,
  },
  {
    title: 'an image the Dockerfile does not build',
    file: 'encoder.yaml',
    from: 'image: alignda\n',
    to: 'image: alignda-encoder\n',
    expected: /encoder: image alignda-encoder:?\S* is neither built from the Dockerfile nor Redis/,
  },
  {
    title: 'the sampler without its GPU',
    file: 'sampler.yaml',
    from: 'nvidia.com/gpu: 1',
    to: 'memory: 4Gi',
    expected: /sampler: no nvidia.com\/gpu: 1 in its resources.limits/,
  },
  {
    title: 'KEDA reading a queue the sampler does not consume',
    file: 'keda.yaml',
    from: 'listName: bull:sample:wait',
    to: 'listName: bull:samples:wait',
    expected:
      /ScaledObject sampler: reads list bull:samples:wait; sampler consumes sample \(bull:sample:wait\)/,
  },
  {
    title: "KEDA at a Redis outside the namespace's",
    file: 'keda.yaml',
    from: 'address: redis.alignda.svc.cluster.local:6379\n        listName: bull:assimilate',
    to: 'address: redis:6379\n        listName: bull:assimilate',
    expected: /ScaledObject orchestrator: address redis:6379; orchestrator's REDIS_URL is redis.alignda.svc/,
  },
  {
    title: 'a queue annotation the code does not have',
    file: 'orchestrator.yaml',
    from: 'alignda.queue.produces: sample',
    to: 'alignda.queue.produces: samples',
    expected: /names queue samples, not in QUEUE_NAMES/,
  },
  {
    title: 'Redis without its append-only file',
    file: 'redis.yaml',
    from: "- --appendonly\n            - 'yes'",
    to: "- --appendonly\n            - 'no'",
    expected: /redis: --appendonly is not yes/,
  },
  {
    title: 'a TLS file outside the mounted secret',
    file: 'config.yaml',
    from: 'ALIGNDA_GRPC_TLS_CA: /etc/alignda/tls/ca.crt',
    to: 'ALIGNDA_GRPC_TLS_CA: /etc/ssl/ca.crt',
    expected: /ALIGNDA_GRPC_TLS_CA=\/etc\/ssl\/ca.crt is in no mounted secret/,
  },
  {
    title: 'a value the code refuses',
    file: 'config.yaml',
    from: "ALIGNDA_WORLD_YEARS: '1'",
    to: "ALIGNDA_WORLD_YEARS: 'one'",
    expected: /the code refuses its environment: .*ALIGNDA_WORLD_YEARS/,
  },
  {
    title: 'a model set the Job does not train',
    file: 'setup-jobs.yaml',
    from: 'args: [train, --world, qg, --preset, ci]',
    to: 'args: [train, --world, qg, --preset, small]',
    expected: /loads \/data\/models\/qg-ci-model; models trains into \/data\/models\/qg-small-model/,
  },
  {
    title: 'a manifest file left out of the kustomization',
    file: 'kustomization.yaml',
    from: '  - keda.yaml\n',
    to: '',
    expected: /keda.yaml is not in kustomization.yaml's resources/,
  },
];

describe('a broken manifest is caught', () => {
  it.each(BREAKS)('$title', async (b) => {
    const text = FILES.get(b.file) ?? '';
    const broken = text.replace(b.from, b.to);
    expect(broken, 'the break changes the file').not.toBe(text);
    const problems = await problemsOf(new Map([...FILES, [b.file, broken]]));
    expect(problems.join('\n')).toMatch(b.expected);
  });
});
