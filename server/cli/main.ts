#!/usr/bin/env node
import { main } from './program.js';

const status = await main(process.argv.slice(2));
// The daemon keeps running after its action resolves; every other command exits now.
if (process.argv[2] !== 'daemon' || process.argv.includes('--print-config') || status !== 0) process.exit(status);
