import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { negotiate } from '@fastify/accept-negotiator';

/** Bodies smaller than this are sent as they are (the threshold the app also gives @fastify/compress). */
export const COMPRESS_MIN_BYTES = 1024;

export type PageEncoding = 'br' | 'gzip';

/** In order of preference when a client accepts both equally. */
const SUPPORTED = ['br', 'gzip', 'identity'];

/**
 * The encoding to send a body of `size` bytes in, for a request's Accept-Encoding (q-values honoured, `*` and
 * `x-gzip` read as gzip as @fastify/compress reads them); undefined: send it as it is.
 */
export function chooseEncoding(acceptEncoding: string | undefined, size: number): PageEncoding | undefined {
  if (!acceptEncoding || size < COMPRESS_MIN_BYTES) return undefined;
  const chosen = negotiate(acceptEncoding.toLowerCase().replace(/\*|x-gzip/g, 'gzip'), SUPPORTED);
  return chosen === 'br' || chosen === 'gzip' ? chosen : undefined;
}

/**
 * A body computed once and sent many times keeps its compressed forms: made on the first request that asks for
 * one, then reused. @fastify/compress would compress (stream) it again on every request, which for a cached
 * search page costs far more than finding it.
 */
export class EncodedBody {
  private readonly forms: Partial<Record<PageEncoding, Buffer>> = {};

  constructor(readonly identity: Buffer) {}

  /** Bytes held: the body and every compressed form made of it so far. */
  get size(): number {
    return this.identity.length + (this.forms.br?.length ?? 0) + (this.forms.gzip?.length ?? 0);
  }

  /** The body in `encoding`, and how many bytes were added to memory to get it (0 when already made). */
  get(encoding: PageEncoding): { bytes: Buffer; added: number } {
    const made = this.forms[encoding];
    if (made) return { bytes: made, added: 0 };
    const bytes =
      encoding === 'br'
        ? // Quality 5: most of brotli's gain at a small part of the cost of its default 11 (made on a request).
          brotliCompressSync(this.identity, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } })
        : gzipSync(this.identity);
    this.forms[encoding] = bytes;
    return { bytes, added: bytes.length };
  }
}
