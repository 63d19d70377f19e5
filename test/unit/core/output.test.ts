/** Heroku-style output markers: `-----> ` steps, indented details, ` !     ` failures. */
import test from 'ava';
import { BerthError, errorTable, markers, renderError } from '../../../server/core/index.js';
import { detailLines, failLines, stepLine } from '../../../server/core/output.js';

test('the three markers have the same width, so text lines up', (t) => {
  t.is(markers.step, '-----> ');
  t.is(markers.detail, '       ');
  t.is(markers.fail, ' !     ');
  t.is(markers.step.length, markers.detail.length);
  t.is(markers.fail.length, markers.detail.length);
});

test('stepLine marks a step', (t) => {
  t.is(stepLine('Building hello'), '-----> Building hello');
});

test('detailLines indents every line to the step text', (t) => {
  t.is(detailLines('Installing dependencies'), '       Installing dependencies');
  t.is(detailLines('one\ntwo\nthree'), '       one\n       two\n       three');
});

test('failLines marks every line of the message', (t) => {
  t.is(failLines('push rejected'), ' !     push rejected');
  t.is(failLines('first\nsecond'), ' !     first\n !     second');
});

test('failLines puts the hint after an empty marked line', (t) => {
  t.is(failLines('push rejected', 'Fix the Procfile.'), ' !     push rejected\n !\n !     Fix the Procfile.');
  t.is(failLines('a', 'b\nc'), ' !     a\n !\n !     b\n !     c');
});

test('failLines leaves no trailing spaces on empty lines', (t) => {
  const out = failLines('first\n\nthird', 'hint');
  t.is(out, ' !     first\n !\n !     third\n !\n !     hint');
  for (const line of out.split('\n')) t.is(line, line.trimEnd());
});

test('failLines with an empty hint shows the message only', (t) => {
  t.is(failLines('push rejected', ''), ' !     push rejected');
});

test('renderError shows the message with its code, then the hint', (t) => {
  const err = new BerthError('E_NAME_INVALID', 'invalid app name "Hello": character \'H\' at position 1 is not allowed');
  t.is(
    renderError(err),
    [' !     invalid app name "Hello": character \'H\' at position 1 is not allowed [E_NAME_INVALID]', ' !', ` !     ${errorTable.E_NAME_INVALID.hint}`].join(
      '\n',
    ),
  );
});

test('renderError marks every line of a multi-line message and a custom hint', (t) => {
  const err = new BerthError('E_EXEC_FAILED', 'git exited with code 128:\nfatal: not a git repository', { hint: 'Run it in a repository.' });
  t.is(renderError(err), ' !     git exited with code 128:\n !     fatal: not a git repository [E_EXEC_FAILED]\n !\n !     Run it in a repository.');
});
