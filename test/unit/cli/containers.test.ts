import test from 'ava';
import { constants } from 'node:os';
import { failureStatus } from '../../../server/cli/commands/container/status.js';
import { BerthError, cannotRunStatus, errorTable, type ErrorCode } from '../../../server/core/index.js';

const { ENOENT, EACCES, ENOEXEC, EADDRINUSE } = constants.errno;

test("a failure before the program ran: 127 not found, 126 not executable, else 125 (Docker's statuses)", (t) => {
  const startFailed = 'E_CONTAINER_START_FAILED' as ErrorCode;
  t.true(startFailed in errorTable, "the API's start-failure code exists");
  // As the daemon sends them: the runtime's failing call (op, errno) in the details.
  t.is(failureStatus(new BerthError(startFailed, 'exec no-such-program: No such file or directory', { details: { op: 'exec', errno: ENOENT } })), 127);
  t.is(failureStatus(new BerthError(startFailed, 'exec /etc/passwd: Permission denied', { details: { op: 'exec', errno: EACCES } })), 126);
  t.is(failureStatus(new BerthError(startFailed, 'host port 8080 is taken', { details: { op: 'bind', errno: EADDRINUSE } })), 125);
  t.is(failureStatus(new BerthError('E_IMAGE_NOT_FOUND', 'no image nosuch:1 in the store')), 125);
  t.is(failureStatus(new BerthError('E_CLI_UNREACHABLE', 'cannot reach the Berth API: not found')), 125);
});

test("126/127 come from the failing call's errno, never from the words of the message", (t) => {
  t.is(cannotRunStatus({ op: 'exec', errno: ENOENT }), 127);
  t.is(cannotRunStatus({ op: 'exec', errno: 'ENOENT' }), 127, "the errno's name works too");
  t.is(cannotRunStatus({ op: 'exec', errno: EACCES }), 126);
  t.is(cannotRunStatus({ op: 'exec', errno: ENOEXEC }), 126);
  t.is(cannotRunStatus({ op: 'mount', errno: ENOENT }), undefined, 'a missing mount source is not a missing program');
  t.is(cannotRunStatus({ op: 'exec' }), undefined);
  t.is(cannotRunStatus({}), undefined);
  const words = new BerthError('E_CONTAINER_START_FAILED', 'exec x: No such file or directory; permission denied');
  t.is(failureStatus(words), 125, 'words without the failing call decide nothing');
  t.is(failureStatus(new BerthError('E_RUNTIME_FAILED', 'exec x', { details: { op: 'exec', errno: ENOENT } })), 125, "only a start failure is the program's");
});
