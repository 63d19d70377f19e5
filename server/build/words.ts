/**
 * How Docker's parser cuts an instruction's text into parts before any substitution (moby
 * buildkit `frontend/dockerfile/parser`): the leading `--flag=value` words, the JSON (exec)
 * form, and words that keep their quotes and escapes for the substitution that follows
 * (substitute.ts). Pure functions.
 */

/** A `--name=value` (or `--name`) flag at the start of an instruction. */
export interface Flag {
  name: string;
  /** undefined for a bare `--name`. */
  value: string | undefined;
}

/**
 * The leading `--flags` of `text` and the rest (Docker's extractBuilderFlags): a flag word may
 * quote or escape (with `\`) parts of its value; `--` alone ends the flags.
 */
export function extractFlags(text: string): { flags: Flag[]; rest: string } {
  const words: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < text.length && /\s/.test(text[pos] as string)) pos++;
    if (!text.startsWith('--', pos)) break;
    let word = '';
    let quote: string | undefined;
    while (pos < text.length) {
      const ch = text[pos] as string;
      if (quote === undefined && /\s/.test(ch)) break;
      pos++;
      if (quote !== undefined) {
        if (ch === quote) quote = undefined;
        else if (ch === '\\' && pos < text.length) word += text[pos++];
        else word += ch;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '\\' && pos < text.length) word += text[pos++];
      else word += ch;
    }
    if (word === '--') break;
    words.push(word);
  }
  const flags = words.map((w) => {
    const body = w.slice(2);
    const eq = body.indexOf('=');
    return eq < 0 ? { name: body, value: undefined } : { name: body.slice(0, eq), value: body.slice(eq + 1) };
  });
  return { flags, rest: text.slice(pos).trim() };
}

/**
 * `text` as a JSON array of strings (the exec form), or undefined when it is not one. A JSON
 * array holding anything but strings is not the exec form either (Docker then errors; the
 * caller decides).
 */
export function jsonForm(text: string): string[] | 'not-strings' | undefined {
  const t = text.trim();
  if (!t.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v) => typeof v === 'string')) return 'not-strings';
  return value as string[];
}

/**
 * Words split at unquoted whitespace, quotes and escapes kept for the substitution that
 * follows (Docker's parseWords, used for ENV, LABEL and ARG). An escape at the very end is
 * dropped; inside single quotes the escape character is literal.
 */
export function splitWords(text: string, escape: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: string | undefined;
  for (let pos = 0; pos < text.length; pos++) {
    const ch = text[pos] as string;
    if (quote === undefined) {
      if (/\s/.test(ch)) {
        if (inWord) words.push(word);
        word = '';
        inWord = false;
        continue;
      }
      inWord = true;
      if (ch === '"' || ch === "'") quote = ch;
      if (ch === escape) {
        if (pos + 1 === text.length) continue;
        word += ch;
        pos++;
        word += text[pos] as string;
        continue;
      }
      word += ch;
      continue;
    }
    if (ch === quote) quote = undefined;
    else if (ch === escape && quote !== "'") {
      if (pos + 1 === text.length) continue;
      word += ch;
      pos++;
      word += text[pos] as string;
      continue;
    }
    word += ch;
  }
  if (inWord) words.push(word);
  return words;
}

/** Whitespace-separated words, nothing else interpreted (FROM, EXPOSE, the shell form of COPY). */
export function fields(text: string): string[] {
  return text.split(/\s+/).filter((w) => w !== '');
}
