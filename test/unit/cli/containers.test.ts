import test from 'ava';
import { failureStatus } from '../../../server/cli/commands/containers.js';
import { BerthError, errorTable, type ErrorCode } from '../../../server/core/index.js';

test('a failure before the program ran: 127 not found, 126 not executable, else 125 (Docker\'s statuses)', (t) => {
  const startFailed = 'E_CONTAINER_START_FAILED' as ErrorCode;
  t.true(startFailed in errorTable, 'the API\'s start-failure code exists');
  t.is(failureStatus(new BerthError(startFailed, 'exec no-such-program: No such file or directory')), 127);
  t.is(failureStatus(new BerthError(startFailed, 'exec /etc/passwd: Permission denied')), 126);
  t.is(failureStatus(new BerthError(startFailed, 'host port 8080 is taken')), 125);
  t.is(failureStatus(new BerthError('E_IMAGE_NOT_FOUND', 'no image nosuch:1 in the store')), 125);
  t.is(failureStatus(new BerthError('E_CLI_UNREACHABLE', 'cannot reach the Berth API: not found')), 125);
});
