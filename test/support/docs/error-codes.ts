/**
 * Every error code the API can answer with, and its HTTP statuses, read from the code itself
 * (TypeScript's compiler over bridge/src, and nginx's own error pages), never listed by hand:
 *
 * - code tables: a `*_ERRORS` or `*_ERROR_HTTP` object whose keys are codes and whose values are a
 *   status or `{httpStatus, ...}` (journal, account, edge and connection errors);
 * - `new ApiError(status, code, ...)`: the statuses and codes are the literal types of the
 *   arguments, so a code passed through a variable counts when its type names the codes;
 * - objects pairing a `code` with a `status`/`httpStatus` (the ledger error mapping);
 * - error bodies written directly, `{error: {code, ...}}`, with the call's status argument;
 * - nginx's error pages (`return <status> '{"error":{"code":...}}'`).
 *
 * A site whose status and codes are both several (`new ApiError(a ? 413 : 400, code)`) gives its
 * codes but no status: the code's statuses must then come from another source. A site whose code
 * has no literal type cannot be read and is reported, except the pass-through sites listed below.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
const SCANNED = 'bridge/src';
const NGINX_CONFIGS = ['infra/lib/nginx.sh', 'infra/nginx/production.conf'];

/**
 * Sites that answer a code they did not choose (it was chosen where it is collected): file → how
 * many such sites, and why. A further unreadable site in the file is reported.
 */
const PASS_THROUGH: Record<string, { sites: number; why: string }> = {
  'bridge/src/http/error-mapping.ts': {
    sites: 1,
    why: 'answers the codes of its LEDGER_ERRORS table, collected from the table',
  },
};

export interface CodeStatuses {
  /** code → the statuses it is answered with. */
  codes: Map<string, Set<number>>;
  /** code → where it was found (the first site), for messages. */
  where: Map<string, string>;
  /** Sites whose code could not be read. */
  unreadable: string[];
}

function files(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) return files(rel);
    return entry.name.endsWith('.ts') ? [path.join(ROOT, rel)] : [];
  });
}

function program(): ts.Program {
  const configFile = ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, ROOT);
  return ts.createProgram(files(SCANNED), { ...parsed.options, noEmit: true });
}

/** The literal values a type stands for; null when any member is not a literal. */
function literals(type: ts.Type): Array<string | number> | null {
  const members = type.isUnion() ? type.types : [type];
  const out: Array<string | number> = [];
  for (const member of members) {
    // A site's null is no code it answers with (a narrowed-away case).
    if (member.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined)) continue;
    if (member.isStringLiteral() || member.isNumberLiteral()) out.push(member.value);
    else return null;
  }
  return out;
}

function unwrap(node: ts.Expression): ts.Expression {
  let current = node;
  while (
    ts.isAsExpression(current) ||
    ts.isSatisfiesExpression(current) ||
    ts.isParenthesizedExpression(current)
  ) {
    current = current.expression;
  }
  return current;
}

function property(object: ts.ObjectLiteralExpression, name: string): ts.Expression | null {
  for (const prop of object.properties) {
    if (prop.name === undefined || !ts.isIdentifier(prop.name) || prop.name.text !== name) continue;
    if (ts.isPropertyAssignment(prop)) return prop.initializer;
    if (ts.isShorthandPropertyAssignment(prop)) return prop.name;
  }
  return null;
}

class Collector {
  readonly found: CodeStatuses = { codes: new Map(), where: new Map(), unreadable: [] };
  private readonly passedThrough = new Map<string, number>();
  private readonly checker: ts.TypeChecker;

  constructor(private readonly prog: ts.Program) {
    this.checker = prog.getTypeChecker();
  }

  add(code: string, statuses: readonly number[], where: string): void {
    if (!this.found.codes.has(code)) this.found.codes.set(code, new Set());
    for (const status of statuses) this.found.codes.get(code)!.add(status);
    if (!this.found.where.has(code)) this.found.where.set(code, where);
  }

  /** Codes and statuses of one site; statuses only when unambiguous. */
  site(codeExpr: ts.Expression, statusExpr: ts.Expression | null, node: ts.Node): void {
    const where = this.describe(node);
    const codes = literals(this.typeOf(codeExpr));
    if (codes === null || codes.some((c) => typeof c !== 'string')) {
      const file = this.file(node);
      const passed = (this.passedThrough.get(file) ?? 0) + 1;
      this.passedThrough.set(file, passed);
      if (passed > (PASS_THROUGH[file]?.sites ?? 0)) this.found.unreadable.push(where);
      return;
    }
    const statuses = statusExpr === null ? [] : (literals(this.typeOf(statusExpr)) ?? []);
    const numeric = statuses.filter((s): s is number => typeof s === 'number');
    const paired = codes.length === 1 || numeric.length === 1 ? numeric : [];
    for (const code of codes) this.add(code as string, paired, where);
  }

  scan(): CodeStatuses {
    for (const source of this.prog.getSourceFiles()) {
      if (!source.fileName.startsWith(path.join(ROOT, SCANNED))) continue;
      const visit = (node: ts.Node): void => {
        this.visit(node);
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    return this.found;
  }

  private visit(node: ts.Node): void {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
      if (/_ERRORS$|_ERROR_HTTP$/.test(node.name.text)) this.table(node.initializer);
    }
    if (ts.isNewExpression(node) && node.expression.getText() === 'ApiError') {
      const [status, code] = node.arguments ?? [];
      if (code !== undefined) this.site(code, status ?? null, node);
    }
    if (ts.isObjectLiteralExpression(node)) this.objectSite(node);
  }

  private table(initializer: ts.Expression): void {
    const object = unwrap(initializer);
    if (!ts.isObjectLiteralExpression(object)) return;
    for (const prop of object.properties) {
      if (!ts.isPropertyAssignment(prop)) continue;
      const value = unwrap(prop.initializer);
      const status = ts.isObjectLiteralExpression(value) ? property(value, 'httpStatus') : value;
      if (status === null || !ts.isNumericLiteral(status)) continue;
      this.add(
        prop.name.getText().replace(/['"]/g, ''),
        [Number(status.text)],
        this.describe(prop),
      );
    }
  }

  private objectSite(object: ts.ObjectLiteralExpression): void {
    const code = property(object, 'code');
    const status = property(object, 'status') ?? property(object, 'httpStatus');
    if (code !== null && status !== null) {
      this.site(code, status, object);
      return;
    }
    const error = property(object, 'error');
    const inner = error === null ? null : unwrap(error);
    if (inner === null || !ts.isObjectLiteralExpression(inner)) return;
    const innerCode = property(inner, 'code');
    if (innerCode === null) return;
    // The status is the call's numeric argument: answer(503, {error: ...}), sendJson(res, 404, …).
    const call = object.parent;
    const statusArg = ts.isCallExpression(call)
      ? (call.arguments.find((arg) => ts.isNumericLiteral(arg)) ?? null)
      : null;
    this.site(innerCode, statusArg, object);
  }

  /** An expression's own type; for `{code}` shorthand, the variable's (the property's widens). */
  private typeOf(expr: ts.Expression): ts.Type {
    if (ts.isShorthandPropertyAssignment(expr.parent)) {
      const symbol = this.checker.getShorthandAssignmentValueSymbol(expr.parent);
      if (symbol !== undefined) return this.checker.getTypeOfSymbolAtLocation(symbol, expr);
    }
    return this.checker.getTypeAtLocation(expr);
  }

  private file(node: ts.Node): string {
    return path.relative(ROOT, node.getSourceFile().fileName);
  }

  private describe(node: ts.Node): string {
    const source = node.getSourceFile();
    const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
    return `${this.file(node)}:${line}`;
  }
}

/** nginx's own error pages: `return <status> '{"error":{"code":"…"}}'`. */
function nginxPages(collector: Collector): void {
  for (const file of NGINX_CONFIGS) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    for (const match of text.matchAll(/return (\d{3}) '(\{"error":[^']*)';/g)) {
      const body = JSON.parse(match[2]!) as { error: { code: string } };
      collector.add(body.error.code, [Number(match[1])], file);
    }
  }
}

export function collectErrorCodes(): CodeStatuses {
  const collector = new Collector(program());
  collector.scan();
  nginxPages(collector);
  return collector.found;
}

/** The README's error table (the one after "### Error codes"): code → statuses. */
export function readmeErrorTable(readme: string): Map<string, Set<number>> {
  const start = readme.indexOf('\n### Error codes\n');
  if (start === -1) throw new Error('README has no "### Error codes" section');
  const rows = new Map<string, Set<number>>();
  const lines = readme.slice(start).split('\n').slice(2);
  const table = lines.slice(lines.findIndex((line) => line.startsWith('|')));
  for (const line of table) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').map((cell) => cell.trim());
    const code = /^`([a-z0-9_]+)`$/.exec(cells[1] ?? '')?.[1];
    if (code === undefined) continue; // the header and its rule
    const statuses = (cells[2] ?? '').split(/\s*,\s*/).map(Number);
    rows.set(code, new Set(statuses));
  }
  return rows;
}
