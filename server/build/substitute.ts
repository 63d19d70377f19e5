/**
 * Variable substitution in Dockerfile words, with Docker's rules (the shell lexer of
 * moby/buildkit `frontend/dockerfile/shell/lex.go`, as its documentation describes it):
 *
 * - `$VAR` and `${VAR}`; an unset variable is the empty string. A `$` not followed by a name
 *   is a literal `$`.
 * - `${VAR:-word}` (word when VAR is unset or empty), `${VAR-word}` (when unset),
 *   `${VAR:+word}` (word when VAR is set and not empty, else empty), `${VAR+word}` (when set),
 *   `${VAR:?message}` and `${VAR?message}` (an error when unset, or empty with the colon).
 *   The word may itself hold substitutions.
 * - Single quotes keep everything literal; double quotes keep everything but `$` and the
 *   escapes `\"`, `\$` and `\\`; outside quotes the escape character (`\`, or the one the
 *   `# escape=` directive sets) makes the next character literal. Quotes and escapes are
 *   removed from the result, as Docker does.
 * - The pattern forms `${VAR#p}`, `${VAR%p}` and `${VAR/p/r}` are refused by name (not
 *   implemented), never passed through.
 *
 * Pure functions: no I/O. Every variable looked up is recorded in `used` (the build cache
 * keys a step on the build arguments it used).
 */
import { BerthError } from '../core/index.js';

export interface SubstituteOptions {
  /** The variables in scope. */
  env: ReadonlyMap<string, string>;
  /** The escape character. @defaultValue `\` */
  escape?: string;
  /** Receives the name of every variable looked up, set or not. */
  used?: Set<string>;
}

function fail(word: string, why: string): never {
  throw new BerthError('E_BUILD_DOCKERFILE_INVALID', `${why} in ${JSON.stringify(word)}`, { details: { word } });
}

/** Docker's "special parameters": `$` followed by one of these names that one character. */
const SPECIAL = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

/** Splits the result into words as the shell would: unquoted whitespace (literal or from a variable) separates. */
class Words {
  readonly list: string[] = [];
  private word = '';
  private inWord = false;

  char(ch: string): void {
    if (/\s/.test(ch)) this.end();
    else this.raw(ch);
  }

  raw(s: string): void {
    this.word += s;
    this.inWord = true;
  }

  /** A variable's value: its whitespace splits words. */
  value(s: string): void {
    for (const ch of s) this.char(ch);
  }

  /** Quoted text: never split, and makes a word even when empty (`""`). */
  quoted(s: string): void {
    this.raw(s);
  }

  end(): void {
    if (this.inWord) this.list.push(this.word);
    this.word = '';
    this.inWord = false;
  }
}

class Lexer {
  private pos = 0;
  private readonly escape: string;

  constructor(
    private readonly input: string,
    private readonly options: SubstituteOptions,
  ) {
    this.escape = options.escape ?? '\\';
    if (this.escape !== '\\' && this.escape !== '`') fail(input, `the escape character ${JSON.stringify(this.escape)} is not \\ or \``);
  }

  private peek(): string | undefined {
    return this.input[this.pos];
  }

  private next(): string | undefined {
    return this.input[this.pos++];
  }

  private lookup(name: string): string | undefined {
    this.options.used?.add(name);
    return this.options.env.get(name);
  }

  /** Everything up to `stop` (consumed), or to the end when stop is undefined. */
  process(stop: string | undefined, words: Words): string {
    let out = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) break;
      if (stop !== undefined && ch === stop) {
        this.pos++;
        return out;
      }
      if (ch === "'") {
        const s = this.singleQuoted();
        out += s;
        words.quoted(s);
      } else if (ch === '"') {
        const s = this.doubleQuoted();
        out += s;
        words.quoted(s);
      } else if (ch === '$') {
        const s = this.dollar();
        out += s;
        words.value(s);
      } else {
        this.pos++;
        if (ch === this.escape) {
          const escaped = this.next();
          if (escaped === undefined) break; // an escape at the end is dropped
          out += escaped;
          words.raw(escaped);
        } else {
          out += ch;
          words.char(ch);
        }
      }
    }
    if (stop !== undefined) fail(this.input, `missing '${stop}'`);
    return out;
  }

  private singleQuoted(): string {
    this.pos++;
    const end = this.input.indexOf("'", this.pos);
    if (end < 0) fail(this.input, 'unterminated single quote');
    const s = this.input.slice(this.pos, end);
    this.pos = end + 1;
    return s;
  }

  private doubleQuoted(): string {
    this.pos++;
    let out = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) fail(this.input, 'unterminated double quote');
      if (ch === '"') {
        this.pos++;
        return out;
      }
      if (ch === '$') {
        out += this.dollar();
        continue;
      }
      this.pos++;
      if (ch === this.escape) {
        const n = this.peek();
        if (n === undefined) continue;
        if (n === '"' || n === '$' || n === this.escape) {
          this.pos++;
          out += n;
          continue;
        }
      }
      out += ch;
    }
  }

  private name(): string {
    let name = '';
    const first = this.peek();
    if (first !== undefined && /[0-9]/.test(first)) {
      while (this.peek() !== undefined && /[0-9]/.test(this.peek() as string)) name += this.next();
      return name;
    }
    if (first !== undefined && SPECIAL.has(first)) return this.next() as string;
    while (this.peek() !== undefined && /[A-Za-z0-9_]/.test(this.peek() as string)) name += this.next();
    return name;
  }

  private dollar(): string {
    this.pos++;
    if (this.peek() !== '{') {
      const name = this.name();
      if (name === '') return '$';
      return this.lookup(name) ?? '';
    }
    this.pos++;
    const first = this.peek();
    if (first === undefined) fail(this.input, "missing '}'");
    if (first === '{' || first === '}' || first === ':') fail(this.input, 'bad substitution');
    const name = this.name();
    if (name === '') fail(this.input, 'bad substitution');
    const op = this.next();
    if (op === '}') return this.lookup(name) ?? '';
    if (op === undefined) fail(this.input, "missing '}'");
    let colon = false;
    let modifier: string | undefined = op;
    if (op === ':') {
      colon = true;
      modifier = this.next();
    }
    if (modifier === '#' || modifier === '%' || modifier === '/') {
      fail(this.input, `the substitution \${${name}${modifier}…} (pattern removal or replacement) is not supported`);
    }
    if (modifier !== '-' && modifier !== '+' && modifier !== '?') {
      fail(this.input, `unsupported modifier (${modifier ?? 'end of word'}) in substitution of ${name}`);
    }
    const word = this.process('}', new Words());
    const value = this.lookup(name);
    const set = value !== undefined;
    const present = colon ? set && value !== '' : set;
    if (modifier === '-') return present ? (value as string) : word;
    if (modifier === '+') return present ? word : '';
    if (!present) {
      fail(this.input, `${name}: ${word === '' ? (colon ? 'is not allowed to be unset or empty' : 'is not allowed to be unset') : word}`);
    }
    return value as string;
  }
}

/** One word with its variables substituted and its quotes and escapes removed (ENV, LABEL, WORKDIR, USER…). */
export function substituteWord(word: string, options: SubstituteOptions): string {
  return new Lexer(word, options).process(undefined, new Words());
}

/**
 * The words a text becomes once substituted: unquoted whitespace, also inside a variable's
 * value, separates words (EXPOSE, VOLUME, COPY and ADD sources, FROM).
 */
export function substituteWords(text: string, options: SubstituteOptions): string[] {
  const words = new Words();
  new Lexer(text, options).process(undefined, words);
  words.end();
  return words.list;
}
