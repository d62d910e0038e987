import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The catalog generation this request is answered from (set with its ETag). */
    catalogGeneration: string | undefined;
  }
}

/** Remembered URL digests at most; the same URLs come again and again, but a crawler must not grow it. */
const MAX_DIGESTS = 10_000;

/**
 * Strong ETags from the catalog generation: `"{generation}-{digest of audience and URL}"`. Any catalog change moves the
 * generation and so changes every tag; the same URL at the same generation always has the same answer, from any
 * replica. Used by the app's preHandler for every catalog read and by search's cached-page path.
 */
export class CatalogEtags {
  private readonly digests = new Map<string, string>();

  private digest(url: string): string {
    let d = this.digests.get(url);
    if (d === undefined) {
      if (this.digests.size >= MAX_DIGESTS) this.digests.clear();
      d = createHash('sha1').update(url).digest('base64url').slice(0, 16);
      this.digests.set(url, d);
    }
    return d;
  }

  /**
   * The tag of the answer to `url` at `generation`; `coding`: the content-coding it is sent in, if any. A gzip
   * or brotli body is another representation, so it gets its own strong tag (RFC 9110 §8.8.3).
   */
  etag(url: string, generation: string, coding?: string): string {
    return `"${generation}-${this.digest(url)}${coding ? `-${coding}` : ''}"`;
  }

  /**
   * Tags the reply with the generation's ETag and records the generation on the request. Answers 304 and
   * returns true when `If-None-Match` names the tag: the caller must then send nothing more.
   */
  tag(req: FastifyRequest, reply: FastifyReply, generation: string, coding?: string): boolean {
    req.catalogGeneration = generation;
    const etag = this.etag(answerKey(req), generation, coding);
    reply.header('etag', etag);
    const inm = req.headers['if-none-match'];
    if (!inm || !inm.split(',').some((t) => t.trim() === etag)) return false;
    reply.status(304).send();
    return true;
  }
}

/**
 * What an answer depends on besides the generation: the URL and the audience (the sources the caller sees), so
 * no tag or cached page computed for one audience is ever served to another.
 */
export function answerKey(req: FastifyRequest): string {
  return req.audience ? `${req.audience.key} ${req.url}` : req.url;
}
