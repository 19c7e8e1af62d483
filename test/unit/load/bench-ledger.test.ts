/**
 * Which ledger a bench or load run measures (load/bench/ledger.ts), from the environment and the
 * local stack's cluster file, table-driven: the cluster by default, the engine where there is none
 * or when asked, never a silent fall-back when TigerBeetle is demanded; and the environment the
 * run's processes get, which must pin them to that choice.
 */
import { chooseLedger, ledgerProcessEnv } from '../../../load/bench/ledger';
import { UsageError } from '../../../load/runner/settings';

const LOCAL = { TB_CLUSTER_ID: '0', TB_ADDRESSES: '127.0.0.1:3001,127.0.0.1:3002,127.0.0.1:3003' };
const withLocal = () => LOCAL;
const withoutLocal = () => null;

describe.each([
  ['the local cluster by default', {}, withLocal, 'tigerbeetle', "the local stack's cluster"],
  ['the engine with no cluster', {}, withoutLocal, 'engine', 'no TigerBeetle cluster running'],
  ['the engine when asked', { BENCH_LEDGER: 'engine' }, withLocal, 'engine', 'BENCH_LEDGER=engine'],
  ['the engine for TB_ADDRESSES=""', { TB_ADDRESSES: '' }, withLocal, 'engine', 'set empty'],
  ['TB_ADDRESSES over the local file', { TB_ADDRESSES: '4001' }, withLocal, 'tigerbeetle', ''],
  ['TigerBeetle when demanded', { BENCH_LEDGER: 'tigerbeetle' }, withLocal, 'tigerbeetle', ''],
] as const)('%s', (_name, env, local, kind, source) => {
  it(`is ${kind}`, () => {
    const choice = chooseLedger(env, local);
    expect(choice.kind).toBe(kind);
    expect(choice.source).toContain(source);
  });
});

it('takes the addresses given, and cluster id 0 unless TB_CLUSTER_ID says otherwise', () => {
  expect(chooseLedger({ TB_ADDRESSES: '4001, 4002,4003' }, withLocal)).toMatchObject({
    kind: 'tigerbeetle',
    clusterId: '0',
    addresses: ['4001', '4002', '4003'],
  });
  expect(chooseLedger({}, withLocal)).toMatchObject({ addresses: LOCAL.TB_ADDRESSES.split(',') });
  expect(chooseLedger({ TB_ADDRESSES: '4001', TB_CLUSTER_ID: '7' }, withLocal)).toMatchObject({
    clusterId: '7',
  });
  // As ledgerEnv (infra/tigerbeetle/local.ts): the local cluster fills only the settings left unset.
  expect(chooseLedger({ TB_CLUSTER_ID: '7' }, withLocal)).toMatchObject({
    clusterId: '7',
    addresses: LOCAL.TB_ADDRESSES.split(','),
  });
});

it('refuses TigerBeetle demanded where there is none, and an unknown BENCH_LEDGER', () => {
  expect(() => chooseLedger({ BENCH_LEDGER: 'tigerbeetle' }, withoutLocal)).toThrow(UsageError);
  expect(() => chooseLedger({ BENCH_LEDGER: 'tigerbeetle', TB_ADDRESSES: '' }, withLocal)).toThrow(
    'there is no cluster',
  );
  expect(() => chooseLedger({ BENCH_LEDGER: 'postgres' }, withLocal)).toThrow(
    'BENCH_LEDGER is one of tigerbeetle, engine, got "postgres"',
  );
});

it("pins the run's processes to the choice: the cluster's settings, or TB_ADDRESSES empty", () => {
  expect(ledgerProcessEnv(chooseLedger({}, withLocal))).toEqual(LOCAL);
  // Empty, not absent: absent would let the bridge find the local cluster on its own.
  expect(ledgerProcessEnv(chooseLedger({ BENCH_LEDGER: 'engine' }, withLocal))).toEqual({
    TB_ADDRESSES: '',
  });
});
