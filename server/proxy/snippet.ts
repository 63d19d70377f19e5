/**
 * An app's custom nginx snippet: a few directives added to its server block (Dokku lets an
 * app ship its own nginx config; Berth narrows that to a list of directives).
 *
 * The snippet is written as the user gave it to its own file and included from the server
 * block, so it is never round-tripped through nginx-conf (which regroups directives). Before
 * that, two checks make sure nginx reads it the way Berth does:
 * - a lexical check stricter than nginx's grammar: no braces (so no block can be opened, and
 *   an included file cannot close the server block either), no backslash escapes, no single
 *   quotes, no comments, and double quotes only around a whole word; with those gone, nginx
 *   and nginx-conf split the text into the same directives;
 * - nginx-conf's parse, whose directive names must all be in `snippetDirectives`.
 * `nginx -t` on the full candidate remains the last word on the values.
 */
import { NginxConfFile } from 'nginx-conf';

/**
 * Directives a snippet may use: server-context settings that touch neither files, modules,
 * listening sockets nor the routing Berth renders (no include, root, alias, access_log,
 * listen, server_name, location, proxy_pass or proxy_set_header).
 */
export const snippetDirectives: readonly string[] = Object.freeze([
  'add_header',
  'charset',
  'client_body_buffer_size',
  'client_body_timeout',
  'client_header_timeout',
  'etag',
  'expires',
  'gzip',
  'gzip_comp_level',
  'gzip_min_length',
  'gzip_proxied',
  'gzip_types',
  'gzip_vary',
  'if_modified_since',
  'keepalive_timeout',
  'large_client_header_buffers',
  'limit_rate',
  'limit_rate_after',
  'proxy_buffer_size',
  'proxy_buffering',
  'proxy_buffers',
  'proxy_busy_buffers_size',
  'proxy_max_temp_file_size',
  'proxy_request_buffering',
  'return',
  'rewrite',
  'send_timeout',
]);

/** A snippet longer than this is refused: it is a handful of directives, not a config. */
export const MAX_SNIPPET_BYTES = 4096;

const forbidden: Record<string, string> = {
  '{': 'braces are not allowed (a snippet cannot open a block)',
  '}': 'braces are not allowed (a snippet cannot open a block)',
  '\\': 'backslashes are not allowed',
  "'": 'single quotes are not allowed (use double quotes around a whole word)',
  '#': 'comments are not allowed',
};

const describe = (ch: string) => `U+${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0').toUpperCase()}`;

interface Lexed {
  problems: string[];
  /** The first word of each directive, with its line. */
  names: { name: string; line: number }[];
}

/** The lexical check: characters, quotes, directive ends. */
function lex(text: string): Lexed {
  const problems: string[] = [];
  const names: { name: string; line: number }[] = [];
  let line = 1;
  let tokens = 0;
  let i = 0;
  while (i < text.length && problems.length < 10) {
    const ch = text[i] ?? '';
    if (ch === '\n') {
      line++;
      i++;
    } else if (ch === ' ' || ch === '\t') {
      i++;
    } else if (ch === ';') {
      if (tokens === 0) problems.push(`line ${line}: a \`;\` ends no directive`);
      tokens = 0;
      i++;
    } else if (ch === '"') {
      const end = text.indexOf('"', i + 1);
      const inner = end < 0 ? '' : text.slice(i + 1, end);
      if (end < 0 || /[\n;]/.test(inner)) {
        problems.push(`line ${line}: a double quote is not closed on its line, or a quoted word holds a \`;\``);
        break;
      }
      const odd = /[^\t\x20-\x7e]|[{}\\'#]/.exec(inner);
      if (odd)
        problems.push(`line ${line}: ${forbidden[odd[0]] ?? `character ${describe(odd[0])} is not allowed (printable ASCII, spaces, tabs and newlines only)`}`);
      const after = text[end + 1];
      if (after !== undefined && !/[ \t\n;]/.test(after))
        problems.push(`line ${line}: a closing double quote is followed by ${JSON.stringify(after)}; quote a whole word`);
      if (tokens === 0) names.push({ name: text.slice(i, end + 1), line });
      tokens++;
      i = end + 1;
    } else if (ch in forbidden) {
      problems.push(`line ${line}: ${forbidden[ch]}`);
      i++;
    } else if (!/^[\x21-\x7e]$/.test(ch)) {
      problems.push(`line ${line}: character ${describe(ch)} is not allowed (printable ASCII, spaces, tabs and newlines only)`);
      i++;
    } else {
      // A word is printable ASCII up to a space, `;` or a quote; the character that ends it is looked at next.
      const word = /^(?:(?![;"{}\\'#])[\x21-\x7e])+/.exec(text.slice(i))?.[0] ?? ch;
      i += word.length;
      if (text[i] === '"') problems.push(`line ${line}: a double quote inside the word ${JSON.stringify(word + '"')}; quote a whole word`);
      if (tokens === 0) names.push({ name: word, line });
      tokens++;
    }
  }
  if (problems.length === 0 && tokens > 0) problems.push(`line ${line}: the last directive does not end with \`;\``);
  return { problems, names };
}

/** The directive names nginx-conf sees, in the order it groups them, or why it failed. */
function parsedNames(text: string): string[] | string {
  let result: string[] | string = 'nginx-conf gave no tree';
  try {
    NginxConfFile.createFromSource(text, (err, conf) => {
      if (err || !conf) {
        result = `nginx-conf cannot parse it: ${err instanceof Error ? err.message : JSON.stringify(err)}`;
        return;
      }
      const names: string[] = [];
      for (const [name, items] of Object.entries(conf.nginx)) {
        if (!Array.isArray(items)) continue;
        if (items.some((item) => item.__isBlock)) return void (result = `directive ${JSON.stringify(name)} is written as a block`);
        for (let k = 0; k < items.length; k++) names.push(name);
      }
      result = names;
    });
  } catch (err) {
    result = `nginx-conf cannot parse it: ${err instanceof Error ? err.message : String(err)}`;
  }
  return result;
}

/** Problems of a snippet, one message each; empty when it may be used. '' is no snippet. */
export function validateSnippet(text: string): string[] {
  if (Buffer.byteLength(text) > MAX_SNIPPET_BYTES) return [`the snippet is ${Buffer.byteLength(text)} bytes long, more than ${MAX_SNIPPET_BYTES}`];
  const { problems, names } = lex(text);
  if (problems.length > 0) return problems;
  const refused = names.filter((n) => !snippetDirectives.includes(n.name));
  if (refused.length > 0) {
    return refused.map((n) => `line ${n.line}: directive ${JSON.stringify(n.name)} is not allowed in a snippet; allowed: ${snippetDirectives.join(', ')}`);
  }
  // Only allowed names reach nginx-conf (it breaks on names such as `toString`). Both readings
  // must find the same directives, or nginx might read the text differently from this check.
  const parsed = parsedNames(text);
  if (typeof parsed === 'string') return [parsed];
  const mine = names.map((n) => n.name).sort();
  if (JSON.stringify([...parsed].sort()) !== JSON.stringify(mine)) {
    return [`the snippet reads as directives ${mine.join(', ')} here but ${parsed.join(', ')} to nginx-conf; write one plain directive per line`];
  }
  return [];
}
