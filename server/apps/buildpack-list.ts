/**
 * Edits of an app's buildpack list, as Dokku's `buildpacks:add|set|remove` make them
 * (positions are 1-based, as the CLI's `--index`), on a copy: the caller writes the result
 * through `AppStore.update`. Each refusal names the value and the list.
 */
import { BerthError } from '../core/index.js';
import { validateBuildpack } from './settings.js';

function invalid(message: string, hint: string): BerthError {
  return new BerthError('E_APP_SETTING_INVALID', message, { hint });
}

const listHint = '`berth buildpacks:list APP` shows the list and its positions.';

function checkIndex(index: number): number {
  if (!Number.isSafeInteger(index) || index < 1) throw invalid(`invalid buildpack index ${index}: positions start at 1`, listHint);
  return index;
}

/**
 * `buildpacks:add [--index N]`: append, or insert before position N (past the end:
 * append). A buildpack already in the list is refused: it would run twice.
 */
export function addBuildpack(list: readonly string[], buildpack: string, index?: number): string[] {
  validateBuildpack(buildpack);
  const at = list.indexOf(buildpack);
  if (at >= 0)
    throw invalid(
      `buildpack ${buildpack} is already in the list, at position ${at + 1}`,
      `To move it, remove it first (\`berth buildpacks:remove APP ${buildpack}\`). ${listHint}`,
    );
  const out = [...list];
  if (index === undefined) out.push(buildpack);
  else out.splice(Math.min(checkIndex(index), out.length + 1) - 1, 0, buildpack);
  return out;
}

/**
 * `buildpacks:set [--index N]`: replace the buildpack at position N (default 1); past the
 * end, append. The same buildpack at another position is refused.
 */
export function setBuildpack(list: readonly string[], buildpack: string, index = 1): string[] {
  validateBuildpack(buildpack);
  const i = checkIndex(index) - 1;
  const at = list.indexOf(buildpack);
  if (at >= 0 && at !== i) throw invalid(`buildpack ${buildpack} is already in the list, at position ${at + 1}`, listHint);
  const out = [...list];
  if (i >= out.length) out.push(buildpack);
  else out[i] = buildpack;
  return out;
}

/** `buildpacks:remove APP BUILDPACK` or `--index N`: exactly one of the two. */
export function removeBuildpack(list: readonly string[], which: { buildpack?: string; index?: number }): string[] {
  if ((which.buildpack === undefined) === (which.index === undefined)) {
    throw invalid(
      'give either a buildpack or an index to remove, not both and not neither',
      'Run `berth buildpacks:remove APP BUILDPACK` or `berth buildpacks:remove APP --index N`.',
    );
  }
  if (list.length === 0)
    throw invalid('the app has no buildpacks set, so there is none to remove', 'Its next build detects the buildpack itself (docs/apps.md).');
  if (which.index !== undefined) {
    const i = checkIndex(which.index);
    if (i > list.length) throw invalid(`there is no buildpack at position ${i}: the list has ${list.length}`, listHint);
    return list.filter((_, k) => k !== i - 1);
  }
  if (!list.includes(which.buildpack!)) throw invalid(`buildpack ${which.buildpack} is not in the list (${list.join(', ')})`, listHint);
  return list.filter((b) => b !== which.buildpack);
}
