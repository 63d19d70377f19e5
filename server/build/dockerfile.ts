/**
 * A Dockerfile cut into instructions and stages, every one with its line numbers, before
 * anything runs: an unknown instruction, a flag Berth does not implement or a malformed
 * argument is refused here, naming the file and the line.
 *
 * dockerfile-ast (the design's parser) finds where each instruction starts, its keyword,
 * and the parser directives with the escape character; its line numbers are right (0-based;
 * shown 1-based), also across continuations with empty lines, CRLF and the backtick escape.
 * Its argument text is not used: an indented comment line inside a continuation stays in
 * it, where Docker drops every comment line there (fenced here, shown by
 * test/unit/build/dockerfile.test.ts). Each instruction's text is rebuilt from the document
 * lines with Docker's rules: a line ending in the escape character (then only blanks)
 * continues on the next; comment and empty lines inside a continuation are skipped. Should
 * dockerfile-ast ever start an instruction inside an earlier one's continuation, it is not
 * taken as an instruction.
 */
import { DockerfileParser } from 'dockerfile-ast';
import { BerthError } from '../core/index.js';
import { extractFlags, fields, jsonForm, type Flag } from './words.js';

export const KEYWORDS = [
  'FROM',
  'RUN',
  'CMD',
  'LABEL',
  'MAINTAINER',
  'EXPOSE',
  'ENV',
  'ADD',
  'COPY',
  'ENTRYPOINT',
  'VOLUME',
  'USER',
  'WORKDIR',
  'ARG',
  'ONBUILD',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'SHELL',
] as const;
export type Keyword = (typeof KEYWORDS)[number];

/** The flags each instruction accepts; any other is refused by name. */
const FLAGS: Partial<Record<Keyword, readonly string[]>> = {
  FROM: ['platform'],
  COPY: ['from', 'chown', 'chmod'],
  ADD: ['chown', 'chmod'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
};

/** Flags Docker has that Berth does not implement yet, with what they would do. */
const KNOWN_UNSUPPORTED: Record<string, string> = {
  mount: 'build mounts (caches, secrets, SSH agents)',
  network: 'choosing the network of a RUN step',
  security: 'running a RUN step with extra privileges',
  link: 'copying into an independent layer',
  parents: 'keeping source parent directories',
  exclude: 'excluding files from a copy',
  checksum: 'checking a download',
  'keep-git-dir': 'adding a git repository',
};

export interface Instruction {
  keyword: Keyword;
  /** 1-based line of the keyword, and of the instruction's last line. */
  line: number;
  endLine: number;
  /** The instruction as written, continuation lines joined: what `Step N/M :` shows. */
  original: string;
  flags: Flag[];
  /** The text after the keyword and the flags. */
  rest: string;
  /** RUN, CMD, ENTRYPOINT, SHELL, COPY, ADD, VOLUME: the arguments in the JSON (exec) form. */
  json?: string[];
}

export interface Stage {
  /** 0-based position: `COPY --from=0`. */
  index: number;
  /** The `AS` name, lowercased as Docker does. */
  name?: string;
  /** The FROM instruction: its base image reference (before substitution) in `base`. */
  from: Instruction;
  base: string;
  platform?: string;
  instructions: Instruction[];
}

export interface ParsedDockerfile {
  /** The file's name in errors (`Dockerfile`, `build/Dockerfile.prod`). */
  file: string;
  escape: string;
  /** ARGs before the first FROM. */
  globalArgs: Instruction[];
  stages: Stage[];
}

/** A BerthError naming the file and line; the code says whether the input is wrong or only unsupported. */
export function lineError(code: 'E_BUILD_DOCKERFILE_INVALID' | 'E_BUILD_UNSUPPORTED', file: string, line: number, message: string, hint?: string): BerthError {
  return new BerthError(code, `${file}:${line}: ${message}`, { ...(hint === undefined ? {} : { hint }), details: { file, line } });
}

const isComment = (l: string): boolean => /^\s*#/.test(l);
const isBlank = (l: string): boolean => l.trim() === '';

/** The instruction starting at `lines[start]`, joined with Docker's rules; and the index of its last line. */
export function logicalLine(lines: readonly string[], start: number, escape: string): { text: string; end: number } {
  const continues = new RegExp(`${escape === '\\' ? '\\\\' : '`'}[ \\t]*$`);
  let text = '';
  let i = start;
  let line = (lines[i] as string).replace(/^\s+/, '');
  for (;;) {
    if (!continues.test(line)) {
      text += line;
      return { text, end: i };
    }
    text += line.replace(continues, '');
    let j = i + 1;
    while (j < lines.length && (isComment(lines[j] as string) || isBlank(lines[j] as string))) j++;
    if (j >= lines.length) return { text, end: lines.length - 1 };
    i = j;
    line = lines[i] as string;
  }
}

function checkFlags(file: string, ins: Instruction): void {
  const allowed = FLAGS[ins.keyword] ?? [];
  for (const f of ins.flags) {
    if (allowed.includes(f.name)) {
      if (f.value === undefined || f.value === '')
        throw lineError('E_BUILD_DOCKERFILE_INVALID', file, ins.line, `${ins.keyword} --${f.name} needs a value: --${f.name}=VALUE`);
      continue;
    }
    const what = KNOWN_UNSUPPORTED[f.name];
    throw lineError(
      'E_BUILD_UNSUPPORTED',
      file,
      ins.line,
      what === undefined ? `${ins.keyword} has no flag --${f.name}` : `${ins.keyword} --${f.name} (${what}) is not supported by Berth's builder yet`,
      allowed.length === 0 ? `${ins.keyword} takes no flags here.` : `${ins.keyword} takes ${allowed.map((a) => `--${a}`).join(', ')}.`,
    );
  }
}

const heredoc = /(^|\s)<<-?\s*["']?[A-Za-z_][A-Za-z0-9_]*["']?/;

/** One instruction's text (after its keyword) as flags, rest and JSON form, checked for its kind. */
export function makeInstruction(file: string, keyword: Keyword, text: string, line: number, endLine: number, original: string): Instruction {
  const { flags, rest } = extractFlags(text);
  const ins: Instruction = { keyword, line, endLine, original, flags, rest };
  checkFlags(file, ins);
  if (['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'COPY', 'ADD', 'VOLUME'].includes(keyword)) {
    const json = jsonForm(rest);
    if (json === 'not-strings') throw lineError('E_BUILD_DOCKERFILE_INVALID', file, line, `${keyword}: a JSON array of arguments must hold only strings`);
    if (json !== undefined) ins.json = json;
  }
  if ((keyword === 'RUN' || keyword === 'COPY' || keyword === 'ADD') && ins.json === undefined && heredoc.test(rest)) {
    throw lineError(
      'E_BUILD_UNSUPPORTED',
      file,
      line,
      `${keyword} with a heredoc (<<WORD) is not supported by Berth's builder yet`,
      'Write the script to a file in the context, COPY it, and RUN it.',
    );
  }
  if (keyword === 'SHELL' && ins.json === undefined) {
    throw lineError('E_BUILD_DOCKERFILE_INVALID', file, line, 'SHELL takes a JSON array, such as SHELL ["/bin/bash", "-c"]');
  }
  const needsArgs: Keyword[] = [
    'FROM',
    'RUN',
    'CMD',
    'ENTRYPOINT',
    'COPY',
    'ADD',
    'ENV',
    'LABEL',
    'EXPOSE',
    'USER',
    'WORKDIR',
    'VOLUME',
    'ARG',
    'STOPSIGNAL',
    'HEALTHCHECK',
    'ONBUILD',
    'SHELL',
    'MAINTAINER',
  ];
  if (rest === '' && needsArgs.includes(keyword)) throw lineError('E_BUILD_DOCKERFILE_INVALID', file, line, `${keyword} needs at least one argument`);
  if (keyword === 'ONBUILD') checkTrigger(file, ins);
  return ins;
}

function keywordOf(file: string, word: string, line: number): Keyword {
  const upper = word.toUpperCase();
  if ((KEYWORDS as readonly string[]).includes(upper)) return upper as Keyword;
  throw lineError('E_BUILD_DOCKERFILE_INVALID', file, line, `unknown instruction: ${word}`, `Dockerfile instructions are ${KEYWORDS.join(', ')}.`);
}

/** ONBUILD's trigger must itself be an instruction Berth builds, and not ONBUILD, FROM or MAINTAINER (Docker's rule). */
function checkTrigger(file: string, ins: Instruction): void {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(ins.rest) as RegExpExecArray;
  const keyword = keywordOf(file, m[1] as string, ins.line);
  if (keyword === 'ONBUILD' || keyword === 'FROM' || keyword === 'MAINTAINER') {
    throw lineError('E_BUILD_DOCKERFILE_INVALID', file, ins.line, `${keyword} is not allowed as an ONBUILD trigger`);
  }
  makeInstruction(file, keyword, m[2] as string, ins.line, ins.endLine, ins.rest);
}

/** A directive Berth reads (escape) or accepts knowingly (syntax of the Dockerfile 1.x frontend); others are refused. */
function checkDirectives(file: string, directives: { name: string; value: string; line: number }[]): void {
  for (const d of directives) {
    if (d.name === 'escape') {
      if (d.value !== '\\' && d.value !== '`')
        throw lineError('E_BUILD_DOCKERFILE_INVALID', file, d.line, `escape=${d.value}: the escape character is \\ or \``);
    } else if (d.name === 'syntax') {
      if (!/^(docker\.io\/)?docker\/dockerfile:1(\.\d+)*(-labs)?$/.test(d.value) || d.value.endsWith('-labs')) {
        throw lineError(
          'E_BUILD_UNSUPPORTED',
          file,
          d.line,
          `syntax=${d.value}: Berth builds with its own builder, which reads the docker/dockerfile:1 syntax (less what docs/builds.md lists)`,
          'Remove the directive, or write docker/dockerfile:1.',
        );
      }
    } else if (d.name === 'check') {
      // BuildKit's lint configuration: says nothing about what is built.
    } else {
      throw lineError('E_BUILD_UNSUPPORTED', file, d.line, `the parser directive ${d.name} is not supported`);
    }
  }
}

/** Parse a Dockerfile's text. `file` names it in errors. */
export function parseDockerfile(source: string, file = 'Dockerfile'): ParsedDockerfile {
  const text = source.replace(/^\uFEFF/, '');
  const doc = DockerfileParser.parse(text);
  const escape = doc.getEscapeCharacter();
  checkDirectives(
    file,
    doc.getDirectives().map((d) => ({ name: d.getName().toLowerCase(), value: d.getValue(), line: d.getRange().start.line + 1 })),
  );
  const lines = text.split(/\r?\n/);
  const instructions: Instruction[] = [];
  let covered = -1;
  for (const node of doc.getInstructions()) {
    const start = node.getRange().start.line;
    if (start <= covered) continue; // inside the continuation of the one before (the fence above)
    const { text: joined, end } = logicalLine(lines, start, escape);
    covered = end;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(joined);
    if (!m) continue;
    const keyword = keywordOf(file, m[1] as string, start + 1);
    instructions.push(makeInstruction(file, keyword, m[2] as string, start + 1, end + 1, joined.trim()));
  }
  return group(file, escape, instructions);
}

function stageName(file: string, ins: Instruction, words: string[]): string | undefined {
  if (words.length === 1) return undefined;
  if (words.length !== 3 || (words[1] as string).toUpperCase() !== 'AS') {
    throw lineError(
      'E_BUILD_DOCKERFILE_INVALID',
      file,
      ins.line,
      `FROM takes an image and an optional name: FROM IMAGE [AS NAME], not ${JSON.stringify(ins.rest)}`,
    );
  }
  const name = (words[2] as string).toLowerCase();
  if (!/^[a-z][a-z0-9._-]*$/.test(name)) {
    throw lineError(
      'E_BUILD_DOCKERFILE_INVALID',
      file,
      ins.line,
      `stage name ${JSON.stringify(words[2])} is not allowed: a letter, then letters, digits, ".", "_" or "-"`,
    );
  }
  return name;
}

function group(file: string, escape: string, instructions: Instruction[]): ParsedDockerfile {
  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const words = fields(ins.rest);
      const name = stageName(file, ins, words);
      if (name !== undefined && stages.some((s) => s.name === name)) {
        throw lineError('E_BUILD_DOCKERFILE_INVALID', file, ins.line, `the stage name ${name} is used twice`);
      }
      const platform = ins.flags.find((f) => f.name === 'platform')?.value;
      stages.push({
        index: stages.length,
        ...(name === undefined ? {} : { name }),
        from: ins,
        base: words[0] as string,
        ...(platform === undefined ? {} : { platform }),
        instructions: [],
      });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) {
      if (ins.keyword !== 'ARG')
        throw lineError(
          'E_BUILD_DOCKERFILE_INVALID',
          file,
          ins.line,
          `${ins.keyword} comes before the first FROM; only ARG may`,
          'Start the Dockerfile with FROM (ARGs for FROM may come before it).',
        );
      globalArgs.push(ins);
      continue;
    }
    stage.instructions.push(ins);
  }
  if (stages.length === 0)
    throw lineError(
      'E_BUILD_DOCKERFILE_INVALID',
      file,
      instructions.at(-1)?.line ?? 1,
      'the Dockerfile has no FROM',
      'A Dockerfile starts with FROM IMAGE (or FROM scratch).',
    );
  return { file, escape, globalArgs, stages };
}
