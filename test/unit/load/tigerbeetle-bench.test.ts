/**
 * The runner of `tigerbeetle benchmark` (load/bench/tigerbeetle.ts), without a cluster: its output
 * (as TigerBeetle 0.17.9 prints it) is parsed into the figures, a truncated output is an error
 * that shows the output, and the command it runs keeps to the limits it promises (8189-transfer
 * batches, time-based ids, no query stage) and refuses what `tigerbeetle benchmark` cannot do.
 */
import {
  benchmarkArgs,
  parseBenchmarkOutput,
  tigerBeetleBenchSettings,
} from '../../../load/bench/tigerbeetle';
import { UsageError } from '../../../load/runner/settings';

// Verbatim stdout of `tigerbeetle benchmark --transfer-count=50000 --account-count=1000
// --query-count=0` (0.17.9, its own single-replica cluster).
const OUTPUT = `7 batches in 0.08 s
transfer batch size = 8189 txs
transfer batch delay = 0ns
load accepted = 649372 tx/s
batch latency p1   = 0 ms
batch latency p50  = 9 ms
batch latency p99  = 12 ms
batch latency p100 = 14 ms

rss = 2374606848 bytes
`;

it('parses transfers/s, the batch count and time, and the batch latency percentiles', () => {
  expect(parseBenchmarkOutput(OUTPUT)).toEqual({
    batches: 7,
    seconds: 0.08,
    transfersPerSecond: 649_372,
    batchP50Ms: 9,
    batchP99Ms: 12,
    batchMaxMs: 14,
  });
});

it('refuses an output without its figures, and shows what it got', () => {
  const truncated = OUTPUT.split('\n').slice(0, 4).join('\n');
  expect(() => parseBenchmarkOutput(truncated)).toThrow('printed no batch p50');
  expect(() => parseBenchmarkOutput('')).toThrow('printed no "batches in"');
});

const CLUSTER = {
  kind: 'tigerbeetle' as const,
  clusterId: '0',
  addresses: ['127.0.0.1:3001', '127.0.0.1:3002', '127.0.0.1:3003'],
  source: 'test',
};

it('runs against the cluster, in full batches, with time-based ids and no query stage', () => {
  const settings = tigerBeetleBenchSettings(CLUSTER, { TB_BIN: '/opt/tb/tigerbeetle' });
  expect(settings).toMatchObject({ bin: '/opt/tb/tigerbeetle', batchEvents: 8189 });
  expect(benchmarkArgs(settings)).toEqual([
    'benchmark',
    '--addresses=127.0.0.1:3001,127.0.0.1:3002,127.0.0.1:3003',
    '--account-count=1000',
    '--transfer-count=1000000',
    '--transfer-batch-count=8189',
    '--clients=1',
    '--id-order=tbid',
    '--query-count=0',
  ]);
});

it('refuses the engine, another cluster id, and a missing binary', () => {
  const bin = { TB_BIN: '/opt/tb/tigerbeetle' };
  expect(() => tigerBeetleBenchSettings({ kind: 'engine', source: 'test' }, bin)).toThrow(
    UsageError,
  );
  expect(() => tigerBeetleBenchSettings({ ...CLUSTER, clusterId: '7' }, bin)).toThrow(
    'only talks to cluster 0',
  );
  expect(() => tigerBeetleBenchSettings(CLUSTER, { PATH: '/nonexistent' })).toThrow('TB_BIN');
});
