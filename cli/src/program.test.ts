import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram, commandWord } from './program.ts';

const argv = (...args: string[]) => ['node', 'profiles', ...args];
const built = (...args: string[]) => buildProgram(argv(...args)).commands.map((c) => c.name());
const ALL = [
  'search',
  'show',
  'install',
  'installations',
  'upgrade',
  'status',
  'sources',
  'refresh',
  'events',
  'render',
  'completion',
];

test('the command word is found past the global options and their values', () => {
  assert.equal(commandWord(argv('search', 'nginx')), 'search');
  assert.equal(commandWord(argv('-o', 'json', '--api', 'http://x', '--token', 't', 'show', 'a/b')), 'show');
  assert.equal(commandWord(argv('--output=yaml', '-ojson', 'status', 'id')), 'status');
  assert.equal(commandWord(argv('--help')), undefined);
  assert.equal(commandWord(argv('--', 'search')), undefined);
  assert.equal(commandWord(argv()), undefined);
});

test('only the command run is built; help, completion and an unknown word build every command', () => {
  assert.deepEqual(built('search', 'nginx'), ['search']);
  assert.deepEqual(built('-o', 'json', 'add', 'x/y'), ['install'], 'by its alias');
  assert.deepEqual(built('refresh', 'examples'), ['sources', 'refresh']);
  for (const args of [[], ['--help'], ['help', 'search'], ['completion', 'bash'], ['serach']])
    assert.deepEqual(built(...args), ALL, args.join(' '));
});
