/**
 * /v1/ssh-keys: the keys that may push and run Berth commands over SSH (docs/api.md,
 * "SSH keys"; docs/ssh.md). The public key's blob is never answered back: a key shows as
 * its name, type, size, fingerprint and comment.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import type { SshKey, SshKeyView } from '../git/index.js';
import { bodyOf } from './params.js';

/** What the routes use of the key store (server/git's SshKeyStore). */
export interface SshKeyService {
  list(): Promise<SshKey[]>;
  add(name: string, text: string): Promise<SshKey>;
  remove(name: string): Promise<SshKey>;
}

const addSchema = z.strictObject({ name: z.string(), key: z.string() });

const view = ({ key: _blob, ...rest }: SshKey): SshKeyView => rest;

export function sshKeysRouter(keys: SshKeyService): Router {
  const r = express.Router();
  r.get('/', async (_req, res) => {
    res.json((await keys.list()).map(view));
  });
  r.post('/', async (req, res) => {
    const body = bodyOf(addSchema, req);
    res.status(201).json(view(await keys.add(body.name, body.key)));
  });
  r.delete('/:name', async (req, res) => {
    res.json(view(await keys.remove(String(req.params.name))));
  });
  return r;
}
