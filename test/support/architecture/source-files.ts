/**
 * The production source the architecture checks read: every TypeScript file of the repository
 * outside tests, load tools, dependencies and run data, with its imports resolved to files.
 */
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Top-level folders that hold production code (tests and load tools are judged apart). */
export const PRODUCTION_ROOTS = [
  'core',
  'ledger',
  'events',
  'changefeed',
  'bridge',
  'projections',
  'infra',
  'cli',
];

const SKIPPED = new Set(['node_modules', '.run', '.tools', 'results']);

export function sourceFiles(roots: readonly string[] = PRODUCTION_ROOTS): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    if (!fs.existsSync(path.join(ROOT, dir))) return;
    for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED.has(entry.name)) walk(rel);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        out.push(rel);
      }
    }
  };
  for (const root of roots) walk(root);
  return out.sort();
}

const IMPORT = /(?:from|import|require)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;

/** The repository files `file` imports by relative path (type-only imports included). */
export function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const base = path.normalize(path.join(path.dirname(file), match[1]!));
    const target = ['', '.ts', '/index.ts'].map((ext) => base + ext).find(isFile);
    if (target !== undefined) found.push(target);
  }
  return found;
}

function isFile(rel: string): boolean {
  const full = path.join(ROOT, rel);
  return fs.existsSync(full) && fs.statSync(full).isFile();
}
