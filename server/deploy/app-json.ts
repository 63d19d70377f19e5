/**
 * The parts of an app's `app.json` (Heroku's and Dokku's manifest) a deploy reads:
 * `healthchecks` (passed to the release engine, which validates it: release/ owns the
 * format) and `scripts.dokku.predeploy` (the release phase's command). The file is optional;
 * one that is there must be a JSON object, and what Berth reads from it must have the right
 * type (E_DEPLOY_APP_JSON_INVALID naming the field). Everything else in it is ignored.
 */
import { BerthError } from '../core/index.js';

export interface AppJson {
  healthchecks?: unknown;
  predeploy?: string;
}

/** The largest app.json read; a manifest is a few kilobytes. */
export const APP_JSON_MAX_BYTES = 1024 * 1024;

const invalid = (message: string, field: string) =>
  new BerthError('E_DEPLOY_APP_JSON_INVALID', `app.json ${message}`, {
    details: { field },
  });

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse app.json's text (undefined: there is none). */
export function parseAppJson(text: string | undefined): AppJson {
  if (text === undefined) return {};
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw invalid(`is not valid JSON: ${(cause as Error).message}`, 'app.json');
  }
  if (!isObject(doc)) throw invalid('must be a JSON object', 'app.json');
  const out: AppJson = {};
  if (doc.healthchecks !== undefined) out.healthchecks = doc.healthchecks;
  const scripts = doc.scripts;
  if (scripts === undefined) return out;
  if (!isObject(scripts)) throw invalid('"scripts" must be an object', 'scripts');
  const dokku = scripts.dokku;
  if (dokku === undefined) return out;
  if (!isObject(dokku)) throw invalid('"scripts.dokku" must be an object', 'scripts.dokku');
  const predeploy = dokku.predeploy;
  if (predeploy === undefined) return out;
  if (typeof predeploy !== 'string' || predeploy.trim() === '' || predeploy.includes('\0')) {
    throw invalid('"scripts.dokku.predeploy" must be a non-empty command string', 'scripts.dokku.predeploy');
  }
  out.predeploy = predeploy;
  return out;
}
