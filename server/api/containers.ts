/**
 * /v1/containers: Docker-like containers through the API (docs/api.md, "Containers").
 * attach and exec are streams (HTTP Upgrade): streams.ts.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { BerthError, type Logger } from '../core/index.js';
import { createRequestSchema } from '../containers/index.js';
import { imageView } from './images.js';
import { closedSignal, streamNdjson } from './ndjson.js';
import { bodyOf, flagParam, numberParam, refParam, repeatedParam, stringParam } from './params.js';
import type { ContainerService } from './services.js';
import type { LogLine, RemoveResult } from './wire.js';

const commitSchema = z.strictObject({
  reference: z.string().min(1).optional(),
  message: z.string().optional(),
  author: z.string().optional(),
  changes: z
    .strictObject({
      cmd: z.array(z.string()).optional(),
      entrypoint: z.array(z.string()).optional(),
      env: z.array(z.string()).optional(),
      workdir: z.string().optional(),
      exposedPorts: z.array(z.string()).optional(),
      labels: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
});

export function containersRouter(containers: ContainerService, log: Logger): Router {
  const r = express.Router();
  r.get('/', (req, res) => {
    res.json(containers.list({ all: flagParam(req.query, 'all'), labels: repeatedParam(req.query, 'label') }));
  });
  r.post('/', async (req, res) => {
    res.status(201).json(await containers.create(bodyOf(createRequestSchema, req)));
  });
  r.get('/:ref', (req, res) => {
    res.json(containers.inspect(refParam(req)));
  });
  r.delete('/:ref', async (req, res) => {
    res.json({ removed: await containers.remove(refParam(req), flagParam(req.query, 'force')) } satisfies RemoveResult);
  });
  r.post('/:ref/start', async (req, res) => {
    res.json(await containers.start(refParam(req)));
  });
  r.post('/:ref/stop', async (req, res) => {
    res.json(await containers.stop(refParam(req), numberParam(req.query, 'timeout') ?? 10));
  });
  r.post('/:ref/kill', async (req, res) => {
    res.json(await containers.kill(refParam(req), stringParam(req.query, 'signal') ?? 'KILL'));
  });
  r.get('/:ref/stats', async (req, res) => {
    res.json(await containers.stats(refParam(req)));
  });
  r.post('/:ref/commit', async (req, res) => {
    const b = bodyOf(commitSchema, req);
    res.status(201).json(imageView(await containers.commit(refParam(req), b)));
  });
  r.get('/:ref/logs', async (req, res) => {
    const tail = stringParam(req.query, 'tail') === 'all' ? undefined : numberParam(req.query, 'tail'); // Docker's --tail all
    flagParam(req.query, 'timestamps'); // every line carries its time; the client shows it or not
    const signal = closedSignal(res);
    // Asked before the answer starts, so an unknown container is a 404, not an error line.
    const lines = containers.logs(refParam(req), { follow: flagParam(req.query, 'follow'), ...(tail === undefined ? {} : { tail: Math.floor(tail) }), signal });
    await streamNdjson<never, LogLine>(res, log, 'reading a container log', async (out) => {
      for await (const line of lines) {
        await out.line(line);
        if (out.signal.aborted) break;
      }
      return undefined;
    });
  });
  for (const what of ['attach', 'exec']) {
    r.post(`/:ref/${what}`, () => {
      throw new BerthError(
        'E_API_BAD_REQUEST',
        `POST /v1/containers/:ref/${what} is a stream: send it with \`Connection: Upgrade\` and \`Upgrade: berth-stream\``,
      );
    });
  }
  return r;
}
