/**
 * Parsing: dockerfile-ast's line numbers and escape directive are used as they are (checked
 * here); its difference from Docker on comments inside continuations is shown and fenced; bad
 * input and what Berth does not build are refused naming the file and the line.
 */
import test from 'ava';
import { DockerfileParser } from 'dockerfile-ast';
import { parseDockerfile } from '../../../server/build/index.js';

function refused(t: import('ava').ExecutionContext, text: string, code: string, message: RegExp, file = 'Dockerfile'): void {
  const e = t.throws(() => parseDockerfile(text, file));
  t.is((e as { code?: string }).code, code, e?.message);
  t.regex(e?.message ?? '', message);
}

test('line numbers: 1-based, the first line of each instruction and its last, comments and blank lines skipped', (t) => {
  const df = parseDockerfile('# a comment\n\nFROM busybox AS build\nRUN echo a \\\n  && echo b\n\nCOPY x /y\n');
  t.deepEqual(
    df.stages[0]?.instructions.map((i) => [i.keyword, i.line, i.endLine]),
    [
      ['RUN', 4, 5],
      ['COPY', 7, 7],
    ],
  );
  t.is(df.stages[0]?.from.line, 3);
  t.is(df.stages[0]?.name, 'build');
  t.is(df.stages[0]?.instructions[0]?.rest, 'echo a   && echo b', 'the escape and newline go, the indentation stays (Docker)');
});

test('fence: a comment inside a continuation is dropped, as Docker does (dockerfile-ast keeps an indented one)', (t) => {
  const text = 'FROM busybox\nRUN echo a \\\n  # a comment\n  && echo b\n';
  const ast = DockerfileParser.parse(text).getInstructions()[1];
  t.regex(ast?.getArgumentsContent() ?? '', /# a comment/, 'dockerfile-ast keeps it: the reason for the fence');
  const run = parseDockerfile(text).stages[0]?.instructions[0];
  t.is(run?.rest, 'echo a   && echo b');
  t.deepEqual([run?.line, run?.endLine], [2, 4]);
});

test('an empty line inside a continuation is skipped (Docker); dockerfile-ast agrees on where instructions start', (t) => {
  const text = 'FROM busybox\nRUN echo \\\n\n  after-empty\nENV A=1\n';
  const ast = DockerfileParser.parse(text).getInstructions();
  t.deepEqual(
    ast.map((i) => [i.getKeyword(), i.getRange().start.line]),
    [
      ['FROM', 0],
      ['RUN', 1],
      ['ENV', 4],
    ],
  );
  const df = parseDockerfile(text);
  t.deepEqual(
    df.stages[0]?.instructions.map((i) => [i.keyword, i.rest, i.line, i.endLine]),
    [
      ['RUN', 'echo   after-empty', 2, 4],
      ['ENV', 'A=1', 5, 5],
    ],
  );
});

test('the escape directive: ` continues lines and the backslash is literal; CRLF and a BOM are read', (t) => {
  const df = parseDockerfile('\uFEFF# escape=`\r\nFROM busybox\r\nRUN echo C:\\path `\r\n  done\r\n');
  t.is(df.escape, '`');
  t.is(df.stages[0]?.instructions[0]?.rest, 'echo C:\\path   done');
  t.is(df.stages[0]?.instructions[0]?.line, 3);
  t.is(
    parseDockerfile('FROM x\nRUN a\\\\\nEXPOSE 80\n').stages[0]?.instructions[0]?.rest,
    'a\\EXPOSE 80',
    "a line ending in the escape continues (Docker's rule)",
  );
  refused(t, '# escape=!\nFROM x\n', 'E_BUILD_DOCKERFILE_INVALID', /Dockerfile:1: escape=!/);
});

test('directives: syntax=docker/dockerfile:1 is accepted, another frontend or directive is refused by name', (t) => {
  t.is(parseDockerfile('# syntax=docker/dockerfile:1.4\nFROM x\n').stages.length, 1);
  refused(t, '# syntax=example.com/frontend:2\nFROM x\n', 'E_BUILD_UNSUPPORTED', /Dockerfile:1: syntax=example.com\/frontend:2/);
});

test('forms: JSON (exec) arrays, the shell form, flags with their values, stages and global ARGs', (t) => {
  const df = parseDockerfile(
    'ARG V=1\nFROM --platform=linux/amd64 busybox:$V AS One\nRUN ["echo", "a\\"b"]\nCMD [ "x" , "y" ]\nCMD ["bad\nCOPY --chown=1:2 --from=one a b /c/\nFROM one\n',
  );
  t.deepEqual(
    df.globalArgs.map((i) => i.rest),
    ['V=1'],
  );
  const [one, two] = df.stages;
  t.deepEqual([one?.name, one?.base, one?.platform], ['one', 'busybox:$V', 'linux/amd64'], 'stage names are lowercased');
  t.deepEqual(one?.instructions[0]?.json, ['echo', 'a"b']);
  t.deepEqual(one?.instructions[1]?.json, ['x', 'y']);
  t.is(one?.instructions[2]?.json, undefined, 'not valid JSON: the shell form');
  t.deepEqual(one?.instructions[3]?.flags, [
    { name: 'chown', value: '1:2' },
    { name: 'from', value: 'one' },
  ]);
  t.is(one?.instructions[3]?.rest, 'a b /c/');
  t.is(two?.base, 'one');
  t.is(one?.instructions[0]?.original, 'RUN ["echo", "a\\"b"]', 'what Step N/M shows');
});

test('bad input is refused naming the file and the line', (t) => {
  refused(t, 'FROM x\nFOO bar\n', 'E_BUILD_DOCKERFILE_INVALID', /^build\/Dockerfile:2: unknown instruction: FOO/, 'build/Dockerfile');
  refused(t, 'RUN x\nFROM y\n', 'E_BUILD_DOCKERFILE_INVALID', /Dockerfile:1: RUN comes before the first FROM/);
  refused(t, 'ARG X\n', 'E_BUILD_DOCKERFILE_INVALID', /has no FROM/);
  refused(t, 'FROM x\nRUN\n', 'E_BUILD_DOCKERFILE_INVALID', /Dockerfile:2: RUN needs at least one argument/);
  refused(t, 'FROM x AS a\nFROM y AS A\n', 'E_BUILD_DOCKERFILE_INVALID', /Dockerfile:2: the stage name a is used twice/);
  refused(t, 'FROM x AS 1bad\n', 'E_BUILD_DOCKERFILE_INVALID', /stage name "1bad"/);
  refused(t, 'FROM x y z w\n', 'E_BUILD_DOCKERFILE_INVALID', /FROM IMAGE \[AS NAME\]/);
  refused(t, 'FROM x\nCMD [1, 2]\n', 'E_BUILD_DOCKERFILE_INVALID', /Dockerfile:2: CMD: a JSON array of arguments must hold only strings/);
  refused(t, 'FROM x\nSHELL /bin/bash -c\n', 'E_BUILD_DOCKERFILE_INVALID', /SHELL takes a JSON array/);
  refused(t, 'FROM x\nONBUILD FROM y\n', 'E_BUILD_DOCKERFILE_INVALID', /Dockerfile:2: FROM is not allowed as an ONBUILD trigger/);
  refused(t, 'FROM x\nONBUILD NOPE y\n', 'E_BUILD_DOCKERFILE_INVALID', /unknown instruction: NOPE/);
  refused(t, 'FROM x\nCOPY --chown a /b\n', 'E_BUILD_DOCKERFILE_INVALID', /--chown needs a value/);
});

test('what Berth does not build is refused by name with its line, never ignored', (t) => {
  refused(t, 'FROM x\n\nRUN --mount=type=cache,target=/c make\n', 'E_BUILD_UNSUPPORTED', /Dockerfile:3: RUN --mount \(build mounts/);
  refused(t, 'FROM x\nRUN --network=host make\n', 'E_BUILD_UNSUPPORTED', /RUN --network/);
  refused(t, 'FROM x\nCOPY --link a /b\n', 'E_BUILD_UNSUPPORTED', /Dockerfile:2: COPY --link/);
  refused(t, 'FROM x\nADD --checksum=sha256:00 a /b\n', 'E_BUILD_UNSUPPORTED', /ADD --checksum/);
  refused(t, 'FROM x\nADD --from=y a /b\n', 'E_BUILD_UNSUPPORTED', /ADD has no flag --from/);
  refused(t, 'FROM x\nRUN <<EOF\necho hi\nEOF\n', 'E_BUILD_UNSUPPORTED', /Dockerfile:2: RUN with a heredoc/);
  refused(t, 'FROM x\nCOPY <<EOF /a\nhi\nEOF\n', 'E_BUILD_UNSUPPORTED', /COPY with a heredoc/);
  refused(t, 'FROM x\nENV --bogus A=1\n', 'E_BUILD_UNSUPPORTED', /ENV has no flag --bogus/);
});
