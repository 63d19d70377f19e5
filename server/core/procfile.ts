/**
 * The Procfile (docs/buildpacks.md): one `name: command` per line, comments (`#`) and blank
 * lines allowed. Strict: a name is `[a-zA-Z0-9_-]+`, a name twice, an empty command or a line
 * of any other shape is E_BUILD_PROCFILE_INVALID naming the line. (The npm package named
 * `procfile` is not a parser.)
 */
import { BerthError } from './errors.js';

const LINE = /^([^:\s]*)\s*:\s*(.*)$/;
const NAME = /^[a-zA-Z0-9_-]+$/;

/** The Procfile's process types, in the order they appear: name → command. */
export function parseProcfile(text: string, file = 'Procfile'): Record<string, string> {
  const types: Record<string, string> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) return;
    const bad = (what: string): BerthError =>
      new BerthError('E_BUILD_PROCFILE_INVALID', `${file} line ${i + 1}: ${what}: ${JSON.stringify(raw)}`, { details: { file, line: i + 1 } });
    const m = LINE.exec(line);
    if (!m) throw bad('not "name: command"');
    const [, name = '', command = ''] = m;
    if (!NAME.test(name)) throw bad(`the process type ${JSON.stringify(name)} may only have letters, digits, "_" and "-"`);
    if (Object.hasOwn(types, name)) throw bad(`the process type ${name} is declared twice`);
    if (command.trim() === '') throw bad(`the process type ${name} has an empty command`);
    types[name] = command.trim();
  });
  return types;
}
