/**
 * Dependencies run one way: each top-level room may import only the rooms listed for it below,
 * nothing in production imports load/ or test/, and inside a room no two parts (a subfolder, or
 * a file at the room's top) import each other in a cycle. Read from the import statements of every
 * production file; a new edge either fits the table or the table changes in review.
 */
import path from 'node:path';
import { importsOf, sourceFiles } from '../../support/architecture/source-files';

/** Room → the rooms it may import. Composition roots (cli, infra) sit on top. */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  ledger: ['core'],
  events: ['core', 'ledger'],
  // The change relay (RabbitMQ → Kafka) and the engine's CDC job (engine → RabbitMQ, a client of
  // the engine like `tigerbeetle amqp` is of a cluster): processes of their own.
  changefeed: ['core', 'ledger', 'events'],
  bridge: ['core', 'ledger', 'events'],
  projections: ['core', 'ledger', 'events'],
  // The local stack's launcher prints npm start's development API key (bridge/src/access).
  infra: ['core', 'ledger', 'changefeed', 'bridge'],
  cli: ['core', 'ledger', 'events', 'changefeed', 'projections', 'bridge', 'infra'],
};

/** The room a file is in, and the part of that room (subfolder or top-level file). */
function place(file: string): { room: string; part: string } {
  const parts = file.split(path.sep);
  const rootDepth = parts[1] === 'src' ? 2 : 1; // bridge/src/…, projections/src/…
  const room = parts[0]!;
  const part = parts.slice(0, rootDepth + 1).join('/');
  return { room, part };
}

const files = sourceFiles();
const edges = files.flatMap((from) => importsOf(from).map((to) => ({ from, to })));

it('each room imports only the rooms it may', () => {
  const wrong = edges
    .filter(({ from, to }) => {
      const a = place(from).room;
      const b = place(to).room;
      return a !== b && !(ALLOWED[a] ?? []).includes(b);
    })
    .map(({ from, to }) => `${from} → ${to}`);
  expect(wrong).toEqual([]);
});

it('no part of a room imports back a part that imports it (no cycles)', () => {
  const graph = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    const a = place(from);
    const b = place(to);
    if (a.room !== b.room || a.part === b.part) continue;
    if (!graph.has(a.part)) graph.set(a.part, new Set());
    graph.get(a.part)!.add(b.part);
  }
  expect(cycles(graph)).toEqual([]);
});

/** Every cycle found by depth-first search, each as "a → b → … → a". */
function cycles(graph: Map<string, Set<string>>): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') {
        found.push([...stack.slice(stack.indexOf(next)), next].join(' → '));
      } else if (state.get(next) === undefined) {
        visit(next);
      }
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}
