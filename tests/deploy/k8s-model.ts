/**
 * infra/k8s as the checks of tests/deploy read it: the files kustomization.yaml lists, parsed with the `yaml` package,
 * its namespace and image tags applied, and each workload's container brought to the shape compose-model.ts gives a
 * compose service, so that compose-checks.ts's checks (commands, environment, addresses, probes, the shared home,
 * Redis, queue names) run on the manifests unchanged. What only Kubernetes has (Services, ScaledObjects, GPU limits,
 * container ports, secret mounts) is kept beside.
 *
 * The conversion: a container's `args` is the command (the image's ENTRYPOINT, `alignda`, stays); its environment is
 * its ConfigMaps and Secrets (`envFrom`) under its own `env` (values and secret or config-map keys resolved); its
 * readiness probe is the healthcheck (`httpGet` written as the `alignda-health <url>` it stands for); a
 * PersistentVolumeClaim is a named volume; a workload's `alignda.queue.*` annotations are its labels; a Job is a
 * one-shot (`restart: no`).
 */
import { parseAllDocuments } from 'yaml';

import type { ComposeFile, ComposeService } from './compose-model.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';

/** One manifest document. */
export interface Manifest {
  readonly file: string;
  readonly kind: string;
  readonly name: string;
  readonly body: Obj;
}

/** One container of a workload. */
export interface K8sContainer {
  /** The workload's name. */
  readonly workload: string;
  readonly kind: 'Deployment' | 'StatefulSet' | 'Job';
  readonly image: string;
  /** `command`, which would replace the image's ENTRYPOINT. */
  readonly entrypoint: readonly string[] | undefined;
  readonly containerPorts: readonly number[];
  /** resources.limits. */
  readonly limits: Readonly<Record<string, string>>;
  /** Secret volumes: mount path -> secret name. */
  readonly secretMounts: ReadonlyMap<string, string>;
  /** The pod template's labels and annotations. */
  readonly podLabels: Readonly<Record<string, string>>;
  readonly podAnnotations: Readonly<Record<string, string>>;
  /** The workload's selector (matchLabels). */
  readonly selector: Readonly<Record<string, string>>;
  /** Problems met while converting (a key of no ConfigMap, ...). */
  readonly problems: readonly string[];
}

/** A Service. */
export interface K8sService {
  readonly name: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly ports: readonly { readonly port: number; readonly targetPort: number }[];
}

/** A KEDA ScaledObject. */
export interface ScaledObject {
  readonly name: string;
  readonly target: string;
  readonly triggers: readonly {
    readonly type: string;
    readonly metadata: Readonly<Record<string, string>>;
  }[];
}

/** infra/k8s, read. */
export interface K8sModel {
  readonly namespace: string | undefined;
  readonly resources: readonly string[];
  readonly manifests: readonly Manifest[];
  /** The workloads as compose services (one per workload: its first container). */
  readonly compose: ComposeFile;
  readonly containers: ReadonlyMap<string, K8sContainer>;
  readonly services: ReadonlyMap<string, K8sService>;
  readonly scaledObjects: readonly ScaledObject[];
}

const record = (v: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries(obj(v)).map(([k, x]) => [k, str(x)]));

/** The data of a ConfigMap or Secret (stringData as is, data base64-decoded for a Secret). */
function dataOf(m: Manifest): Record<string, string> {
  if (m.kind === 'ConfigMap') return record(m.body.data);
  const data = Object.fromEntries(
    Object.entries(record(m.body.data)).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
  return { ...data, ...record(m.body.stringData) };
}

/** An image with the kustomization's tag applied (a name without a tag gets `newTag`). */
function tagged(image: string, images: readonly Obj[]): string {
  const [name = '', tag] = image.split(':');
  const rule = images.find((i) => str(i.name) === name);
  if (rule === undefined) return image;
  const newName = rule.newName === undefined ? name : str(rule.newName);
  const newTag = rule.newTag === undefined ? tag : str(rule.newTag);
  return newTag === undefined ? newName : `${newName}:${newTag}`;
}

/**
 * Reads the manifests: `files` maps each file name of the folder to its text; kustomization.yaml names the resources.
 * @param buildTargets - image name (no tag) -> Dockerfile target, for the images the repository builds (from
 *   docker-compose's `image` + `build.target`)
 */
export function readK8s(
  files: ReadonlyMap<string, string>,
  buildTargets: ReadonlyMap<string, string>,
): K8sModel {
  const kustomization = obj(parseAllDocuments(files.get('kustomization.yaml') ?? '')[0]?.toJS());
  const namespace = kustomization.namespace === undefined ? undefined : str(kustomization.namespace);
  const resources = list(kustomization.resources).map(str);
  const images = list(kustomization.images).filter(isObj);
  const manifests: Manifest[] = [];
  for (const file of resources)
    for (const doc of parseAllDocuments(files.get(file) ?? '')) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const body = obj(doc.toJS());
      if (Object.keys(body).length === 0) continue;
      manifests.push({ file, kind: str(body.kind), name: str(obj(body.metadata).name), body });
    }
  const byKindName = new Map(manifests.map((m) => [`${m.kind}/${m.name}`, m]));

  const services = new Map<string, ComposeService>();
  const containers = new Map<string, K8sContainer>();
  for (const m of manifests) {
    if (m.kind !== 'Deployment' && m.kind !== 'StatefulSet' && m.kind !== 'Job') continue;
    const spec = obj(m.body.spec);
    const template = obj(spec.template);
    const pod = obj(template.spec);
    const c = obj(list(pod.containers)[0]);
    const problems: string[] = [];
    const env: Record<string, string> = {};
    const lookup = (kind: string, name: string, key?: string): string | undefined => {
      const source = byKindName.get(`${kind}/${name}`);
      if (source === undefined) {
        problems.push(`${m.name}: ${kind} ${name} is in no listed file`);
        return undefined;
      }
      const data = dataOf(source);
      if (key !== undefined && !(key in data)) problems.push(`${m.name}: ${kind} ${name} has no key ${key}`);
      return key === undefined ? undefined : data[key];
    };
    for (const from of list(c.envFrom).filter(isObj)) {
      const [kind, ref] = isObj(from.configMapRef)
        ? ['ConfigMap', from.configMapRef]
        : ['Secret', obj(from.secretRef)];
      const source = byKindName.get(`${kind}/${str(ref.name)}`);
      if (source === undefined) problems.push(`${m.name}: ${kind} ${str(ref.name)} is in no listed file`);
      else Object.assign(env, dataOf(source));
    }
    for (const e of list(c.env).filter(isObj)) {
      const from = obj(e.valueFrom);
      const secret = obj(from.secretKeyRef);
      const config = obj(from.configMapKeyRef);
      env[str(e.name)] =
        e.value !== undefined
          ? str(e.value)
          : Object.keys(secret).length > 0
            ? (lookup('Secret', str(secret.name), str(secret.key)) ?? '')
            : (lookup('ConfigMap', str(config.name), str(config.key)) ?? '');
    }
    const volumes = new Map(
      list(pod.volumes)
        .filter(isObj)
        .map((v) => [str(v.name), v]),
    );
    const claims = new Map(
      list(spec.volumeClaimTemplates)
        .filter(isObj)
        .map((t) => [str(obj(t.metadata).name), t]),
    );
    const mounts: { source: string; target: string }[] = [];
    const secretMounts = new Map<string, string>();
    for (const vm of list(c.volumeMounts).filter(isObj)) {
      const v = volumes.get(str(vm.name));
      const target = str(vm.mountPath);
      if (v !== undefined && isObj(v.persistentVolumeClaim))
        mounts.push({ source: str(v.persistentVolumeClaim.claimName), target });
      else if (v !== undefined && isObj(v.secret)) secretMounts.set(target, str(v.secret.secretName));
      else if (claims.has(str(vm.name))) mounts.push({ source: `${m.name}/${str(vm.name)}`, target });
      else problems.push(`${m.name}: mounts ${str(vm.name)}, which is no volume of its pod`);
    }
    const probe = obj(c.readinessProbe);
    const healthcheck = isObj(probe.exec)
      ? list(probe.exec.command).map(str)
      : isObj(probe.httpGet)
        ? ['alignda-health', `http://127.0.0.1:${str(probe.httpGet.port)}${str(probe.httpGet.path)}`]
        : undefined;
    const image = tagged(str(c.image), images);
    const target = buildTargets.get(image.split(':')[0] ?? '');
    const annotations = record(obj(m.body.metadata).annotations);
    services.set(m.name, {
      name: m.name,
      image,
      build: target === undefined ? undefined : { context: '.', target },
      command: list(c.args).map(str),
      env,
      ports: [],
      volumes: mounts,
      healthcheck,
      dependsOn: {},
      labels: Object.fromEntries(Object.entries(annotations).filter(([k]) => k.startsWith('alignda.queue.'))),
      replicas: spec.replicas === undefined ? 1 : Number(spec.replicas),
      restart: m.kind === 'Job' ? 'no' : 'always',
      containerName: undefined,
      devices: [],
    });
    containers.set(m.name, {
      workload: m.name,
      kind: m.kind,
      image,
      entrypoint: c.command === undefined ? undefined : list(c.command).map(str),
      containerPorts: list(c.ports)
        .filter(isObj)
        .map((p) => Number(p.containerPort)),
      limits: record(obj(obj(c.resources).limits)),
      secretMounts,
      podLabels: record(obj(template.metadata).labels),
      podAnnotations: record(obj(template.metadata).annotations),
      selector: record(obj(spec.selector).matchLabels),
      problems,
    });
  }
  const k8sServices = new Map<string, K8sService>();
  for (const m of manifests.filter((x) => x.kind === 'Service')) {
    const spec = obj(m.body.spec);
    k8sServices.set(m.name, {
      name: m.name,
      selector: record(spec.selector),
      ports: list(spec.ports)
        .filter(isObj)
        .map((p) => ({ port: Number(p.port), targetPort: Number(p.targetPort ?? p.port) })),
    });
  }
  const scaledObjects = manifests
    .filter((x) => x.kind === 'ScaledObject')
    .map((m) => {
      const spec = obj(m.body.spec);
      return {
        name: m.name,
        target: str(obj(spec.scaleTargetRef).name),
        triggers: list(spec.triggers)
          .filter(isObj)
          .map((t) => ({ type: str(t.type), metadata: record(t.metadata) })),
      };
    });
  const pvcs = manifests.filter((x) => x.kind === 'PersistentVolumeClaim').map((x) => x.name);
  return {
    namespace,
    resources,
    manifests,
    compose: { services, volumes: new Set(pvcs) },
    containers,
    services: k8sServices,
    scaledObjects,
  };
}
