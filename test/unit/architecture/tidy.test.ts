/**
 * Size as a ratchet (after TigerBeetle's tidy.zig): no production function over 70 lines and no
 * production file over 400 lines, except today's offenders, listed by name in tidy-ratchet.json.
 * The list only shrinks: an entry that no longer offends fails too, so it is removed when fixed.
 * Function length is counted from its first line to its last, as a reader scrolls it.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { ROOT, sourceFiles } from '../../support/architecture/source-files';

const FUNCTION_LINES_MAX = 70;
const FILE_LINES_MAX = 400;
const RATCHET = path.join(__dirname, '..', '..', 'support', 'architecture', 'tidy-ratchet.json');

interface Ratchet {
  functions: string[];
  files: string[];
}

function lineOf(source: ts.SourceFile, position: number): number {
  return source.getLineAndCharacterOfPosition(position).line;
}

function functionName(node: ts.Node): string {
  const named = node as { name?: ts.Node };
  if (named.name !== undefined && ts.isIdentifier(named.name)) return named.name.text;
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (ts.isPropertyDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  return `<anonymous@${lineOf(node.getSourceFile(), node.getStart()) + 1}>`;
}

/** "file:name (lines)" for every function longer than the limit. */
function longFunctions(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && (node as { body?: ts.Node }).body !== undefined) {
      const lines = lineOf(source, node.getEnd()) - lineOf(source, node.getStart()) + 1;
      if (lines > FUNCTION_LINES_MAX) found.push(`${file}:${functionName(node)}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function longFiles(files: readonly string[]): string[] {
  return files.filter((file) => {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    return text.split('\n').length - (text.endsWith('\n') ? 1 : 0) > FILE_LINES_MAX;
  });
}

describe('tidy ratchet', () => {
  const files = sourceFiles();
  const ratchet = JSON.parse(fs.readFileSync(RATCHET, 'utf8')) as Ratchet;

  it(`no new function over ${FUNCTION_LINES_MAX} lines; fixed ones leave the list`, () => {
    const offenders = files.flatMap(longFunctions).sort();
    expect({ new: offenders.filter((f) => !ratchet.functions.includes(f)) }).toEqual({ new: [] });
    expect({ fixed: ratchet.functions.filter((f) => !offenders.includes(f)) }).toEqual({
      fixed: [],
    });
  });

  it(`no new file over ${FILE_LINES_MAX} lines; fixed ones leave the list`, () => {
    const offenders = longFiles(files);
    expect({ new: offenders.filter((f) => !ratchet.files.includes(f)) }).toEqual({ new: [] });
    expect({ fixed: ratchet.files.filter((f) => !offenders.includes(f)) }).toEqual({ fixed: [] });
  });
});
