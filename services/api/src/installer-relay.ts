import {
  AppError,
  INSTALLER_SUBJECTS,
  describeError,
  scanReply,
  scanRequest,
  type FoundInstallation,
  type ScanRequest,
} from '@profiles/shared';
import type { NatsConnection } from '@profiles/shared/runtime';

/**
 * Asks an installer (any replica of the queue group: it has the git checkouts) over core NATS request/reply
 * which installations a GitOps repository holds. The API only relays: an installer's error becomes the
 * answer's error.
 */
export class InstallerRelay {
  constructor(
    private readonly nc: NatsConnection | undefined,
    private readonly timeoutMs = 60_000,
  ) {}

  async findInstallations(target: ScanRequest): Promise<{ items: FoundInstallation[] }> {
    if (!this.nc) throw new AppError('UNAVAILABLE', 'the installer is not reachable');
    let data: Uint8Array;
    try {
      data = (
        await this.nc.request(INSTALLER_SUBJECTS.scan, scanRequest.encode(target), {
          timeout: this.timeoutMs,
        })
      ).data;
    } catch (err) {
      throw new AppError('UNAVAILABLE', `no installer answered: ${describeError(err)}`);
    }
    const reply = scanReply.decode(data);
    if ('error' in reply) {
      throw new AppError(
        reply.error.code === 'GIT_FAILED' ? 'GIT_FAILED' : 'BAD_REQUEST',
        reply.error.message,
      );
    }
    return reply;
  }
}
