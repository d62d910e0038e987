import { AsyncLocalStorage } from 'node:async_hooks';
import type { InstallTarget } from '@profiles/shared';
import { TargetRepos, type CommitResult, type Prepare } from './target-repo.ts';

/**
 * The repository-gate slot of the install running in this async context, given back when the install reaches
 * its repository's commit queue: what is left (waiting for the batch before it, then one commit in a shared
 * push) needs no slot, and the installs behind it then reach the queue in time to join the next batch. Carried
 * in async context so that the processor and the target repositories need not know about slots.
 */
const slot = new AsyncLocalStorage<() => void>();

export function withCommitSlot<T>(release: () => void, work: () => Promise<T>): Promise<T> {
  return slot.run(release, work);
}

/** TargetRepos whose commit gives the caller's slot back before it queues. */
export class SlotReleasingTargets extends TargetRepos {
  override commit(
    target: InstallTarget,
    id: string,
    message: string,
    prepare: Prepare,
  ): Promise<CommitResult> {
    slot.getStore()?.();
    return super.commit(target, id, message, prepare);
  }
}
