/**
 * Proves the write-ahead log gives back exactly what was acknowledged, in order, after a clean
 * close or a crash: real files in a fresh temp dir per test, reopened after appends, after the
 * file is cut at every byte of its last record (a torn write), after bytes are flipped or a
 * zero-filled tail is added, and after an injected fdatasync failure. A bad record in the final
 * flush is a torn tail (truncated and reported); a bad record followed by a later flush's record
 * is corruption of acknowledged data and refuses to open. Concurrent appends share flushes.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  HEADER_SIZE,
  WalClosedError,
  WalCorruptionError,
  WalFailedError,
  type WalRecord,
  WriteAheadLog,
} from '../../../ledger/engine/wal';

let dir: string;
let file: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-test-'));
  file = path.join(dir, 'engine.wal');
});

afterEach(() => {
  jest.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Record i: its body tiles a 251-byte pattern that depends on i (a prime, so never aligned). */
function record(i: number, bodyBytes = 64 + i): WalRecord {
  const pattern = Buffer.from(Array.from({ length: 251 }, (_, b) => (i * 31 + b * 7) & 0xff));
  const body = bodyBytes === 0 ? Buffer.alloc(0) : Buffer.alloc(bodyBytes, pattern);
  return { operation: 128 + (i % 5), timestamp: 1_700_000_000_000_000_000n + BigInt(i), body };
}

/** Records as comparable values: jest's deep equality walks buffers byte by byte (slow). */
function summary(records: WalRecord[]): string[] {
  return records.map((r) => {
    const digest = crypto.createHash('sha256').update(r.body).digest('hex').slice(0, 16);
    return `op=${r.operation} ts=${r.timestamp} len=${r.body.length} sha=${digest}`;
  });
}

function recordBytes(bodyBytes: number): number {
  return HEADER_SIZE + Math.ceil(bodyBytes / 8) * 8;
}

async function reopen(options: { fsync?: boolean } = {}): Promise<{
  wal: WriteAheadLog;
  records: WalRecord[];
  report: Awaited<ReturnType<typeof open>>['report'];
}> {
  const records: WalRecord[] = [];
  const { wal, report } = await open(
    (r) => records.push({ ...r, body: Buffer.from(r.body) }),
    options,
  );
  return { wal, records, report };
}

function open(onRecord: (r: WalRecord) => void, options: { fsync?: boolean } = {}) {
  return WriteAheadLog.open(file, onRecord, options);
}

/** Appends each record after the previous one is durable: one flush per record. */
async function writeSequentially(records: WalRecord[], options: { fsync?: boolean } = {}) {
  const { wal } = await open(() => undefined, options);
  for (const r of records) await wal.append(r);
  await wal.close();
}

/** FileHandle's prototype, for spying on datasync (the class itself is not exported). */
async function fileHandlePrototype(): Promise<{ datasync: () => Promise<void> }> {
  const fh = await fs.promises.open(path.join(dir, 'probe'), 'w');
  await fh.close();
  return Object.getPrototypeOf(fh);
}

describe('WriteAheadLog', () => {
  it('creates an empty log and replays nothing', async () => {
    const { wal, records, report } = await reopen();
    expect(records).toEqual([]);
    expect(report).toEqual({ records: 0, bytes: 0, truncatedTailBytes: 0 });
    await wal.close();
    expect(fs.statSync(file).size).toBe(0);
  });

  it('replays exactly what was appended, in order, across reopens', async () => {
    const sizes = [0, 1, 7, 8, 9, 16 * 1024 - 1, 16 * 1024, 300_000, 1 << 20];
    const first = sizes.map((n, i) => record(i, n));
    await writeSequentially(first);

    const again = await reopen();
    expect(summary(again.records)).toEqual(summary(first));
    const bytes = sizes.reduce((sum, n) => sum + recordBytes(n), 0);
    expect(again.report).toEqual({ records: sizes.length, bytes, truncatedTailBytes: 0 });
    expect(fs.statSync(file).size).toBe(bytes);

    const second = [record(100), record(101, 20_000)];
    await Promise.all(second.map((r) => again.wal.append(r)));
    await again.wal.close();

    const third = await reopen();
    expect(summary(third.records)).toEqual(summary([...first, ...second]));
    await third.wal.close();
  });

  it('replays a log larger than one read chunk', async () => {
    const records = Array.from({ length: 20 }, (_, i) => record(i, (1 << 20) + i));
    await writeSequentially(records, { fsync: false }); // fsync off: this test is about reads
    const { wal, records: replayed } = await reopen({ fsync: false });
    expect(summary(replayed)).toEqual(summary(records));
    await wal.close();
  });

  it('group-commits concurrent appends: fewer flushes and fdatasyncs than appends', async () => {
    const proto = await fileHandlePrototype();
    const datasync = jest.spyOn(proto, 'datasync');
    const { wal } = await open(() => undefined);
    const records = Array.from({ length: 500 }, (_, i) => record(i, i % 3 === 0 ? 20_000 : 100));
    // Half in one tick, half while the first flush is in flight.
    const first = records.slice(0, 250).map((r) => wal.append(r));
    await Promise.resolve();
    const second = records.slice(250).map((r) => wal.append(r));
    await Promise.all([...first, ...second]);
    expect(wal.stats.appends).toBe(500);
    expect(wal.stats.flushes).toBe(2);
    expect(datasync).toHaveBeenCalledTimes(wal.stats.flushes);
    await wal.flushed();
    await wal.close();

    const { wal: again, records: replayed } = await reopen();
    expect(summary(replayed)).toEqual(summary(records));
    await again.close();
  });

  it('flushed() resolves once everything appended so far is durable', async () => {
    const { wal } = await open(() => undefined);
    await wal.flushed(); // nothing pending
    let durable = 0;
    for (let i = 0; i < 10; i++) void wal.append(record(i)).then(() => durable++);
    await wal.flushed();
    expect(durable).toBe(10);
    await wal.close();
  });

  describe('torn tail', () => {
    it('truncates a cut at every byte offset inside the last record', async () => {
      const records = [record(0), record(1), record(2, 100)];
      await writeSequentially(records, { fsync: false }); // fsync off: 150 reopens of one file
      const full = fs.readFileSync(file);
      const lastStart = full.length - recordBytes(100);
      for (let cut = lastStart + 1; cut < full.length; cut++) {
        fs.writeFileSync(file, full.subarray(0, cut));
        const { wal, records: replayed, report } = await reopen({ fsync: false });
        expect(summary(replayed)).toEqual(summary(records.slice(0, 2)));
        expect(report).toEqual({
          records: 2,
          bytes: lastStart,
          truncatedTailBytes: cut - lastStart,
        });
        expect(fs.statSync(file).size).toBe(lastStart);
        await wal.append(records[2]!);
        await wal.close();
        expect(fs.readFileSync(file).equals(full)).toBe(true);
      }
    });

    it('truncates a cut inside a 1 MiB last record (sampled offsets), fsync on', async () => {
      const records = [record(0), record(1, 1 << 20)];
      await writeSequentially(records);
      const full = fs.readFileSync(file);
      const lastStart = recordBytes(64);
      const cuts = [1, 8, HEADER_SIZE - 1, HEADER_SIZE, HEADER_SIZE + 1, 4096, 1 << 19];
      cuts.push(recordBytes(1 << 20) - 1);
      for (const cut of cuts.map((c) => lastStart + c)) {
        fs.writeFileSync(file, full.subarray(0, cut));
        const { wal, records: replayed, report } = await reopen();
        expect(summary(replayed)).toEqual(summary(records.slice(0, 1)));
        expect(report.truncatedTailBytes).toBe(cut - lastStart);
        expect(fs.statSync(file).size).toBe(lastStart);
        await wal.close();
      }
    });

    it.each([
      ['body', (start: number) => start + HEADER_SIZE + 10],
      ['header size field', (start: number) => start + 12],
      ['header checksum', (start: number) => start + 44],
      ['magic', (start: number) => start],
    ])('treats a flipped byte in the last record (%s) as torn', async (_what, at) => {
      const records = [record(0), record(1), record(2)];
      await writeSequentially(records);
      const lastStart = recordBytes(64) + recordBytes(65);
      flipByte(at(lastStart));
      const { wal, records: replayed, report } = await reopen();
      expect(summary(replayed)).toEqual(summary(records.slice(0, 2)));
      expect(report.truncatedTailBytes).toBe(recordBytes(66));
      await wal.append(record(9));
      await wal.close();
      const { wal: again, records: final } = await reopen();
      expect(summary(final)).toEqual(summary([records[0]!, records[1]!, record(9)]));
      await again.close();
    });

    it.each([
      ['zero-filled', Buffer.alloc(1 << 20)],
      ['random garbage', crypto.randomBytes(100_000)],
      ['partial-header', Buffer.from('LBWL')],
    ])('truncates a %s tail after the last record', async (_what, tail) => {
      const records = [record(0), record(1)];
      await writeSequentially(records);
      const size = fs.statSync(file).size;
      fs.appendFileSync(file, tail);
      const { wal, records: replayed, report } = await reopen();
      expect(summary(replayed)).toEqual(summary(records));
      expect(report).toEqual({ records: 2, bytes: size, truncatedTailBytes: tail.length });
      expect(fs.statSync(file).size).toBe(size);
      await wal.close();
    });

    it('truncates a bad record inside the final flush even when records of that flush follow', async () => {
      // One flush, never followed by another: after a power loss its pages may land in any
      // order, and none of it can be proven acknowledged, so it is cut at the first bad record.
      const { wal } = await open(() => undefined);
      await wal.append(record(0));
      const group = [record(1), record(2), record(3)];
      await Promise.all(group.map((r) => wal.append(r)));
      expect(wal.stats.flushes).toBe(2);
      await wal.close();
      const secondStart = recordBytes(64) + recordBytes(65);
      flipByte(secondStart + HEADER_SIZE + 1); // record 2, inside the final flush
      const { wal: again, records: replayed, report } = await reopen();
      expect(summary(replayed)).toEqual(summary([record(0), record(1)]));
      expect(report.truncatedTailBytes).toBe(recordBytes(66) + recordBytes(67));
      await again.close();
    });
  });

  describe('corruption', () => {
    it.each([
      ['body', HEADER_SIZE + 3],
      ['body size (header checksum catches it)', 13],
      ['operation (header checksum catches it)', 8],
    ])('refuses to open when a middle record is damaged (%s)', async (_what, delta) => {
      await writeSequentially([record(0), record(1), record(2), record(3)]);
      const middle = recordBytes(64);
      flipByte(middle + delta);
      const before = fs.readFileSync(file);
      const seen: WalRecord[] = [];
      const error = await open((r) => seen.push(r)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WalCorruptionError);
      expect(error).toMatchObject({ offset: middle, path: file });
      expect((error as Error).message).toContain(`offset ${middle}`);
      expect(seen).toHaveLength(1);
      expect(fs.readFileSync(file).equals(before)).toBe(true); // nothing was truncated
    });

    it('refuses to open when a valid record sits in the wrong place (misdirected write)', async () => {
      // Records 1 and 2 have equal sizes; copying 1 over 2 keeps every checksum valid, but
      // record 2's slot now holds sequence 1 from another flush, and record 3 follows.
      await writeSequentially([record(0), record(1, 80), record(2, 80), record(3)]);
      const bytes = fs.readFileSync(file);
      const first = recordBytes(64);
      const size = recordBytes(80);
      bytes.copy(bytes, first + size, first, first + size);
      fs.writeFileSync(file, bytes);
      const error = await open(() => undefined).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WalCorruptionError);
      expect(error).toMatchObject({ offset: first + size });
      expect((error as Error).message).toMatch(/sequence 1, expected 2/);
    });

    it('does not mistake log records inside a body for a later flush', async () => {
      // The inner log's third record says its flush began at 224, past the bad record at 112;
      // the scan must step over the outer record that carries it instead of reading its body.
      const innerFile = path.join(dir, 'inner.wal');
      const inner = await WriteAheadLog.open(innerFile, () => undefined);
      for (const i of [0, 1, 2]) await inner.wal.append(record(i, 64));
      await inner.wal.close();
      const innerBytes = fs.readFileSync(innerFile);

      const { wal } = await open(() => undefined);
      await wal.append(record(0, 64));
      const carrier = { operation: 7, timestamp: 7n, body: innerBytes };
      await Promise.all([wal.append(record(1, 64)), wal.append(carrier)]);
      await wal.close();
      flipByte(recordBytes(64) + HEADER_SIZE); // record 1 at offset 112, same flush as carrier

      const { wal: again, records, report } = await reopen();
      expect(summary(records)).toEqual(summary([record(0, 64)]));
      expect(report.truncatedTailBytes).toBe(recordBytes(64) + recordBytes(innerBytes.length));
      await again.close();
    });

    it('refuses to open when zeroes overwrite acknowledged records mid-file', async () => {
      await writeSequentially([record(0), record(1), record(2), record(3)]);
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, Buffer.alloc(200), 0, 200, recordBytes(64));
      fs.closeSync(fd);
      await expect(open(() => undefined)).rejects.toThrow(WalCorruptionError);
    });

    it('propagates an error thrown by onRecord and closes the file', async () => {
      await writeSequentially([record(0)]);
      await expect(
        open(() => {
          throw new Error('state machine refused');
        }),
      ).rejects.toThrow('state machine refused');
      const { wal, records } = await reopen();
      expect(records).toHaveLength(1);
      await wal.close();
    });
  });

  describe('lifecycle', () => {
    it('close waits for appends in flight; appends after close reject', async () => {
      const { wal } = await open(() => undefined);
      const pending = [wal.append(record(0)), wal.append(record(1))];
      const closed = wal.close();
      await expect(wal.append(record(2))).rejects.toThrow(WalClosedError);
      await expect(wal.append(record(2))).rejects.toThrow(/is closed/);
      await Promise.all(pending);
      await closed;
      await wal.close(); // idempotent
      const { wal: again, records } = await reopen();
      expect(summary(records)).toEqual(summary([record(0), record(1)]));
      await again.close();
    });

    it('rejects malformed records before they reach the log', async () => {
      const { wal } = await open(() => undefined);
      const body = Buffer.alloc(1);
      expect(() => wal.append({ operation: -1, timestamp: 0n, body })).toThrow(RangeError);
      expect(() => wal.append({ operation: 1, timestamp: 1n << 64n, body })).toThrow(RangeError);
      expect(() =>
        wal.append({ operation: 1, timestamp: 0n, body: 'x' as unknown as Buffer }),
      ).toThrow(RangeError);
      await wal.close();
    });

    it('after an fdatasync failure rejects the pending appends and every later one', async () => {
      const proto = await fileHandlePrototype();
      const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      const { wal } = await open(() => undefined);
      await wal.append(record(0));
      jest.spyOn(proto, 'datasync').mockRejectedValueOnce(eio);
      const pending = [wal.append(record(1)), wal.append(record(2))];
      await expect(pending[0]).rejects.toBe(eio);
      await expect(pending[1]).rejects.toBe(eio);
      const later = wal.append(record(3));
      await expect(later).rejects.toThrow(WalFailedError);
      await expect(later).rejects.toMatchObject({ cause: eio });
      await expect(wal.flushed()).rejects.toThrow(WalFailedError);
      await wal.close();
      // Records 1 and 2 were written but never acknowledged: they may or may not come back.
      const { wal: again, records } = await reopen();
      expect(summary(records.slice(0, 1))).toEqual(summary([record(0)]));
      expect(records.length).toBeLessThanOrEqual(3);
      await again.close();
    });
  });

  it('keeps every acknowledged record when the writer is killed with SIGKILL', async () => {
    // A child node process appends deterministic records in concurrent groups and prints each
    // acknowledged sequence; the parent SIGKILLs it mid-stream and replays the log. The child
    // is node itself (tsx as an --import hook), so the signal reaches the writer; it also stops
    // on its own after a bounded number of records or seconds.
    const child = path.join(dir, 'writer.ts');
    const walModule = path.resolve(__dirname, '../../../ledger/engine/wal');
    fs.writeFileSync(
      child,
      `import { WriteAheadLog } from ${JSON.stringify(walModule)};
      setTimeout(() => process.exit(2), 20_000).unref();
      async function main() {
        const { wal } = await WriteAheadLog.open(${JSON.stringify(file)}, () => undefined);
        for (let i = 0; i < 2000; ) {
          const group = [];
          for (let k = 0; k < 1 + (i % 7); k++, i++) {
            const n = i;
            const body = Buffer.alloc((n * 7919) % 200_000, n & 0xff);
            group.push(wal.append({ operation: n % 3, timestamp: BigInt(n), body }).then(() => n));
          }
          for (const n of await Promise.all(group)) process.stdout.write(n + '\\n');
        }
        process.exit(3);
      }
      void main();`,
    );
    const proc = spawn(process.execPath, ['--import', 'tsx', child], {
      cwd: path.resolve(__dirname, '../../..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let acked = -1;
    try {
      const exit = await new Promise<NodeJS.Signals | number | null>((resolve, reject) => {
        proc.on('error', reject);
        proc.on('exit', (code, signal) => resolve(signal ?? code));
        proc.stdout.on('data', (d: Buffer) => {
          for (const line of d.toString().split('\n')) if (line !== '') acked = Number(line);
          if (acked >= 300) proc.kill('SIGKILL');
        });
      });
      expect(exit).toBe('SIGKILL');
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
    expect(acked).toBeGreaterThanOrEqual(300);
    const { wal, records } = await reopen();
    expect(records.length).toBeGreaterThan(acked);
    records.forEach((r, n) => {
      const meta = [r.operation, r.timestamp, r.body.length];
      expect(meta).toEqual([n % 3, BigInt(n), (n * 7919) % 200_000]);
      expect(r.body.every((b) => b === (n & 0xff))).toBe(true);
    });
    await wal.close();
  });

  it('measures 1 MiB appends with fsync on', async () => {
    // Reported, not asserted tightly: throughput depends on the disk. The floor catches a log
    // that, say, fdatasyncs once per byte range or copies bodies many times.
    const { wal } = await open(() => undefined);
    const body = crypto.randomBytes(8189 * 128);
    const count = 100;
    const t0 = performance.now();
    for (let i = 0; i < count; i++) await wal.append({ operation: 1, timestamp: BigInt(i), body });
    const sequentialS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        wal.append({ operation: 1, timestamp: BigInt(count + i), body }),
      ),
    );
    const groupedS = (performance.now() - t1) / 1000;
    const mb = (count * body.length) / 1e6;
    console.log(
      `wal 1 MiB appends, fsync on: one at a time ${(count / sequentialS).toFixed(0)} records/s ` +
        `(${(mb / sequentialS).toFixed(0)} MB/s); ${count} concurrent ` +
        `${(count / groupedS).toFixed(0)} records/s (${(mb / groupedS).toFixed(0)} MB/s)`,
    );
    expect(count / sequentialS).toBeGreaterThan(5);
    await wal.close();
  });
});

function flipByte(offset: number): void {
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, offset);
  b[0] = b[0]! ^ 0xff;
  fs.writeSync(fd, b, 0, 1, offset);
  fs.closeSync(fd);
}
