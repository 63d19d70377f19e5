/**
 * The error code table and docs/errors.md must not drift apart (fastify's
 * test/internals/errors.test.js), and BerthError must carry what the three renderings need.
 */
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { BerthError, errorTable, toBerthError, type ErrorCode } from '../../../server/core/index.js';
import { errorAreas, isBerthError } from '../../../server/core/errors.js';
import { tableCells as cells } from '../../helpers/markdown.js';

const docUrl = new URL('../../../docs/errors.md', import.meta.url);

interface DocRow {
  code: string;
  status: string;
  description: string;
  hint: string;
}

async function docRows(): Promise<DocRow[]> {
  const text = await readFile(docUrl, 'utf8');
  const lines = text.split('\n').filter((l) => l.trim().startsWith('|'));
  const [header, separator, ...body] = lines;
  if (header === undefined || separator === undefined) throw new Error('docs/errors.md has no table');
  if (cells(header).join(' | ') !== 'Code | HTTP | Description | How to solve') {
    throw new Error(`docs/errors.md table header is ${JSON.stringify(header)}`);
  }
  return body.map((line) => {
    const c = cells(line);
    if (c.length !== 4) throw new Error(`docs/errors.md row does not have 4 cells: ${line}`);
    const [code, status, description, hint] = c as [string, string, string, string];
    return { code: code.replace(/^`(.*)`$/, '$1'), status, description, hint };
  });
}

const codes = Object.keys(errorTable) as ErrorCode[];

test('docs/errors.md lists exactly the codes of errorTable', async (t) => {
  const documented = (await docRows()).map((r) => r.code);
  t.deepEqual(
    documented.filter((c) => !(c in errorTable)),
    [],
    'stale codes in docs/errors.md',
  );
  t.deepEqual(
    codes.filter((c) => !documented.includes(c)),
    [],
    'codes missing from docs/errors.md',
  );
  t.deepEqual(
    documented.filter((c, i) => documented.indexOf(c) !== i),
    [],
    'codes listed twice in docs/errors.md',
  );
});

test('docs/errors.md has the same status, description and hint as errorTable', async (t) => {
  for (const row of await docRows()) {
    if (!(row.code in errorTable)) continue; // reported by the test above
    const spec = errorTable[row.code as ErrorCode];
    t.is(row.status, String(spec.status), `${row.code}: HTTP status`);
    t.is(row.description, spec.description, `${row.code}: description`);
    t.is(row.hint, spec.hint, `${row.code}: how to solve`);
  }
});

const codePattern = /^E_[A-Z]+(_[A-Z0-9]+)+$/;

test('every code is named E_<AREA>_<WHAT>', (t) => {
  for (const code of codes) {
    t.regex(code, codePattern);
  }
});

test('every code belongs to a declared area (E_<AREA>_<WHAT>)', (t) => {
  for (const code of codes) {
    const area = Object.keys(errorAreas).find((a) => code.startsWith(`E_${a}_`));
    t.truthy(area, `${code}: no area in errorAreas`);
  }
});

test('the areas of the PaaS layer are reserved', (t) => {
  for (const area of ['APP', 'GIT', 'QUEUE', 'BUILD', 'RELEASE', 'PROXY', 'PLUGIN', 'SERVICE']) t.true(area in errorAreas, area);
});

test('every code has an HTTP error status, a description and a hint', (t) => {
  for (const code of codes) {
    const spec = errorTable[code];
    t.true(Number.isInteger(spec.status) && spec.status >= 400 && spec.status <= 599, `${code}: status ${spec.status}`);
    t.true(spec.description.trim().length > 0, `${code}: description`);
    t.true(spec.hint.trim().length > 0, `${code}: hint`);
  }
});

test('BerthError carries code, message, hint, httpStatus and cause', (t) => {
  const cause = new Error('ECONNREFUSED');
  const err = new BerthError('E_API_NOT_FOUND', 'no route GET /nope', { cause });
  t.true(err instanceof Error);
  t.true(err instanceof BerthError);
  t.true(isBerthError(err));
  t.is(err.name, 'BerthError');
  t.is(err.code, 'E_API_NOT_FOUND');
  t.is(err.message, 'no route GET /nope');
  t.is(err.hint, errorTable.E_API_NOT_FOUND.hint);
  t.is(err.httpStatus, 404);
  t.is(err.cause, cause);
  t.deepEqual(err.details, {});
  t.true(typeof err.stack === 'string' && err.stack.includes('no route GET /nope'));
});

test('BerthError without a cause has no cause property', (t) => {
  const err = new BerthError('E_BERTH_INTERNAL', 'boom');
  t.false('cause' in err);
  t.is(err.httpStatus, 500);
});

test('a hint given to BerthError overrides the table hint', (t) => {
  const err = new BerthError('E_EXEC_NOT_FOUND', 'nginx is not installed', { hint: 'Install it: apt-get install -y nginx' });
  t.is(err.hint, 'Install it: apt-get install -y nginx');
});

test('httpStatus follows the table for every code', (t) => {
  for (const code of codes) t.is(new BerthError(code, 'x').httpStatus, errorTable[code].status, code);
});

test('toJSON is {error: {code, message, hint}} without details', (t) => {
  const err = new BerthError('E_API_UNAUTHORIZED', 'missing token');
  t.deepEqual(err.toJSON(), {
    error: { code: 'E_API_UNAUTHORIZED', message: 'missing token', hint: errorTable.E_API_UNAUTHORIZED.hint },
  });
  t.false('details' in err.toJSON().error);
  t.deepEqual(JSON.parse(JSON.stringify(err)), err.toJSON());
});

test('toJSON includes details when there are some', (t) => {
  const err = new BerthError('E_FILE_WRITE_FAILED', 'cannot write /x', { details: { path: '/x' } });
  t.deepEqual(err.toJSON(), {
    error: { code: 'E_FILE_WRITE_FAILED', message: 'cannot write /x', hint: errorTable.E_FILE_WRITE_FAILED.hint, details: { path: '/x' } },
  });
});

test('toBerthError passes BerthErrors through unchanged', (t) => {
  const err = new BerthError('E_NAME_INVALID', 'bad');
  t.is(toBerthError(err), err);
});

test('toBerthError wraps an Error into E_BERTH_INTERNAL with the error as cause', (t) => {
  const cause = new TypeError('x is undefined');
  const err = toBerthError(cause);
  t.true(err instanceof BerthError);
  t.is(err.code, 'E_BERTH_INTERNAL');
  t.is(err.message, 'x is undefined');
  t.is(err.cause, cause);
  t.is(err.httpStatus, 500);
  t.is(err.hint, errorTable.E_BERTH_INTERNAL.hint);
});

test('toBerthError wraps a thrown non-Error value into E_BERTH_INTERNAL', (t) => {
  const err = toBerthError('a thrown string');
  t.is(err.code, 'E_BERTH_INTERNAL');
  t.is(err.message, 'a thrown string');
  t.is(err.cause, 'a thrown string');
  t.false(isBerthError('a thrown string'));
  t.false(isBerthError(new Error('plain')));
});

test('toBerthError survives a thrown value that cannot be turned into a string', (t) => {
  const err = toBerthError(Object.create(null));
  t.is(err.code, 'E_BERTH_INTERNAL');
  t.is(err.message, '[object Object]');
});
