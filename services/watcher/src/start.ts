import type { Config, JetStreamClient, Logger } from '@profiles/shared';
import { FolderSource } from './folder-source.ts';
import { Publisher } from './publisher.ts';

export interface WatcherDeps {
  config: Pick<Config, 'watcherMode' | 'watchDir' | 'maxSourceBytes' | 'snapshotIntervalSeconds'>;
  js: JetStreamClient;
  log: Logger;
}

export interface Watcher {
  publisher: Publisher;
  folder: FolderSource | undefined;
  stop: () => Promise<void>;
}

/** Starts the watcher in the configured mode; resolves once the first snapshot is queued. */
export async function start(deps: WatcherDeps): Promise<Watcher> {
  const publisher = new Publisher({ js: deps.js, log: deps.log });
  if (deps.config.watcherMode !== 'folder') {
    throw new Error(`WATCHER_MODE=${deps.config.watcherMode} is not available in this build`);
  }
  const folder = new FolderSource({
    dir: deps.config.watchDir,
    publisher,
    log: deps.log,
    maxBytes: deps.config.maxSourceBytes,
    snapshotIntervalMs: deps.config.snapshotIntervalSeconds * 1000,
  });
  await folder.start();
  return {
    publisher,
    folder,
    stop: async () => {
      await folder.stop();
      await publisher.close();
    },
  };
}
