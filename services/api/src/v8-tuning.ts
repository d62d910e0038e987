import { setFlagsFromString } from 'node:v8';

/**
 * Turns off V8's allocation-site pretenuring in the API process, before its first request. V8 moves a site
 * to allocating straight into the old generation once most of its objects survived a scavenge; an object of a
 * request allocated old that points to the request's young objects keeps them alive through every scavenge
 * until a mark-compact. Under search load that gave a slow collector mode in about one run in four of the
 * million-version bench (hundreds of ms of scavenges per phase, p99 above goal), and none in the runs without
 * pretenuring (docs/performance.md, issue 20). Set at run time it acts as the command-line flag does (no site
 * is pretenured afterwards), so it holds whatever starts the process (Dockerfile, npm start, a bench).
 */
export function tuneV8ForServing(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}
