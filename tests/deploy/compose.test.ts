/**
 * docker-compose.yml, docker-compose.gpu.yml, the Dockerfile and .dockerignore matched against the code (no Docker
 * engine runs here): every command is an `alignda` command with its own flags and every service `alignda serve`
 * accepts is deployed; every variable is one the container's code reads, with a value it accepts; ports, healthchecks
 * and addresses agree with what each service serves; depends_on covers what each uses; the one-shots make the nature
 * run and the model set where the services read them; Redis keeps an append-only file; two sampler replicas and room
 * for `--scale`; queue names from QUEUE_NAMES; the image targets exist, run as a user of their own, install as
 * allowScripts says, and the GPU target runs onnxruntime-node's CUDA install. The last block breaks the files one way
 * at a time and shows that each break is caught.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { CONFIG_VARIABLES, loadConfig } from '@alignda/config';
import { QUEUE_NAMES, QueueName } from '@alignda/queue';
import { LIMIT_VARIABLES } from '@alignda/service-gateway';

import { ADDRESS_VARIABLES } from '../../services/orchestrator/src/settings.js';
import { REPO, readCodeFacts } from './code-facts.js';
import type { CodeFacts } from './code-facts.js';
import {
  checkCommands,
  checkDependencies,
  checkEnvironment,
  checkPorts,
  checkQueues,
  checkRedis,
  checkScaling,
  checkSetup,
  containers,
} from './compose-checks.js';
import { composeFile, mergeCompose, parseComposeText } from './compose-model.js';
import { checkDockerignore, checkGpuImage, checkImages, checkInstall } from './dockerfile-checks.js';
import { parseDockerfile } from './dockerfile.js';
import type { Stage } from './dockerfile.js';

const read = (file: string): string => readFileSync(path.join(REPO, file), 'utf8');
const BASE = read('docker-compose.yml');
const GPU = read('docker-compose.gpu.yml');
const DOCKERFILE = read('Dockerfile');
const STAGES = parseDockerfile(DOCKERFILE);
/** The service scaled out: the consumer of the sample queue. */
const SCALED = 'sampler';

let facts: CodeFacts;
beforeAll(async () => {
  facts = await readCodeFacts();
});

/** Every problem the checks find in compose data (parsed, maybe merged or broken) built from `stages`. */
async function problemsOf(data: unknown, text: string, stages: readonly Stage[] = STAGES): Promise<string[]> {
  const compose = composeFile(data);
  const cs = containers(compose, stages, facts);
  const targets = new Set(
    [...compose.services.values()].flatMap((s) => (s.build?.target === undefined ? [] : [s.build.target])),
  );
  return [
    ...(await checkCommands(cs, facts)),
    ...checkEnvironment(cs, facts),
    ...checkPorts(cs, compose),
    ...checkDependencies(cs, compose, facts),
    ...checkSetup(cs, compose),
    ...checkRedis(compose),
    ...checkScaling(compose, SCALED),
    ...checkQueues(compose, text, QUEUE_NAMES),
    ...checkImages(stages, targets, facts),
  ];
}

const base = (): ReturnType<typeof parseComposeText> => parseComposeText(BASE);
const merged = (): unknown => mergeCompose(parseComposeText(BASE), parseComposeText(GPU));

describe('what the test reads from the code', () => {
  it('takes the services from alignda serve, one per folder of services/', () => {
    const folders = readdirSync(path.join(REPO, 'services'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    expect([...facts.services].sort()).toEqual(folders.sort());
    expect(facts.commands).toContain('serve');
    expect(facts.services).toContain(SCALED);
  });

  it("records every variable of packages/config, the orchestrator's addresses and the gateway's limits", () => {
    for (const v of CONFIG_VARIABLES) expect(facts.cliEnvReads).toContain(v.name);
    const orchestrator = facts.byService.get('orchestrator');
    for (const [variable] of Object.values(ADDRESS_VARIABLES))
      expect(orchestrator?.envReads).toContain(variable);
    for (const variable of Object.values(LIMIT_VARIABLES))
      expect(facts.byService.get('gateway')?.envReads).toContain(variable);
    for (const s of facts.byService.values()) {
      expect(s.readers.has('loadConfig'), s.name).toBe(true);
      expect(s.grpc !== undefined || s.http, `${s.name} serves gRPC or HTTP`).toBe(true);
    }
  });
});

describe('docker-compose.yml', () => {
  let compose: ReturnType<typeof composeFile>;
  let cs: ReturnType<typeof containers>;
  beforeAll(() => {
    compose = composeFile(base());
    cs = containers(compose, STAGES, facts);
  });

  it('runs alignda commands with their own flags, and every service alignda serve accepts', async () => {
    expect(await checkCommands(cs, facts)).toEqual([]);
  });

  it('sets only variables the code of each container reads, with values the code accepts', () => {
    expect(checkEnvironment(cs, facts)).toEqual([]);
  });

  it('publishes (on 127.0.0.1), probes and addresses the ports the services serve', () => {
    expect(checkPorts(cs, compose)).toEqual([]);
    const gateway = cs.find((c) => c.serves === 'gateway');
    expect(gateway?.service.ports).toEqual([{ ip: '127.0.0.1', host: '8080', container: gateway?.port }]);
  });

  it('starts each service after what it uses: backends healthy, one-shots done', () => {
    expect(checkDependencies(cs, compose, facts)).toEqual([]);
  });

  it('makes the nature run and the model set where the services read them, in one shared ALIGNDA_HOME', () => {
    expect(checkSetup(cs, compose)).toEqual([]);
  });

  it('keeps Redis append-only, fsync every second', () => {
    expect(checkRedis(compose)).toEqual([]);
  });

  it('runs two sampler replicas and leaves room for --scale', () => {
    expect(checkScaling(compose, SCALED)).toEqual([]);
  });

  it('names only queues of QUEUE_NAMES, the sample queue on the samplers', () => {
    expect(checkQueues(compose, BASE, QUEUE_NAMES)).toEqual([]);
    expect(compose.services.get(SCALED)?.labels['alignda.queue.consumes']).toBe(QueueName.sample);
  });

  it('says in its header how to scale the samplers and use the GPU override', () => {
    const header = BASE.slice(0, BASE.indexOf('\nx-'));
    expect(header).toContain('docker compose up --scale sampler=4');
    expect(header).toContain('-f docker-compose.gpu.yml');
  });
});

describe('docker-compose.gpu.yml over docker-compose.yml', () => {
  it('passes every check of the base file', async () => {
    expect(await problemsOf(merged(), `${BASE}\n${GPU}`)).toEqual([]);
  });

  it('overrides only services of the base file', () => {
    const services = composeFile(base()).services;
    for (const name of composeFile(parseComposeText(GPU)).services.keys())
      expect(services.has(name)).toBe(true);
  });

  it('builds the sampler from the sampler-gpu target, with a GPU reserved and the CUDA provider required', () => {
    const compose = composeFile(merged());
    const sampler = compose.services.get(SCALED);
    expect(sampler?.build?.target).toBe('sampler-gpu');
    expect(
      sampler?.devices.some((d) => Array.isArray(d.capabilities) && d.capabilities.includes('gpu')),
    ).toBe(true);
    const c = containers(compose, STAGES, facts).find((x) => x.serves === SCALED);
    expect(c?.config?.executionProvider).toBe('cuda');
    expect(checkGpuImage(STAGES, 'sampler-gpu')).toEqual([]);
  });
});

describe('Dockerfile and .dockerignore', () => {
  it('has every target compose builds, each as a user of its own with the alignda entrypoint', () => {
    const targets = new Set(
      [...composeFile(merged()).services.values(), ...composeFile(base()).services.values()].flatMap((s) =>
        s.build?.target === undefined ? [] : [s.build.target],
      ),
    );
    expect(targets).toEqual(new Set(['runtime', 'sampler-gpu']));
    expect(checkImages(STAGES, targets, facts)).toEqual([]);
  });

  it('installs with npm ci after every manifest, as package.json allowScripts says', () => {
    expect(checkInstall(DOCKERFILE, STAGES)).toEqual([]);
  });

  it('keeps host builds out of the context and what the image needs in', () => {
    expect(checkDockerignore(read('.dockerignore'))).toEqual([]);
  });

  it('sets ALIGNDA_HOME to the volume compose mounts', () => {
    const home = loadConfig({ ALIGNDA_HOME: '/data' }).homeDir;
    expect(composeFile(base()).services.get('gateway')?.volumes).toContainEqual({
      source: 'alignda-home',
      target: home,
    });
  });
});

/** The parts of a parsed compose file the breaks below change. */
interface RawService {
  command: string[];
  environment: Record<string, string>;
  ports: string[];
  volumes: string[];
  depends_on: Record<string, { condition: string }>;
  deploy: { replicas: number };
  labels: Record<string, string>;
}
type Data = { services: Record<string, RawService> };

/** Service `name` of `d`. */
function svc(d: Data, name: string): RawService {
  const s = d.services[name];
  if (s === undefined) throw new Error(`no service ${name}`);
  return s;
}

/** One way to break the files, and the problem it must cause. */
interface Break {
  readonly title: string;
  readonly compose?: (d: Data) => void;
  readonly dockerfile?: (text: string) => string;
  readonly gpu?: boolean;
  readonly expected: RegExp;
}

const BREAKS: Break[] = [
  {
    title: 'a misspelt variable',
    compose: (d) => {
      const env = svc(d, 'sampler').environment;
      env.ALIGNDA_MODELDIR = env.ALIGNDA_MODEL_DIR ?? '';
      delete env.ALIGNDA_MODEL_DIR;
    },
    expected: /sampler: ALIGNDA_MODELDIR is read by no code/,
  },
  {
    title: "another service's variable",
    compose: (d) => (svc(d, 'gateway').environment.ALIGNDA_SAMPLER_ADDRESS = 'sampler:50052'),
    expected: /gateway: ALIGNDA_SAMPLER_ADDRESS is not read by services\/gateway/,
  },
  {
    title: 'a value the code refuses',
    compose: (d) => (svc(d, 'gateway').environment.HTTP_PORT = '8o80'),
    expected: /gateway: the code refuses its environment: .*HTTP_PORT/,
  },
  {
    title: 'a service alignda serve does not know',
    compose: (d) => (svc(d, 'sampler').command = ['serve', 'samplr']),
    expected: /serve samplr` is not a service/,
  },
  {
    title: 'a flag the command lacks',
    compose: (d) => svc(d, 'world').command.push('--yeras', '1'),
    expected: /world generate` has no flag --yeras/,
  },
  {
    title: 'an address at the wrong port',
    compose: (d) => (svc(d, 'orchestrator').environment.ALIGNDA_ENCODER_ADDRESS = 'encoder:50061'),
    expected: /ALIGNDA_ENCODER_ADDRESS=encoder:50061, but encoder serves port 50051/,
  },
  {
    title: 'a service moved to another port',
    compose: (d) => (svc(d, 'encoder').environment.GRPC_PORT = '50061'),
    expected: /encoder: healthcheck probes 127.0.0.1:50051, the service serves 127.0.0.1:50061/,
  },
  {
    title: 'an address left to its default',
    compose: (d) => delete svc(d, 'orchestrator').environment.ALIGNDA_REWARD_ADDRESS,
    expected: /orchestrator: ALIGNDA_REWARD_ADDRESS unset/,
  },
  {
    title: 'the gateway published on every interface',
    compose: (d) => (svc(d, 'gateway').ports = ['8080:8080']),
    expected: /gateway: publishes port 8080 beyond 127.0.0.1/,
  },
  {
    title: 'a service used without waiting for it',
    compose: (d) => delete svc(d, 'orchestrator').depends_on.sampler,
    expected: /orchestrator: uses sampler .*without depending on it/,
  },
  {
    title: 'a one-shot waited for as merely started',
    compose: (d) => (svc(d, 'gateway').depends_on.migrate = { condition: 'service_started' }),
    expected: /gateway: waits for one-shot migrate with service_started/,
  },
  {
    title: 'Redis without its append-only file',
    compose: (d) => (svc(d, 'redis').command[2] = 'no'),
    expected: /redis: --appendonly is not yes/,
  },
  {
    title: 'one sampler',
    compose: (d) => (svc(d, 'sampler').deploy.replicas = 1),
    expected: /sampler: fewer than 2 replicas/,
  },
  {
    title: 'a queue the code does not have',
    compose: (d) => (svc(d, 'sampler').labels['alignda.queue.consumes'] = 'samples'),
    expected: /names queue samples, not in QUEUE_NAMES/,
  },
  {
    title: 'a nature run of another length',
    compose: (d) => (svc(d, 'world').command[5] = '2'),
    expected: /reads the nature run of seed 1, 1 y; world makes seed 1, 2 y/,
  },
  {
    title: 'a model set of another preset',
    compose: (d) => (svc(d, 'models').command[4] = 'small'),
    expected: /loads \/data\/models\/qg-ci-model; models trains into \/data\/models\/qg-small-model/,
  },
  {
    title: 'a container without the shared volume',
    compose: (d) => (svc(d, 'gateway').volumes = []),
    expected: /gateway: no named volume at ALIGNDA_HOME \/data/,
  },
  {
    title: 'the runtime image as root',
    dockerfile: (t) => t.replace(/USER alignda(?![\s\S]*USER alignda)/, 'USER root'),
    expected: /target runtime: runs as root/,
  },
  {
    title: 'a target compose builds missing from the Dockerfile',
    gpu: true,
    dockerfile: (t) => t.replace('AS sampler-gpu', 'AS sampler-cuda'),
    expected: /compose builds target sampler-gpu, which the Dockerfile lacks/,
  },
  {
    title: 'npm ci past allowScripts',
    dockerfile: (t) => t.replaceAll('npm ci --no-audit', 'npm ci --ignore-scripts --no-audit'),
    expected: /npm ci overrides package.json's allowScripts/,
  },
  {
    title: 'a CUDA manifest onnxruntime-node does not have',
    dockerfile: (t) => t.replaceAll('ONNXRUNTIME_NODE_INSTALL=cuda12', 'ONNXRUNTIME_NODE_INSTALL=cuda11'),
    expected: /ONNXRUNTIME_NODE_INSTALL=cuda11 is no manifest/,
  },
];

describe('a broken file is caught', () => {
  it.each(BREAKS)('$title', async (b) => {
    const data = (b.gpu === true ? merged() : base()) as Data;
    b.compose?.(data);
    const text = b.dockerfile === undefined ? DOCKERFILE : b.dockerfile(DOCKERFILE);
    expect(text !== DOCKERFILE || b.compose !== undefined, 'the break changes something').toBe(true);
    const stages = parseDockerfile(text);
    const problems = [
      ...(await problemsOf(data, BASE, stages)),
      ...checkInstall(text, stages),
      ...checkGpuImage(stages, 'sampler-gpu'),
    ];
    expect(problems.join('\n')).toMatch(b.expected);
  });
});
