/**
 * `berth images` and `berth image:*`: the image store through the daemon's API, with
 * Docker's words and columns where Docker has them (docs/images.md). The declarations
 * only: each action loads its command's file when it runs (lib/command.ts).
 */
import { Argument, Command, Option } from '@commander-js/extra-typings';
import { formatOption, type CommandDeclaration } from '../../lib/command.js';
import { collect } from '../container/options.js';

const images = new Command('images')
  .description('list the images in the store')
  .addOption(formatOption())
  .action(async (o) => (await import('./list.js')).list(o));

const inspect = new Command('image:inspect')
  .description('show an image: digests, layers, config and history (JSON)')
  .argument('<image>', 'name[:tag], name@sha256:…, or a manifest digest')
  .action(async (image) => (await import('./inspect.js')).inspect(image));

const history = new Command('image:history')
  .description("show how an image's layers were made")
  .argument('<image>')
  .addOption(formatOption())
  .action(async (image, o) => (await import('./history.js')).history(image, o));

const tag = new Command('image:tag')
  .description('give an image another name')
  .argument('<source>')
  .argument('<target>')
  .action(async (source, target) => (await import('./tag.js')).tag(source, target));

const rm = new Command('image:rm')
  .description('remove tags; `image:prune` then frees what no tag, container or release uses')
  .argument('<image...>')
  .option('-f, --force', 'remove the last tag of an image containers still use (they keep running; prune keeps its blobs while they exist)')
  .action(async (refs, o) => (await import('./rm.js')).rm(refs, o));

const prune = new Command('image:prune')
  .description('remove every blob and unpacked layer that nothing uses (the build cache keeps its images unless --build-cache)')
  .option('--build-cache', 'drop the build cache first, so that its images go too (as builder:prune)')
  .addOption(formatOption())
  .action(async (o) => (await import('./prune.js')).prune(o));

const builderPrune = new Command('builder:prune')
  .description('drop the build cache and remove what only it kept (image:prune --build-cache)')
  .addOption(formatOption())
  .action(async (o) => (await import('./prune.js')).prune({ ...o, buildCache: true }));

const build = new Command('image:build')
  .description(
    'build an image from a Dockerfile, or with buildpacks when DIR has none; DIR is the build context, sent to the daemon less what .dockerignore excludes',
  )
  .argument('<dir>', 'the build context')
  .option('-f, --file <file>', 'the Dockerfile (default: DIR/Dockerfile)')
  .option('-t, --tag <name[:tag]>', 'name the image; repeatable', collect, [] as string[])
  .option('--build-arg <K=V>', 'set a build argument (K alone takes it from your environment); repeatable', collect, [] as string[])
  .option('--target <stage>', 'build up to this stage')
  .option('--no-cache', 'run every step, ignoring the build cache')
  .option('--label <K=V>', 'add a label to the image; repeatable', collect, [] as string[])
  .option('-q, --quiet', "print only the image's digest")
  .addOption(
    new Option('--builder <builder>', 'which builder (default: dockerfile when DIR has a Dockerfile, else herokuish)').choices([
      'dockerfile',
      'herokuish',
    ] as const),
  )
  .option(
    '--buildpack <name|path|url>',
    'a buildpack for a buildpack build (bundled name, path on the server, git URL#ref); repeatable, in order',
    collect,
    [] as string[],
  )
  .addOption(formatOption())
  .action(async (dir, o) => (await import('./build.js')).build(dir, o));

const base = new Command('image:base')
  .description("build a base image from Debian's packages: busybox (from busybox-static) or stack (debootstrap bookworm), once")
  .addArgument(new Argument('<name>', 'which base image').choices(['busybox', 'stack'] as const))
  .option('--rebuild', 'build it again even when it exists')
  .action(async (name, o) => (await import('./base.js')).base(name, o));

const pull = new Command('image:pull')
  .description('pull an image from a registry (host[:port]/name[:tag])')
  .argument('<reference>')
  .option('-u, --username <user>', 'registry user')
  .option('--password-stdin', 'read the registry password from stdin')
  .action(async (reference, o) => (await import('./pull.js')).pull(reference, o));

const push = new Command('image:push')
  .description('push an image to a registry')
  .argument('<image>', 'the local image')
  .argument('[target]', "host[:port]/name[:tag] (default: the image's own name)")
  .option('-u, --username <user>', 'registry user')
  .option('--password-stdin', 'read the registry password from stdin')
  .action(async (image, target, o) => (await import('./push.js')).push(image, target, o));

const importCommand = new Command('image:import')
  .description('import a docker save tarball or an OCI archive ("-" reads stdin)')
  .argument('<file>')
  .option('-t, --tag <tag>', 'tag the image (when the archive holds one)')
  .action(async (file, o) => (await import('./import.js')).importArchive(file, o));

const exportCommand = new Command('image:export')
  .description('write images as an OCI archive or a docker save tarball')
  .argument('<image...>')
  .requiredOption('-o, --output <file>', 'the archive to write ("-" for stdout)')
  .addOption(new Option('--format <format>', 'archive format').choices(['oci-archive', 'docker-archive'] as const).default('oci-archive' as const))
  .action(async (refs, o) => (await import('./export.js')).exportArchive(refs, o));

export const imageCommands: CommandDeclaration[] = [
  images,
  inspect,
  history,
  tag,
  rm,
  prune,
  builderPrune,
  build,
  base,
  pull,
  push,
  importCommand,
  exportCommand,
].map((command) => ({ command }));
