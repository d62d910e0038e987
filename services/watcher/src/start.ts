import { AppError, type Config } from '@profiles/shared';
import {
  ConsumerMetrics,
  ServiceMetrics,
  type JetStreamClient,
  type NatsConnection,
  type JetStreamManager,
  type Logger,
} from '@profiles/shared/runtime';
import { FolderSource } from './folder-source.ts';
import { loadKubeConfig } from './kube-client.ts';
import { KubernetesSource } from './kubernetes-source.ts';
import { registerWatcherMetrics } from './metrics.ts';
import { Publisher } from './publisher.ts';
import { StatusWriter } from './status-writer.ts';

export interface WatcherDeps {
  config: Pick<Config, 'watcherMode' | 'watchDir' | 'maxSourceBytes' | 'snapshotIntervalSeconds'> &
    Partial<Pick<Config, 'watchNamespaces' | 'kubeconfig' | 'kubeWatchTimeoutSeconds'>>;
  js: JetStreamClient;
  /** The connection's max_payload bounds what one event may hold (default 1 MB, NATS's own default). */
  nc?: NatsConnection;
  /** Needed in Kubernetes mode (the status writer's consumer). */
  jsm?: JetStreamManager;
  log: Logger;
  /** Kubernetes mode: a kubeconfig file; default KUBECONFIG, ~/.kube/config or the pod's service account. */
  kubeconfigPath?: string;
  /** Kubernetes mode: server-side watch timeout (tests use short ones). */
  watchTimeoutSeconds?: number;
  /** Where the watcher's series are recorded (served at /metrics by main.ts). */
  metrics?: ServiceMetrics;
}

export interface Watcher {
  publisher: Publisher;
  folder: FolderSource | undefined;
  kubernetes: KubernetesSource | undefined;
  statusWriter: StatusWriter | undefined;
  stop: () => Promise<void>;
}

/** Starts the watcher in the configured mode; resolves once the first snapshot is queued. */
export async function start(deps: WatcherDeps): Promise<Watcher> {
  const publisher = new Publisher({ js: deps.js, log: deps.log });
  const metrics = deps.metrics ?? new ServiceMetrics('watcher');
  const maxEventBytes = () => deps.nc?.info?.max_payload ?? 1024 * 1024;
  if (deps.config.watcherMode === 'kubernetes') {
    if (!deps.jsm) throw new AppError('CONFIG_INVALID', 'Kubernetes mode needs a JetStream manager');
    const kc = loadKubeConfig(deps.kubeconfigPath ?? deps.config.kubeconfig);
    const kubernetes = new KubernetesSource({
      kc,
      publisher,
      log: deps.log,
      namespaces: deps.config.watchNamespaces ?? [],
      resyncIntervalMs: deps.config.snapshotIntervalSeconds * 1000,
      watchTimeoutSeconds: deps.watchTimeoutSeconds ?? deps.config.kubeWatchTimeoutSeconds ?? 300,
      maxEventBytes,
      // Called only once started, after statusWriter below exists.
      onUnsendable: (r) => void statusWriter.report(r),
    });
    const statusWriter = new StatusWriter({
      kc,
      js: deps.js,
      jsm: deps.jsm,
      log: deps.log,
      origin: kubernetes.origin,
      consumer: new ConsumerMetrics(metrics, 'statusWriter', deps.jsm),
    });
    registerWatcherMetrics(metrics, publisher, statusWriter);
    await statusWriter.start();
    await kubernetes.start();
    return {
      publisher,
      folder: undefined,
      kubernetes,
      statusWriter,
      stop: async () => {
        await kubernetes.stop();
        await statusWriter.stop();
        await publisher.close();
      },
    };
  }
  registerWatcherMetrics(metrics, publisher);
  const folder = new FolderSource({
    dir: deps.config.watchDir,
    publisher,
    log: deps.log,
    maxBytes: deps.config.maxSourceBytes,
    maxEventBytes,
    snapshotIntervalMs: deps.config.snapshotIntervalSeconds * 1000,
  });
  await folder.start();
  return {
    publisher,
    folder,
    kubernetes: undefined,
    statusWriter: undefined,
    stop: async () => {
      await folder.stop();
      await publisher.close();
    },
  };
}
