/**
 * The checks of infra/k8s that compose-checks.ts has no counterpart for: images, Services and container ports, GPU
 * limits, KEDA's queue lists, TLS mounts, and the kustomization's file list. Each returns its problems, one line each.
 */
import path from 'node:path';

import { QueueKeys } from 'bullmq';

import { GRPC_TLS_VARIABLES, grpcTlsFromEnv } from '@alignda/rpc';

import { envReads } from './code-facts.js';
import type { CodeFacts, ServiceFacts } from './code-facts.js';
import type { Container } from './compose-checks.js';
import type { K8sModel } from './k8s-model.js';

/**
 * The code facts with what packages/rpc's grpc-tls.ts reads: every gRPC server and client of a process takes its TLS
 * settings from there, so every service that serves gRPC (its main.ts parses the service flags) reads them.
 */
export function withGrpcTls(facts: CodeFacts): CodeFacts {
  const tls = envReads((env) => grpcTlsFromEnv(env));
  const byService = new Map<string, ServiceFacts>(
    [...facts.byService].map(([name, s]) => [
      name,
      s.grpc === undefined ? s : { ...s, envReads: new Set([...s.envReads, ...tls]) },
    ]),
  );
  return { ...facts, byService, knownEnv: new Set([...facts.knownEnv, ...tls]) };
}

/** Every listed file exists, every manifest file is listed, and one namespace holds everything. */
export function checkKustomization(model: K8sModel, files: readonly string[]): string[] {
  const problems: string[] = [];
  for (const r of model.resources)
    if (!files.includes(r)) problems.push(`kustomization lists ${r}, no such file`);
  for (const f of files)
    if (f !== 'kustomization.yaml' && !model.resources.includes(f))
      problems.push(`${f} is not in kustomization.yaml's resources`);
  if (model.namespace === undefined) problems.push('kustomization.yaml sets no namespace');
  for (const m of model.manifests) {
    const ns = (m.body.metadata as { namespace?: string } | undefined)?.namespace;
    if (ns !== undefined && ns !== model.namespace)
      problems.push(`${m.file}: ${m.kind} ${m.name} is in namespace ${ns}, not ${model.namespace}`);
  }
  for (const c of model.containers.values()) problems.push(...c.problems);
  return problems;
}

/**
 * Images: the repository's own (an image docker-compose builds from the Dockerfile, whose entrypoint `alignda` they
 * keep) or Redis; Redis's runs with the Redis image.
 */
export function checkWorkloadImages(model: K8sModel): string[] {
  const problems: string[] = [];
  for (const c of model.containers.values()) {
    const s = model.compose.services.get(c.workload);
    if (s?.build !== undefined) {
      if (c.entrypoint !== undefined)
        problems.push(`${c.workload}: sets command ${c.entrypoint.join(' ')}, replacing the image's alignda`);
    } else if (!c.image.startsWith('redis:'))
      problems.push(`${c.workload}: image ${c.image} is neither built from the Dockerfile nor Redis`);
  }
  return problems;
}

/**
 * Each served port: declared by its container, and reached through a Service of the service's name (port = target
 * port = the served one) whose selector picks the pods; Redis's Service too.
 */
export function checkServices(model: K8sModel, cs: readonly Container[]): string[] {
  const problems: string[] = [];
  const picks = (
    selector: Readonly<Record<string, string>>,
    labels: Readonly<Record<string, string>>,
  ): boolean =>
    Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
  for (const c of model.containers.values())
    if (c.kind !== 'Job' && !picks(c.selector, c.podLabels))
      problems.push(`${c.workload}: its selector does not pick its own pods`);
  const served = [
    ...cs.filter((c) => c.serves !== undefined).map((c) => ({ name: c.service.name, port: c.port })),
    ...[...model.containers.values()]
      .filter((c) => c.image.startsWith('redis:'))
      .map((c) => ({ name: c.workload, port: 6379 })),
  ];
  for (const { name, port } of served) {
    const k = model.containers.get(name);
    if (port === undefined || k === undefined) continue;
    if (!k.containerPorts.includes(port))
      problems.push(
        `${name}: serves port ${port}, its container declares ${k.containerPorts.join(', ') || 'none'}`,
      );
    const svc = model.services.get(name);
    if (svc === undefined) problems.push(`${name}: no Service of that name`);
    else {
      if (!svc.ports.some((p) => p.port === port && p.targetPort === port))
        problems.push(
          `${name}: its Service maps ${svc.ports.map((p) => `${p.port}->${p.targetPort}`).join(', ')}, the service serves ${port}`,
        );
      if (!picks(svc.selector, k.podLabels))
        problems.push(`${name}: its Service's selector picks none of its pods`);
    }
  }
  return problems;
}

/**
 * GPU: the sampler, and any consumer of the training queue (a trainer), asks for one GPU per replica and runs an
 * image target that `gpuTarget` accepts.
 */
export function checkGpu(
  model: K8sModel,
  cs: readonly Container[],
  trainQueue: string,
  gpuTargetProblems: (target: string) => string[],
): string[] {
  const problems: string[] = [];
  for (const c of cs) {
    const consumes = (c.service.labels['alignda.queue.consumes'] ?? '').split(',').map((q) => q.trim());
    if (c.serves !== 'sampler' && !consumes.includes(trainQueue)) continue;
    const k = model.containers.get(c.service.name);
    if (k?.limits['nvidia.com/gpu'] !== '1')
      problems.push(`${c.service.name}: no nvidia.com/gpu: 1 in its resources.limits`);
    const target = c.service.build?.target;
    if (target === undefined) problems.push(`${c.service.name}: runs an image the Dockerfile does not build`);
    else for (const p of gpuTargetProblems(target)) problems.push(`${c.service.name}: ${p}`);
  }
  return problems;
}

/**
 * KEDA: every queue consumer is scaled by a ScaledObject whose redis trigger reads BullMQ's wait list of a queue it
 * consumes (`bull:<queue>:wait`, from bullmq's own QueueKeys), at the Redis its REDIS_URL names, by the full Service
 * name of the namespace (the operator runs in another).
 */
export function checkScaledObjects(model: K8sModel, cs: readonly Container[]): string[] {
  const problems: string[] = [];
  const keys = new QueueKeys();
  for (const so of model.scaledObjects) {
    const target = cs.find((c) => c.service.name === so.target);
    if (target === undefined || model.containers.get(so.target)?.kind !== 'Deployment') {
      problems.push(`ScaledObject ${so.name}: scales ${so.target}, which is no Deployment`);
      continue;
    }
    const consumes = target.service.labels['alignda.queue.consumes'];
    if (so.triggers.length === 0) problems.push(`ScaledObject ${so.name}: no trigger`);
    for (const t of so.triggers) {
      if (t.type !== 'redis') {
        problems.push(`ScaledObject ${so.name}: a ${t.type} trigger, not redis`);
        continue;
      }
      // A consumer of several queues (the trainer: align,train) is scaled on one of them.
      const wanted = (consumes ?? '')
        .split(',')
        .map((q) => q.trim())
        .filter((q) => q !== '')
        .map((q) => keys.toKey(q, 'wait'));
      if (t.metadata.listName === undefined || !wanted.includes(t.metadata.listName))
        problems.push(
          `ScaledObject ${so.name}: reads list ${t.metadata.listName}; ${so.target} consumes ${consumes ?? 'no queue'} (${wanted.join(' or ') || '-'})`,
        );
      if (!(Number(t.metadata.listLength) >= 1))
        problems.push(`ScaledObject ${so.name}: listLength ${t.metadata.listLength} is not a positive count`);
      const redisUrl = target.env.REDIS_URL;
      const url = redisUrl === undefined ? undefined : new URL(redisUrl);
      const expected =
        url === undefined
          ? undefined
          : `${url.hostname}.${model.namespace ?? 'default'}.svc.cluster.local:${url.port || '6379'}`;
      if (t.metadata.address !== expected)
        problems.push(
          `ScaledObject ${so.name}: address ${t.metadata.address}; ${so.target}'s REDIS_URL is ${expected ?? 'unset'}`,
        );
    }
  }
  for (const c of cs)
    if (
      c.service.labels['alignda.queue.consumes'] !== undefined &&
      !model.scaledObjects.some((s) => s.target === c.service.name)
    )
      problems.push(`${c.service.name}: consumes a queue and no ScaledObject scales it`);
  return problems;
}

/**
 * TLS between the services: every gRPC service has all of cert, key and CA (or none has any) in files of one secret
 * mounted in its pod, the same secret everywhere, and one expected server name.
 */
export function checkTls(model: K8sModel, cs: readonly Container[], facts: CodeFacts): string[] {
  const problems: string[] = [];
  const v = GRPC_TLS_VARIABLES;
  const grpc = cs.filter((c) => c.serves !== undefined && facts.byService.get(c.serves)?.grpc !== undefined);
  const withTls = grpc.filter((c) => c.service.env[v.cert] !== undefined);
  if (withTls.length === 0)
    return ['no gRPC service is given ALIGNDA_GRPC_TLS_* (plaintext between services)'];
  for (const c of grpc)
    if (!withTls.includes(c)) problems.push(`${c.service.name}: plaintext among TLS services`);
  const secrets = new Set<string>();
  const names = new Set<string>();
  for (const c of withTls) {
    const mounts = model.containers.get(c.service.name)?.secretMounts ?? new Map<string, string>();
    for (const variable of [v.cert, v.key, v.ca]) {
      const file = c.service.env[variable];
      const secret = file === undefined ? undefined : mounts.get(path.posix.dirname(file));
      if (file === undefined) problems.push(`${c.service.name}: ${variable} unset`);
      else if (secret === undefined)
        problems.push(`${c.service.name}: ${variable}=${file} is in no mounted secret`);
      else secrets.add(secret);
    }
    names.add(c.service.env[v.serverName] ?? '(the address host)');
  }
  if (secrets.size > 1) problems.push(`the services mount different TLS secrets: ${[...secrets].join(', ')}`);
  if (names.size > 1) problems.push(`the services expect different server names: ${[...names].join(', ')}`);
  return problems;
}
