/**
 * The embedded engine's write-ahead log: append-only, checksummed, group-committed fdatasync.
 *
 * The engine appends one record per state-changing request (its operation, the timestamp the
 * state machine assigned, and the request's encoded events) and answers the client only after the
 * record is durable. On start it replays every record, in order, to rebuild its state. The log
 * knows nothing about the state machine: a record is an operation number, a timestamp and bytes.
 *
 * ## Record format (version 1; all integers little-endian)
 *
 * ```
 * offset size field
 *      0    4 magic            0x4c57424c, the bytes "LBWL"
 *      4    2 version          1
 *      6    2 header_size      48
 *      8    4 operation        the caller's operation number
 *     12    4 body_size        bytes of body, excluding padding (≤ BODY_BYTES_MAX)
 *     16    8 sequence         0, 1, 2, ... : the record's position in the log
 *     24    8 timestamp        the caller's timestamp (u64)
 *     32    8 flush_offset     file offset at which the write that carried this record began
 *     40    4 body_checksum    zlib crc32 of the body
 *     44    4 header_checksum  zlib crc32 of bytes 0..44, so a torn or garbled size is detected
 *     48    … body
 *       0..7 zero padding      so every record starts 8-byte aligned
 * ```
 *
 * There is no file header: the file is the concatenation of records, and an empty file is an
 * empty log. crc32 was measured at ~4.8 GB/s here against ~1.8 GB/s for sha256 (SHA-NI); it
 * guards against torn writes and media errors, not against an adversary.
 *
 * ## Torn tail versus corruption
 *
 * Every flush is one write followed by one fdatasync, and its appends are acknowledged only
 * after that fdatasync returns. A crash (kill -9, power loss) can therefore leave the last
 * flush partly on disk, and after a power loss not even as a prefix: the kernel may have written
 * back its pages in any order. So when replay meets a bad record (incomplete, failing a
 * checksum, out of sequence, zero-filled), it asks whether any valid record *from a later flush*
 * follows it (one whose flush_offset is beyond the bad record). If one does, the bad record's
 * flush was fdatasync'ed before that later write began, so its records were acknowledged:
 * that is corruption, and `open` throws `WalCorruptionError` naming the offset, never dropping
 * acknowledged records silently. If none does, the bad record belongs to the final flush: the
 * log is truncated there (the truncation is fsync'ed) and the cut is reported as
 * `truncatedTailBytes`. The one loss this cannot tell apart from a torn write is media
 * corruption inside the final flush after it was acknowledged; that needs a second copy.
 */
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';

export interface WalRecord {
  operation: number;
  timestamp: bigint;
  body: Buffer;
}

export interface WalOptions {
  /** fdatasync every flush. Default true; false only for tests that say so. */
  fsync: boolean;
}

export interface ReplayReport {
  /** Valid records replayed through onRecord. */
  records: number;
  /** Bytes of valid records (the log's length after any truncation). */
  bytes: number;
  /** Bytes cut from the end because the final flush was torn; 0 after a clean shutdown. */
  truncatedTailBytes: number;
}

export interface WalStats {
  /** Records appended since open. */
  appends: number;
  /** Completed flushes (one write + one fdatasync each, when fsync is on). */
  flushes: number;
  /** Bytes written since open, headers and padding included. */
  bytesWritten: number;
}

export const HEADER_SIZE = 48;
export const FORMAT_VERSION = 1;
const MAGIC = 0x4c57424c;
/** Largest body accepted. The engine's largest is 1 MiB (8189 events of 128 bytes); the limit
 *  also bounds what a garbled-but-checksummed length could make replay allocate. */
export const BODY_BYTES_MAX = 64 * 1024 * 1024;
/** A flush stops taking records past this size, bounding one write and its retained buffers. */
const FLUSH_BYTES_MAX = 32 * 1024 * 1024;
/** Bodies smaller than this are copied next to their header (fewer iovecs); larger ones are
 *  handed to writev by reference, saving a copy of each 1 MiB batch. */
const INLINE_BODY_BYTES_MAX = 16 * 1024;
/** Replay reads the file in chunks of this size (fresh buffers: bodies are views into them). */
const READ_CHUNK_BYTES = 8 * 1024 * 1024;
const ALIGN = 8;
const ZERO_PADDING = Buffer.alloc(ALIGN);
const U64_LIMIT = 1n << 64n;

/** The log holds a bad record followed by acknowledged data; `open` refuses to guess. */
export class WalCorruptionError extends Error {
  override readonly name = 'WalCorruptionError';
  constructor(
    readonly path: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`write-ahead log ${path} is corrupt at offset ${offset}: ${reason}`);
  }
}

/** append/flushed after close() began. */
export class WalClosedError extends Error {
  override readonly name = 'WalClosedError';
  constructor(readonly path: string) {
    super(`write-ahead log ${path} is closed`);
  }
}

/** A write or fdatasync failed earlier; the page cache cannot be trusted, so nothing more is
 *  accepted. Reopening the log (which replays what is on disk) is the way back. */
export class WalFailedError extends Error {
  override readonly name = 'WalFailedError';
  constructor(
    readonly path: string,
    override readonly cause: unknown,
  ) {
    super(`write-ahead log ${path} failed earlier and accepts no more appends: ${String(cause)}`);
  }
}

function padding(bodySize: number): number {
  return (ALIGN - (bodySize % ALIGN)) % ALIGN;
}

function recordSize(bodySize: number): number {
  return HEADER_SIZE + bodySize + padding(bodySize);
}

function assertRecord(record: WalRecord): void {
  const { operation, timestamp, body } = record;
  if (typeof operation !== 'number' || operation >>> 0 !== operation) {
    throw new RangeError(`WalRecord.operation must be an integer in [0, 2^32), got ${operation}`);
  }
  if (typeof timestamp !== 'bigint' || timestamp < 0n || timestamp >= U64_LIMIT) {
    throw new RangeError(`WalRecord.timestamp must be a u64 bigint, got ${String(timestamp)}`);
  }
  if (!(body instanceof Uint8Array) || body.byteLength > BODY_BYTES_MAX) {
    throw new RangeError(`WalRecord.body must be a Buffer of at most ${BODY_BYTES_MAX} bytes`);
  }
}

// --- header encoding ---------------------------------------------------------------------------

interface Header {
  operation: number;
  bodySize: number;
  sequence: bigint;
  timestamp: bigint;
  flushOffset: number;
  bodyChecksum: number;
}

function writeHeader(buf: Buffer, at: number, h: Header): void {
  const dv = new DataView(buf.buffer, buf.byteOffset + at, HEADER_SIZE);
  dv.setUint32(0, MAGIC, true);
  dv.setUint16(4, FORMAT_VERSION, true);
  dv.setUint16(6, HEADER_SIZE, true);
  dv.setUint32(8, h.operation, true);
  dv.setUint32(12, h.bodySize, true);
  dv.setBigUint64(16, h.sequence, true);
  dv.setBigUint64(24, h.timestamp, true);
  dv.setBigUint64(32, BigInt(h.flushOffset), true);
  dv.setUint32(40, h.bodyChecksum, true);
  dv.setUint32(44, zlib.crc32(buf.subarray(at, at + 44)), true);
}

/** The header at `bytes[0..48)`, or why it is not one. Checks only what the header alone shows. */
function readHeader(bytes: Buffer): Header | string {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  if (dv.getUint32(0, true) !== MAGIC) return 'bad magic';
  if (dv.getUint32(44, true) !== zlib.crc32(bytes.subarray(0, 44))) return 'bad header checksum';
  const version = dv.getUint16(4, true);
  const headerSize = dv.getUint16(6, true);
  if (version !== FORMAT_VERSION || headerSize !== HEADER_SIZE) {
    return `unsupported format version ${version} (header size ${headerSize})`;
  }
  const bodySize = dv.getUint32(12, true);
  if (bodySize > BODY_BYTES_MAX) return `body size ${bodySize} exceeds ${BODY_BYTES_MAX}`;
  return {
    operation: dv.getUint32(8, true),
    bodySize,
    sequence: dv.getBigUint64(16, true),
    timestamp: dv.getBigUint64(24, true),
    flushOffset: Number(dv.getBigUint64(32, true)),
    bodyChecksum: dv.getUint32(40, true),
  };
}

/** Why the body and padding after a valid header are bad, or null. */
function checkBody(header: Header, bodyAndPadding: Buffer): string | null {
  const body = bodyAndPadding.subarray(0, header.bodySize);
  if (zlib.crc32(body) !== header.bodyChecksum) return 'bad body checksum';
  for (let i = header.bodySize; i < bodyAndPadding.length; i++) {
    if (bodyAndPadding[i] !== 0) return 'non-zero padding';
  }
  return null;
}

// --- replay ------------------------------------------------------------------------------------

/** Positioned reads through a window of fresh buffers (never reused: bodies are views). */
class FileReader {
  private chunk = Buffer.alloc(0);
  private chunkStart = 0;

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  /** Bytes [offset, offset + length), or null if the file ends first. */
  async read(offset: number, length: number): Promise<Buffer | null> {
    if (offset + length > this.size) return null;
    const end = this.chunkStart + this.chunk.length;
    if (offset >= this.chunkStart && offset + length <= end) {
      return this.chunk.subarray(offset - this.chunkStart, offset - this.chunkStart + length);
    }
    const want = Math.min(Math.max(length, READ_CHUNK_BYTES), this.size - offset);
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.fh.read(buf, got, want - got, offset + got);
      if (bytesRead === 0) throw new Error(`file shrank while replaying at ${offset + got}`);
      got += bytesRead;
    }
    this.chunk = buf;
    this.chunkStart = offset;
    return buf.subarray(0, length);
  }
}

interface Scan {
  records: number;
  /** Offset just past the last valid record. */
  end: number;
  nextSequence: bigint;
}

type RecordAt = { header: Header; body: Buffer; size: number } | { bad: string };

async function recordAt(reader: FileReader, offset: number): Promise<RecordAt> {
  const headerBytes = await reader.read(offset, HEADER_SIZE);
  if (headerBytes === null) return { bad: 'incomplete header' };
  const header = readHeader(headerBytes);
  if (typeof header === 'string') return { bad: header };
  const size = recordSize(header.bodySize);
  const rest = await reader.read(offset + HEADER_SIZE, size - HEADER_SIZE);
  if (rest === null) return { bad: `incomplete record (${size} bytes)` };
  const bad = checkBody(header, rest);
  if (bad !== null) return { bad };
  return { header, body: rest.subarray(0, header.bodySize), size };
}

async function replayRecords(
  reader: FileReader,
  filePath: string,
  onRecord: (r: WalRecord) => void,
): Promise<Scan> {
  let offset = 0;
  let sequence = 0n;
  let flushOffset = 0;
  while (offset < reader.size) {
    const r = await recordAt(reader, offset);
    let bad = 'bad' in r ? r.bad : null;
    if (!('bad' in r)) {
      const h = r.header;
      // A record either opens a flush (flush_offset is its own offset) or continues the flush
      // of the record before it.
      if (h.sequence !== sequence) bad = `sequence ${h.sequence}, expected ${sequence}`;
      else if (h.flushOffset !== offset && h.flushOffset !== flushOffset) {
        bad = `flush offset ${h.flushOffset} does not match its position`;
      }
    }
    if (bad !== null) {
      const later = await findLaterFlush(reader, offset);
      if (later === null) break;
      throw new WalCorruptionError(
        filePath,
        offset,
        `${bad}, yet a later flush's valid record follows at offset ${later}, ` +
          'so this record was acknowledged',
      );
    }
    const { header, body, size } = r as Exclude<RecordAt, { bad: string }>;
    onRecord({ operation: header.operation, timestamp: header.timestamp, body });
    flushOffset = header.flushOffset;
    sequence++;
    offset += size;
  }
  return { records: Number(sequence), end: offset, nextSequence: sequence };
}

/**
 * Offset of the first valid record after `badOffset` that a later flush wrote (its flush began
 * after `badOffset`), or null. Records are 8-byte aligned, so only aligned offsets are tried; a
 * valid record of the bad record's own flush is stepped over whole, so that bytes inside its
 * body are never mistaken for a record.
 */
async function findLaterFlush(reader: FileReader, badOffset: number): Promise<number | null> {
  let at = badOffset + ALIGN;
  scan: while (at + HEADER_SIZE <= reader.size) {
    const span = Math.min(READ_CHUNK_BYTES, reader.size - at);
    const bytes = (await reader.read(at, span))!;
    // Scan the chunk synchronously; only a matching magic costs a full record check.
    let i = 0;
    for (; i + HEADER_SIZE <= span; i += ALIGN) {
      if (bytes.readUInt32LE(i) !== MAGIC) continue;
      const r = await recordAt(reader, at + i);
      if ('bad' in r) continue;
      const flushOffset = r.header.flushOffset;
      if (flushOffset > badOffset && flushOffset <= at + i) return at + i;
      at += i + r.size;
      continue scan;
    }
    at += i;
  }
  return null;
}

// --- the log -----------------------------------------------------------------------------------

interface Pending {
  operation: number;
  timestamp: bigint;
  body: Uint8Array;
  bodyChecksum: number;
  sequence: bigint;
}

/** Records that go to disk in one write + one fdatasync, sharing one promise. */
class Batch {
  readonly records: Pending[] = [];
  bytes = 0;
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (e: unknown) => void;

  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

export class WriteAheadLog {
  readonly stats: WalStats = { appends: 0, flushes: 0, bytesWritten: 0 };
  /** Batches not yet durable; the first may be in flight. Later ones take new appends. */
  private readonly queue: Batch[] = [];
  private writing = false;
  private inFlight: Batch | null = null;
  private closing: Promise<void> | null = null;
  private failure: unknown = null;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly options: WalOptions,
    /** Where the next write goes: the file is written at tracked offsets, not O_APPEND. */
    private fileSize: number,
    private nextSequence: bigint,
  ) {}

  /**
   * Open (creating if absent) the log at `filePath`; replays every valid record through
   * onRecord in order before returning; a torn tail is truncated (and reported); corruption
   * that is not a torn tail throws WalCorruptionError naming the offset. If open throws after
   * onRecord ran, whatever onRecord built must be discarded.
   */
  static async open(
    filePath: string,
    onRecord: (r: WalRecord) => void,
    options: Partial<WalOptions> = {},
  ): Promise<{ wal: WriteAheadLog; report: ReplayReport }> {
    const resolved: WalOptions = { fsync: options.fsync ?? true };
    const { fh, created } = await openOrCreate(filePath, resolved.fsync);
    try {
      const { size } = await fh.stat();
      const scan = await replayRecords(new FileReader(fh, size), filePath, onRecord);
      const truncatedTailBytes = size - scan.end;
      if (truncatedTailBytes > 0) await fh.truncate(scan.end);
      // Also makes durable whatever an earlier process wrote but never synced, so that what
      // was just replayed (and may now be served) cannot vanish in a later power loss.
      if (resolved.fsync && !created) await fh.sync();
      const wal = new WriteAheadLog(filePath, fh, resolved, scan.end, scan.nextSequence);
      return { wal, report: { records: scan.records, bytes: scan.end, truncatedTailBytes } };
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Resolves once the record is durable (written and fdatasync'ed). Appends issued while a
   *  flush is in progress are group-committed by the next flush (one write + one fdatasync).
   *  The body must not be modified until the promise settles (it is written by reference). */
  append(record: WalRecord): Promise<void> {
    if (this.closing !== null) return Promise.reject(new WalClosedError(this.path));
    if (this.failure !== null) return Promise.reject(new WalFailedError(this.path, this.failure));
    assertRecord(record);
    const { body } = record;
    let batch = this.queue[this.queue.length - 1];
    // The batch in flight takes no more records; a full one neither.
    if (batch === undefined || batch === this.inFlight || batch.bytes >= FLUSH_BYTES_MAX) {
      batch = new Batch();
      this.queue.push(batch);
    }
    batch.records.push({
      operation: record.operation,
      timestamp: record.timestamp,
      body,
      bodyChecksum: zlib.crc32(body),
      sequence: this.nextSequence++,
    });
    batch.bytes += recordSize(body.byteLength);
    this.stats.appends++;
    if (!this.writing) {
      this.writing = true;
      // Start on the next microtask so that appends issued in the same tick share the flush.
      queueMicrotask(() => void this.writeLoop());
    }
    return batch.done;
  }

  /** Resolves once every record appended so far is durable. */
  flushed(): Promise<void> {
    if (this.failure !== null) return Promise.reject(new WalFailedError(this.path, this.failure));
    const last = this.queue[this.queue.length - 1];
    return last === undefined ? Promise.resolve() : last.done;
  }

  /** Stops taking appends, waits until everything appended before is durable, closes the file.
   *  Resolves even if the log had failed (each append already reported that). */
  close(): Promise<void> {
    if (this.closing === null) {
      const last = this.queue[this.queue.length - 1];
      this.closing = (last === undefined ? Promise.resolve() : last.done)
        .catch(() => undefined)
        .then(() => this.fh.close());
    }
    return this.closing;
  }

  private async writeLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue[0]!;
      this.inFlight = batch;
      try {
        await this.writeBatch(batch);
      } catch (e) {
        this.fail(e);
        return;
      }
      this.inFlight = null;
      this.queue.shift();
      this.stats.flushes++;
      batch.resolve();
    }
    this.writing = false;
  }

  /** After a failed write or fdatasync nothing is trusted: reject everything, accept nothing. */
  private fail(e: unknown): void {
    this.failure = e;
    this.writing = false;
    this.inFlight = null;
    for (const batch of this.queue.splice(0)) batch.reject(e);
  }

  private async writeBatch(batch: Batch): Promise<void> {
    const flushOffset = this.fileSize;
    const parts = this.encode(batch, flushOffset);
    const { bytesWritten } = await this.fh.writev(parts, flushOffset);
    if (bytesWritten !== batch.bytes) {
      throw new Error(`short write: ${bytesWritten} of ${batch.bytes} bytes at ${flushOffset}`);
    }
    if (this.options.fsync) await this.fh.datasync();
    this.fileSize += batch.bytes;
    this.stats.bytesWritten += batch.bytes;
  }

  /** The batch as writev buffers: headers, small bodies and padding coalesced; large bodies by
   *  reference. */
  private encode(batch: Batch, flushOffset: number): Uint8Array[] {
    let inlineBytes = 0;
    for (const r of batch.records) {
      const n = r.body.byteLength;
      inlineBytes += HEADER_SIZE + padding(n) + (n < INLINE_BODY_BYTES_MAX ? n : 0);
    }
    const inline = Buffer.allocUnsafe(inlineBytes);
    const parts: Uint8Array[] = [];
    let start = 0;
    let at = 0;
    for (const r of batch.records) {
      const bodySize = r.body.byteLength;
      writeHeader(inline, at, { ...r, bodySize, flushOffset });
      at += HEADER_SIZE;
      if (bodySize < INLINE_BODY_BYTES_MAX) {
        inline.set(r.body, at);
        at += bodySize;
      } else {
        parts.push(inline.subarray(start, at), r.body);
        start = at;
      }
      const pad = padding(bodySize);
      inline.set(ZERO_PADDING.subarray(0, pad), at);
      at += pad;
    }
    if (at > start) parts.push(inline.subarray(start, at));
    return parts;
  }
}

/** Opens the log read-write; a new file's directory entry is fsync'ed so the file survives. */
async function openOrCreate(
  filePath: string,
  fsync: boolean,
): Promise<{ fh: FileHandle; created: boolean }> {
  try {
    return { fh: await fs.promises.open(filePath, 'r+'), created: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const { O_RDWR, O_CREAT, O_EXCL } = fs.constants;
  const fh = await fs.promises.open(filePath, O_RDWR | O_CREAT | O_EXCL, 0o644);
  if (fsync) {
    const dir = await fs.promises.open(path.dirname(path.resolve(filePath)), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
  return { fh, created: true };
}
