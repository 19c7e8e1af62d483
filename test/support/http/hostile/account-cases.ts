/**
 * Hostile accounts: metadata at and past its bounds (depth, keys, bytes, prototype keys, text
 * PostgreSQL would not store as given), every field's wrong types and lengths, codes the registry
 * does not know, and ids reused with other content (another asset, the name in another Unicode
 * normalisation form).
 */
import { METADATA_LIMITS } from '../../../../bridge/src/accounts/validation';
import type { RawRequest } from '../raw-client';
import { createAccount, type HostileCase, json, type World } from './world';

const CREATE = 'POST /api/accounts';
const READ = 'GET /api/accounts/:accountId';

function account(
  w: World,
  name: string,
  patch: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    accountId: w.id(`acct-${name}`),
    name,
    holderId: w.id('holder'),
    accountType: 'asset',
    asset: 'USD',
    ...patch,
  };
}

/** `levels` of nesting: `{"a":[[…]]}`, `levels` deep counting the object. */
function nested(levels: number): unknown {
  return { a: JSON.parse('['.repeat(levels - 1) + ']'.repeat(levels - 1)) };
}

const create =
  (name: string, patch: Record<string, unknown>) =>
  (w: World): RawRequest =>
    json('POST', '/api/accounts', account(w, name, patch));

const { depthMax, keysMax } = METADATA_LIMITS;

type Row = [string, Record<string, unknown>, number, string | null, string?];

const ROWS: Row[] = [
  [`metadata ${depthMax} deep`, { metadata: nested(depthMax) }, 201, null],
  [
    `metadata ${depthMax + 1} deep`,
    { metadata: nested(depthMax + 1) },
    400,
    'json_too_deep',
    `metadata.a${'[0]'.repeat(depthMax - 1)}`,
  ],
  [
    `metadata of ${keysMax} keys and items`,
    { metadata: { list: Array(keysMax - 1).fill(0) } },
    201,
    null,
  ],
  [
    `metadata of ${keysMax + 1} keys and items`,
    { metadata: { list: Array(keysMax).fill(0) } },
    400,
    'json_too_many_keys',
    'metadata.list',
  ],
  [
    'metadata of 4,097 bytes',
    { metadata: { pad: 'x'.repeat(4_087) } },
    400,
    'invalid_input',
    'metadata',
  ],
  ['metadata an array', { metadata: [1] }, 400, 'invalid_input', 'metadata'],
  ['metadata a string', { metadata: 'x' }, 400, 'invalid_input', 'metadata'],
  ['a metadata key with U+0000', { metadata: { 'a\u0000b': 1 } }, 400, 'invalid_input', 'metadata'],
  [
    'a metadata value with a lone surrogate',
    { metadata: { a: ['\ud800'] } },
    400,
    'invalid_input',
    'metadata',
  ],
  ['a metadata key of 65 characters', { metadata: { ['k'.repeat(65)]: 1 } }, 400, 'invalid_input'],
  ['an empty metadata key', { metadata: { '': 1 } }, 400, 'invalid_input'],
  [
    'metadata numbers at the edge of doubles',
    { metadata: { max: 1.7976931348623157e308, tiny: 5e-324, neg0: -0 } },
    201,
    null,
  ],
  ['a name with U+0000', { name: 'a\u0000b' }, 400, 'invalid_input', 'name'],
  ['a name with a lone low surrogate', { name: '\udc00' }, 400, 'invalid_input', 'name'],
  ['a name of 201 characters', { name: 'n'.repeat(201) }, 400, 'invalid_input', 'name'],
  ['an empty name', { name: '' }, 400, 'invalid_input', 'name'],
  ['a name that is a number', { name: 7 }, 400, 'invalid_input', 'name'],
  [
    'a name with RTL override and zero-width joiner',
    { name: '\u202Etxt.exe\u202C a\u200Db' },
    201,
    null,
  ],
  ['a holderId with U+0000', { holderId: '\u0000' }, 400, 'invalid_input', 'holderId'],
  ['a holderId of 129 characters', { holderId: 'h'.repeat(129) }, 400, 'invalid_input', 'holderId'],
  ['an accountId with a space', { accountId: 'a b' }, 400, 'invalid_input', 'accountId'],
  [
    'an accountId of 129 characters',
    { accountId: 'a'.repeat(129) },
    400,
    'invalid_input',
    'accountId',
  ],
  [
    'an accountId with a Cyrillic homoglyph',
    { accountId: 'c\u0430sh' },
    400,
    'invalid_input',
    'accountId',
  ],
  ['an accountId with a path', { accountId: '../etc/passwd' }, 400, 'invalid_input', 'accountId'],
  ['an unknown account type', { accountType: 'bogus' }, 422, 'unknown_account_type'],
  [
    'an account type with SQL in it',
    { accountType: "asset'--" },
    400,
    'invalid_input',
    'accountType',
  ],
  ['an unknown asset', { asset: 'XYZ' }, 422, 'unknown_asset'],
  ['an asset in lower case', { asset: 'usd' }, 422, 'unknown_asset'],
  ['an asset of 33 characters', { asset: 'A'.repeat(33) }, 400, 'invalid_input', 'asset'],
  ['an unknown flag', { flags: { admin: true } }, 400, 'invalid_input', 'flags.admin'],
  ['a flag that is a string', { flags: { history: 'yes' } }, 400, 'invalid_input', 'flags.history'],
  ['flags an array', { flags: [true] }, 400, 'invalid_input', 'flags'],
  ['an unknown field', { balance: 1_000_000 }, 400, 'invalid_input', 'balance'],
];

export const ACCOUNT_CASES: HostileCase[] = [
  ...ROWS.map(([name, patch, status, code, field], i): HostileCase => ({
    name: `${CREATE}: ${name}`,
    route: CREATE,
    request: create(`row-${i}`, patch),
    status,
    code,
    field,
  })),
  {
    name: `${CREATE}: the body an array`,
    route: CREATE,
    request: () => json('POST', '/api/accounts', []),
    status: 400,
    code: 'invalid_input',
  },
  {
    name: `${CREATE}: the same account again`,
    route: CREATE,
    setup: (w) => createAccount(w, account(w, 'again')).then(() => {}),
    request: create('again', {}),
    status: 200,
    code: null,
  },
  {
    name: `${CREATE}: the same id with another asset`,
    route: CREATE,
    setup: (w) => createAccount(w, account(w, 'asset')).then(() => {}),
    request: create('asset', { asset: 'EUR' }),
    status: 409,
    code: 'account_conflict',
    field: 'asset',
  },
  {
    name: `${CREATE}: the same id with the name in NFD instead of NFC`,
    route: CREATE,
    setup: (w) => createAccount(w, account(w, 'nfc', { name: 'Caf\u00e9' })).then(() => {}),
    request: create('nfc', { name: 'Cafe\u0301' }),
    status: 409,
    code: 'account_conflict',
    field: 'name',
  },
  {
    name: `${READ}: an account that does not exist`,
    route: READ,
    request: (w) => ({ method: 'GET', target: `/api/accounts/${w.id('nobody')}` }),
    status: 404,
    code: 'account_not_found',
    field: 'accountId',
  },
  {
    name: `${READ}: an id that only differs in case`,
    route: READ,
    request: (w) => ({ method: 'GET', target: `/api/accounts/${w.id('CASH')}` }),
    status: 404,
    code: 'account_not_found',
    field: 'accountId',
  },
];
