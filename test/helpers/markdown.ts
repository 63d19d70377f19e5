/** The cells of a GFM table row: split on unescaped `|`, then undo the doc's escapes. */
export function tableCells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replaceAll('\\|', '|').replaceAll('\\<', '<'));
}
