import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const tuning = fileURLToPath(new URL('./v8-tuning.ts', import.meta.url));

/**
 * V8's pretenuring statistics of a process that keeps most of what one allocation site makes (so V8 would
 * pretenure it). Node strips the module's types itself, so the flag is set before the first collection (through
 * tsx, its loader's own collections came first and could be counted).
 */
function pretenuringLines(tune: boolean): number {
  const script = `
    ${tune ? `const { tuneV8ForServing } = await import(${JSON.stringify(tuning)}); tuneV8ForServing();` : ''}
    const keep = [];
    const make = (i) => ({ i, a: [i] });
    for (let r = 0; r < 40; r++) { for (let i = 0; i < 100000; i++) keep.push(make(i)); if (keep.length > 2e6) keep.length = 0; }
  `;
  const out = execFileSync(
    process.execPath,
    ['--trace-pretenuring-statistics', '--no-warnings', '--input-type=module', '-e', script],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  return out.split('\n').filter((l) => l.includes('pretenuring:')).length;
}

test('set at run time, the API turns V8 allocation-site pretenuring off (no site is weighed for it afterwards)', () => {
  assert.ok(pretenuringLines(false) > 0, 'V8 weighs pretenuring by default (else this test proves nothing)');
  assert.equal(pretenuringLines(true), 0);
});
