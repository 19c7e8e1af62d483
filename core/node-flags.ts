/**
 * V8 flags the bridge process runs with, wherever it is started (infra/start-local.ts, the
 * benchmarks' and chaos runs' bridges, NODE_OPTIONS in docker-compose.production.yml).
 *
 * `--max-semi-space-size=64` (MB; the default is 16 on 64-bit): a bulk request keeps ~1,000
 * journals' objects alive across a ledger round trip and a Kafka acknowledgement, longer than a
 * young-generation cycle at the default size, so they were promoted and collected again by the
 * old generation. Measured on the bulk path (npm run bench with BENCH_SCENARIOS=bulk, 3 rounds
 * alternating, same run): about 16% more journals per second of the bridge's CPU (13.0k vs 11.2k)
 * for up to ~150 MB more resident memory.
 */
export const BRIDGE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
