import {
  CONSUMERS,
  ensureConsumer,
  type JetStreamClient,
  type JetStreamManager,
  type Logger,
} from '@profiles/shared';

export interface InstallerDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  log: Logger;
}

export interface Installer {
  stop: () => Promise<void>;
}

/**
 * Declares the install work queue and its durable consumer. Rendering and committing install requests is
 * not implemented yet, so requests stay queued (nothing is consumed, nothing is lost) until it is.
 */
export async function start(deps: InstallerDeps): Promise<Installer> {
  await ensureConsumer(deps.jsm, 'installer');
  const info = await deps.jsm.consumers.info(CONSUMERS.installer.stream, CONSUMERS.installer.durable);
  deps.log.info({ pending: info.num_pending }, 'install queue ready');
  return { stop: async () => undefined };
}
