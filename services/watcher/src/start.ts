import type { KubeConfig } from '@kubernetes/client-node';
import type { Config, JetStreamClient, JetStreamManager, Logger } from '@profiles/shared';
import { FolderSource } from './folder-source.ts';
import { loadKubeConfig } from './kubeconfig.ts';
import { KubeSource } from './kube-source.ts';
import { Publisher } from './publisher.ts';
import { StatusWriter } from './status-writer.ts';

export interface WatcherDeps {
  config: Pick<Config, 'watcherMode' | 'watchDir' | 'maxSourceBytes' | 'snapshotIntervalSeconds'> &
    Partial<Pick<Config, 'watchNamespaces' | 'kubeconfig' | 'kubeWatchTimeoutSeconds' | 'statusWriter'>>;
  js: JetStreamClient;
  /** Needed by the status writer (kubernetes mode) to declare its consumer. */
  jsm?: JetStreamManager;
  /** Kubernetes mode: a ready client config (tests); otherwise built from KUBECONFIG / in-cluster. */
  kc?: KubeConfig;
  log: Logger;
}

export interface Watcher {
  publisher: Publisher;
  folder: FolderSource | undefined;
  kube: KubeSource | undefined;
  statusWriter: StatusWriter | undefined;
  stop: () => Promise<void>;
}

/** Starts the watcher in the configured mode; resolves once the first snapshot is queued. */
export async function start(deps: WatcherDeps): Promise<Watcher> {
  const publisher = new Publisher({ js: deps.js, log: deps.log });
  const cfg = deps.config;
  if (cfg.watcherMode === 'kubernetes') {
    const kc = deps.kc ?? loadKubeConfig(cfg.kubeconfig);
    const kube = new KubeSource({
      kc,
      publisher,
      log: deps.log,
      namespaces: cfg.watchNamespaces ?? [],
      snapshotIntervalMs: cfg.snapshotIntervalSeconds * 1000,
      watchTimeoutSeconds: cfg.kubeWatchTimeoutSeconds ?? 300,
      maxBytes: cfg.maxSourceBytes,
    });
    let statusWriter: StatusWriter | undefined;
    if ((cfg.statusWriter ?? true) && deps.jsm) {
      statusWriter = new StatusWriter({
        kc,
        js: deps.js,
        jsm: deps.jsm,
        log: deps.log,
        covers: (ns) => kube.covers(ns),
      });
      await statusWriter.start();
    }
    await kube.start();
    return {
      publisher,
      folder: undefined,
      kube,
      statusWriter,
      stop: async () => {
        await kube.stop();
        await statusWriter?.stop();
        await publisher.close();
      },
    };
  }
  const folder = new FolderSource({
    dir: cfg.watchDir,
    publisher,
    log: deps.log,
    maxBytes: cfg.maxSourceBytes,
    snapshotIntervalMs: cfg.snapshotIntervalSeconds * 1000,
  });
  await folder.start();
  return {
    publisher,
    folder,
    kube: undefined,
    statusWriter: undefined,
    stop: async () => {
      await folder.stop();
      await publisher.close();
    },
  };
}
