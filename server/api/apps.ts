/**
 * /v1/apps: apps and their settings (docs/api.md, "Apps"; docs/apps.md). Destroying an app
 * runs the store's `destroying` hooks, where the composition root plugs in the cleanup of
 * its containers, route and queue.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { addBuildpack, removeBuildpack, setBuildpack, validateBuilder, validateDeployBranch, type AppRecord } from '../apps/index.js';
import { BerthError } from '../core/index.js';
import { bodyOf, flagParam, numberParam, stringParam } from './params.js';
import type { AppService } from './services.js';
import type { AppInfo, BuildpackList, DestroyResult, PurgeResult } from './wire.js';

const createSchema = z.strictObject({ name: z.string() });
const renameSchema = z.strictObject({ name: z.string() });
const buildpackSchema = z.strictObject({ buildpack: z.string(), index: z.number().int().optional() });
/** `builder:set APP selected X`: '' clears it (automatic). */
const builderSchema = z.strictObject({ selected: z.string() });
/** `git:set APP deploy-branch B`: '' clears it (main, else master). */
const gitSchema = z.strictObject({ 'deploy-branch': z.string() });

function infoOf(apps: AppService, app: AppRecord): AppInfo {
  return { ...app, paths: apps.paths(app.name) };
}

const appParam = (req: express.Request): string => String(req.params.app);

export function appsRouter(apps: AppService): Router {
  const r = express.Router();
  r.get('/', async (_req, res) => {
    res.json((await apps.list()).map((a) => infoOf(apps, a)));
  });
  r.post('/', async (req, res) => {
    res.status(201).json(infoOf(apps, await apps.create(bodyOf(createSchema, req).name)));
  });
  r.get('/:app', async (req, res) => {
    res.json(infoOf(apps, await apps.get(appParam(req))));
  });
  r.delete('/:app', async (req, res) => {
    await apps.destroy(appParam(req));
    res.json({ destroyed: appParam(req) } satisfies DestroyResult);
  });
  r.post('/:app/rename', async (req, res) => {
    res.json(infoOf(apps, await apps.rename(appParam(req), bodyOf(renameSchema, req).name)));
  });

  const buildpacks = async (name: string, edit: (list: string[]) => string[]): Promise<BuildpackList> => {
    const app = await apps.update(name, (a) => {
      a.buildpacks = edit(a.buildpacks);
    });
    return { buildpacks: app.buildpacks };
  };
  r.get('/:app/buildpacks', async (req, res) => {
    res.json({ buildpacks: (await apps.get(appParam(req))).buildpacks } satisfies BuildpackList);
  });
  r.post('/:app/buildpacks', async (req, res) => {
    const b = bodyOf(buildpackSchema, req);
    res.json(await buildpacks(appParam(req), (l) => addBuildpack(l, b.buildpack, b.index)));
  });
  r.put('/:app/buildpacks', async (req, res) => {
    const b = bodyOf(buildpackSchema, req);
    res.json(await buildpacks(appParam(req), (l) => setBuildpack(l, b.buildpack, b.index)));
  });
  r.delete('/:app/buildpacks', async (req, res) => {
    const buildpack = stringParam(req.query, 'buildpack');
    const index = numberParam(req.query, 'index');
    if (flagParam(req.query, 'all')) {
      if (buildpack !== undefined || index !== undefined)
        throw new BerthError('E_API_BAD_REQUEST', '?all=true clears the list: give it without ?buildpack= or ?index=');
      res.json(await buildpacks(appParam(req), () => []));
      return;
    }
    if (buildpack === undefined && index === undefined) {
      throw new BerthError('E_API_BAD_REQUEST', 'DELETE /v1/apps/:app/buildpacks needs ?buildpack=<buildpack>, ?index=<position> or ?all=true');
    }
    res.json(
      await buildpacks(appParam(req), (l) =>
        removeBuildpack(l, { ...(buildpack === undefined ? {} : { buildpack }), ...(index === undefined ? {} : { index }) }),
      ),
    );
  });

  r.put('/:app/builder', async (req, res) => {
    const { selected } = bodyOf(builderSchema, req);
    const builder = selected === '' ? undefined : validateBuilder(selected);
    const app = await apps.update(appParam(req), (a) => {
      if (builder === undefined) delete a.builder;
      else a.builder = builder;
    });
    res.json(infoOf(apps, app));
  });
  r.put('/:app/git', async (req, res) => {
    const branch = bodyOf(gitSchema, req)['deploy-branch'];
    if (branch !== '') validateDeployBranch(branch);
    const app = await apps.update(appParam(req), (a) => {
      if (branch === '') delete a.deployBranch;
      else a.deployBranch = branch;
    });
    res.json(infoOf(apps, app));
  });
  r.post('/:app/purge-cache', async (req, res) => {
    await apps.purgeCache(appParam(req));
    res.json({ purged: appParam(req) } satisfies PurgeResult);
  });
  return r;
}
