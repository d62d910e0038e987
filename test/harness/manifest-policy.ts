/**
 * Policy checks over rendered Kubernetes manifests (the chart's `helm template` output, `kubectl kustomize
 * deploy`): what an operator's admission policy would refuse, found before a cluster does. Each check returns
 * the list of violations (empty: it passes), so a test can show all of them at once.
 */

/** A rendered object; only the fields the checks read are typed. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: any;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob']);

export interface Workload {
  obj: K8sObject;
  pod: any;
  podLabels: Record<string, string>;
}

export function workloads(objs: K8sObject[]): Workload[] {
  return objs
    .filter((o) => WORKLOAD_KINDS.has(o.kind))
    .map((obj) => {
      const template = obj.kind === 'CronJob' ? obj.spec.jobTemplate.spec.template : obj.spec.template;
      return { obj, pod: template.spec, podLabels: template.metadata?.labels ?? {} };
    });
}

const id = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
const containersOf = (pod: any): any[] => [...(pod.initContainers ?? []), ...(pod.containers ?? [])];

/** A probe's port is one the container declares (by name or number). */
function probePortDeclared(c: any, probe: any): boolean {
  const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port ?? probe?.grpc?.port;
  if (port === undefined) return Boolean(probe?.exec);
  return (c.ports ?? []).some((p: any) => p.name === port || p.containerPort === port);
}

/**
 * Every container: non-root (pod or container level, no uid 0), seccomp RuntimeDefault, CPU and memory
 * requests and a memory limit, liveness and readiness probes on ports it declares, a read-only root filesystem,
 * no privilege escalation, not privileged, all capabilities dropped.
 */
export function containerViolations(objs: K8sObject[]): string[] {
  const out: string[] = [];
  for (const { obj, pod } of workloads(objs)) {
    const podSc = pod.securityContext ?? {};
    for (const c of containersOf(pod)) {
      const where = `${id(obj)} container ${c.name}`;
      const sc = { ...podSc, ...(c.securityContext ?? {}) };
      if (sc.runAsNonRoot !== true) out.push(`${where}: runAsNonRoot is not true`);
      if (sc.runAsUser === 0) out.push(`${where}: runs as uid 0`);
      if (sc.seccompProfile?.type !== 'RuntimeDefault') out.push(`${where}: seccomp is not RuntimeDefault`);
      const r = c.resources ?? {};
      for (const [kind, key] of [
        ['requests', 'cpu'],
        ['requests', 'memory'],
        ['limits', 'memory'],
      ] as const)
        if (!r[kind]?.[key]) out.push(`${where}: no ${kind}.${key}`);
      const isInit = (pod.initContainers ?? []).includes(c);
      for (const probe of isInit ? [] : ['livenessProbe', 'readinessProbe']) {
        if (!c[probe]) out.push(`${where}: no ${probe}`);
        else if (!probePortDeclared(c, c[probe])) out.push(`${where}: ${probe} on an undeclared port`);
      }
      if (c.securityContext?.readOnlyRootFilesystem !== true) out.push(`${where}: root filesystem writable`);
      if (c.securityContext?.allowPrivilegeEscalation !== false)
        out.push(`${where}: allowPrivilegeEscalation is not false`);
      if (c.securityContext?.privileged) out.push(`${where}: privileged`);
      if (!(c.securityContext?.capabilities?.drop ?? []).includes('ALL'))
        out.push(`${where}: capabilities not dropped (drop: [ALL])`);
    }
  }
  return out;
}

/** Every workload runs as a ServiceAccount of its own, rendered beside it; no workload uses `default`. */
export function serviceAccountViolations(objs: K8sObject[]): string[] {
  const out: string[] = [];
  const accounts = new Set(objs.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.name));
  const users = new Map<string, string[]>();
  for (const { obj, pod } of workloads(objs)) {
    const sa = pod.serviceAccountName;
    if (!sa || sa === 'default') out.push(`${id(obj)}: runs as the default ServiceAccount`);
    else if (!accounts.has(sa)) out.push(`${id(obj)}: ServiceAccount ${sa} is not rendered`);
    users.set(sa, [...(users.get(sa) ?? []), id(obj)]);
  }
  for (const [sa, ws] of users)
    if (ws.length > 1) out.push(`ServiceAccount ${sa} is shared by ${ws.join(', ')}`);
  return out;
}

export interface Permission {
  group: string;
  resource: string;
  verb: string;
}

/** What each ServiceAccount may do: the rules of the (Cluster)Roles bound to it, flattened and sorted. */
export function permissionsBySubject(objs: K8sObject[]): Map<string, string[]> {
  const roles = new Map<string, any[]>();
  for (const o of objs)
    if (o.kind === 'ClusterRole' || o.kind === 'Role')
      roles.set(`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o.rules ?? []);
  const out = new Map<string, Set<string>>();
  for (const b of objs.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
    const ns = b.roleRef.kind === 'Role' ? (b.metadata.namespace ?? '') : '';
    const rules = roles.get(`${b.roleRef.kind}/${ns}/${b.roleRef.name}`) ?? [];
    for (const s of b.subjects ?? []) {
      if (s.kind !== 'ServiceAccount') continue;
      const set = out.get(s.name) ?? new Set<string>();
      for (const r of rules)
        for (const group of r.apiGroups ?? [''])
          for (const resource of r.resources ?? [])
            for (const verb of r.verbs ?? []) set.add(`${verb} ${resource}${group ? `.${group}` : ''}`);
      out.set(s.name, set);
    }
  }
  return new Map([...out].map(([k, v]) => [k, [...v].sort()]));
}

/** Verbs a Profiles service may ever hold; nothing that deletes, escalates, binds or impersonates. */
const ALLOWED_VERBS = new Set(['get', 'list', 'watch', 'create', 'update', 'patch']);

/** RBAC: no wildcard anywhere, only allowlisted verbs, Secrets never listed or watched, bindings resolve. */
export function rbacViolations(objs: K8sObject[]): string[] {
  const out: string[] = [];
  const roleNames = new Set(
    objs
      .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
      .map((o) => `${o.kind}/${o.metadata.name}`),
  );
  for (const o of objs) {
    if (o.kind === 'ClusterRole' || o.kind === 'Role') {
      if (o.aggregationRule) out.push(`${id(o)}: aggregates other roles`);
      for (const r of o.rules ?? []) {
        for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames', 'nonResourceURLs'])
          if ((r[field] ?? []).some((v: string) => v.includes('*'))) out.push(`${id(o)}: * in ${field}`);
        for (const v of r.verbs ?? []) if (!ALLOWED_VERBS.has(v)) out.push(`${id(o)}: verb ${v}`);
        if ((r.resources ?? []).includes('secrets') && r.verbs.some((v: string) => v !== 'get'))
          out.push(`${id(o)}: Secrets beyond get (${r.verbs.join(', ')})`);
      }
    }
    if (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') {
      if (!roleNames.has(`${o.roleRef.kind}/${o.roleRef.name}`))
        out.push(`${id(o)}: binds ${o.roleRef.kind} ${o.roleRef.name}, which is not rendered`);
      if (o.subjects?.some((s: any) => s.kind !== 'ServiceAccount'))
        out.push(`${id(o)}: binds something else than ServiceAccounts`);
    }
  }
  return out;
}

/** Whether a label selector (matchLabels only, as the chart writes them) selects pods with these labels. */
export function selects(selector: any, labels: Record<string, string>): boolean {
  if (selector?.matchExpressions?.length) throw new Error('matchExpressions are not evaluated here');
  return Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

/** Every workload (of those `only` keeps) is covered by a PodDisruptionBudget. */
export function pdbViolations(objs: K8sObject[], only: (w: Workload) => boolean = () => true): string[] {
  const pdbs = objs.filter((o) => o.kind === 'PodDisruptionBudget');
  return workloads(objs)
    .filter(only)
    .filter((w) => !pdbs.some((p) => selects(p.spec.selector, w.podLabels)))
    .map((w) => `${id(w.obj)}: no PodDisruptionBudget`);
}

export interface Flows {
  /** Ingress ports open to the pod, by port (number or name); `from` undefined: any peer. */
  ingress: { port: string; from: unknown[] | undefined }[];
  /** Egress ports the pod may reach; `to` undefined: any destination. */
  egress: { port: string; to: unknown[] | undefined }[];
  /** Whether a policy selects the pod for each direction (so that what is not listed is denied). */
  isolated: { ingress: boolean; egress: boolean };
}

/** The flows the NetworkPolicies allow a workload's pods (policies select pods by their template's labels). */
export function flowsOf(objs: K8sObject[], podLabels: Record<string, string>): Flows {
  const flows: Flows = { ingress: [], egress: [], isolated: { ingress: false, egress: false } };
  for (const np of objs.filter((o) => o.kind === 'NetworkPolicy')) {
    if (!selects(np.spec.podSelector, podLabels)) continue;
    const types: string[] = np.spec.policyTypes ?? ['Ingress'];
    if (types.includes('Ingress')) flows.isolated.ingress = true;
    if (types.includes('Egress')) flows.isolated.egress = true;
    for (const r of np.spec.ingress ?? [])
      for (const p of r.ports ?? [{ port: '*' }]) flows.ingress.push({ port: String(p.port), from: r.from });
    for (const r of np.spec.egress ?? [])
      for (const p of r.ports ?? [{ port: '*' }]) flows.egress.push({ port: String(p.port), to: r.to });
  }
  return flows;
}
