import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applySet, mergeValues, type Values } from './set-values.ts';

const set = (...args: string[]) => args.reduce<Values>((v, a) => applySet(v, a), {});

test('--set types values like Helm: booleans, null, integers without a leading zero, else strings', () => {
  assert.deepEqual(
    set('chart.a=true', 'chart.b=FALSE', 'chart.c=null', 'chart.d=0', 'chart.e=42', 'chart.f=-7'),
    { chart: { a: true, b: false, c: null, d: 0, e: 42, f: -7 } },
  );
  assert.deepEqual(
    set('chart.zip=01234', 'chart.pi=3.14', 'chart.name=nginx', 'chart.big=99999999999999999999'),
    {
      chart: { zip: '01234', pi: '3.14', name: 'nginx', big: '99999999999999999999' },
    },
  );
  assert.deepEqual(applySet({}, 'chart.a=true,chart.b=2', true), { chart: { a: 'true', b: '2' } });
});

test('--set nests keys, sets several at once, lists and list elements, and escapes', () => {
  assert.deepEqual(set('nginx-chart.service.type=NodePort,nginx-chart.replicaCount=2'), {
    'nginx-chart': { service: { type: 'NodePort' }, replicaCount: 2 },
  });
  assert.deepEqual(set('c.hosts={a.example,b.example}', 'c.empty={}'), {
    c: { hosts: ['a.example', 'b.example'], empty: [] },
  });
  assert.deepEqual(set('c.list[1]=y', 'c.list[0]=x', 'c.objs[0].name=n'), {
    c: { list: ['x', 'y'], objs: [{ name: 'n' }] },
  });
  assert.deepEqual(set('c.annotations.a\\.b/c=v\\,w', 'c.eq=a=b'), {
    c: { annotations: { 'a.b/c': 'v,w' }, eq: 'a=b' },
  });
  assert.deepEqual(set('nested-profile/nginx-server.replicaCount=1'), {
    'nested-profile/nginx-server': { replicaCount: 1 },
  });
});

test('later --set wins over earlier ones and over a scalar in the way', () => {
  assert.deepEqual(set('c.a=1', 'c.a=2', 'c.b=x', 'c.b.c=y'), { c: { a: 2, b: { c: 'y' } } });
});

test('--set refuses what it cannot read, naming the argument', () => {
  assert.throws(() => set('replicaCount=2'), /first key is the artifact/);
  assert.throws(() => set('chart.a'), /expected artifact.key=value/);
  assert.throws(() => set('.a=1'), /bad key/);
  assert.throws(() => set('c[0]=2'), /not a list/);
});

test('values files and --set merge deeply, maps merging and the rest replaced', () => {
  assert.deepEqual(
    mergeValues({ c: { a: { x: 1, y: 2 }, l: [1] } }, { c: { a: { y: 3 }, l: [2] }, d: { z: 1 } }),
    {
      c: { a: { x: 1, y: 3 }, l: [2] },
      d: { z: 1 },
    },
  );
});
