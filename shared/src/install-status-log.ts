import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { installStatusMessage } from './install-messages.ts';
import type { InstallationDoc } from './installations.ts';
import { normalizeRepoUrl } from './repo-url.ts';
import { STREAMS, SUBJECTS } from './subjects.ts';

/**
 * The copy of each installation's final status kept in JetStream (STREAMS.installStatus), beside Redis: Redis
 * holds the status the API serves, and loses it when wiped or failed over before a replica had it; the stream
 * keeps the last status per installation for a week, and the API restores it from there.
 */
export interface FinalStatus {
  doc: InstallationDoc;
  /** Where the installation was written (normalized URL, path): what the write policy judges readers by. */
  target?: { url: string; path: string };
}

/**
 * Publishes a final status. The message id is the id and the time of the write, so a publish retried after a
 * lost acknowledgement is stored once, while a later write of the same id (another upgrade) replaces it.
 */
export async function publishFinalStatus(
  js: JetStreamClient,
  doc: InstallationDoc,
  target: { url: string; path: string } | undefined,
  timeoutMs = 5_000,
): Promise<void> {
  // The URL is normalized: no credentials a request's URL might carry reach the stream.
  const where = target ? { target: { url: normalizeRepoUrl(target.url), path: target.path } } : {};
  await js.publish(SUBJECTS.installStatus(doc.id), installStatusMessage.encode({ doc, ...where }), {
    msgID: `${doc.id}@${doc.updatedAt}`,
    timeout: timeoutMs,
  });
}

/** The last final status published for `id`, if any (the stream keeps one per installation). */
export async function lastFinalStatus(jsm: JetStreamManager, id: string): Promise<FinalStatus | undefined> {
  const m = await jsm.streams.getMessage(STREAMS.installStatus.name, {
    last_by_subj: SUBJECTS.installStatus(id),
  });
  if (!m) return undefined;
  const msg = installStatusMessage.decode(m.data);
  // Ids are tokens made safe for a subject (subjectToken): two ids could share one; only ours is answered.
  if (msg.doc.id !== id) return undefined;
  return msg as FinalStatus;
}
