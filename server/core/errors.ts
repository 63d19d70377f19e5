/**
 * Berth's one error type and its code table (after fastify's lib/errors.js; docs/errors.md).
 *
 * Every error a user can see has a code `E_<AREA>_<WHAT>`, an HTTP status, a description
 * (what it means) and a hint (what to do). `docs/errors.md` lists the same table; a unit
 * test fails when the two drift apart.
 */

interface ErrorSpec {
  /** HTTP status the API answers with. */
  readonly status: number;
  /** What the error means, for docs/errors.md. */
  readonly description: string;
  /** What to do about it; shown after the message by the CLI and the API. */
  readonly hint: string;
}

export const errorTable = {
  E_CONFIG_INVALID: {
    status: 500,
    description: 'A configuration value (environment variable or config file) is not allowed.',
    hint: 'Fix or remove the value named in the message; `docs/configuration.md` lists every key and what it accepts.',
  },
  E_CONFIG_FILE_UNREADABLE: {
    status: 500,
    description: 'The configuration file named by BERTH_CONFIG (default /etc/berth/berth.conf) exists but cannot be read or parsed.',
    hint: "Check the file's permissions and that every line is KEY=VALUE.",
  },
  E_NAME_INVALID: {
    status: 400,
    description:
      'A name (app, process type, config key, container id, environment variable) contains a character or has a length that is not allowed, or an environment entry is not KEY=VALUE.',
    hint: 'Use only the characters the message lists; nothing is renamed for you.',
  },
  E_API_UNAUTHORIZED: {
    status: 401,
    description: 'The request carried no API token or a wrong one.',
    hint: 'Send `Authorization: Bearer <token>`; the token is in BERTH_HOME/api-token (mode 0600) on the server.',
  },
  E_API_NOT_FOUND: {
    status: 404,
    description: 'No API route matches the method and path.',
    hint: 'Check the path and method; `docs/api.md` lists the routes.',
  },
  E_API_BAD_REQUEST: {
    status: 400,
    description: 'The request body is not valid JSON or does not have the expected shape.',
    hint: 'Send a JSON body as the route documents it.',
  },
  E_BERTH_INTERNAL: {
    status: 500,
    description: 'An unexpected failure inside Berth.',
    hint: 'Look in the daemon log (BERTH_HOME/logs/daemon.log) for the cause, and report it with that log.',
  },
  E_DAEMON_PORT_IN_USE: {
    status: 500,
    description: 'The daemon, its nginx or its Redis cannot listen on a port because something else holds it.',
    hint: 'Stop the program named in the message, or choose another port (BERTH_API_PORT, BERTH_HTTP_PORT).',
  },
  E_DAEMON_ALREADY_RUNNING: {
    status: 500,
    description: 'Another Berth daemon already runs with the same BERTH_HOME.',
    hint: 'Use the running daemon (`berth status`), or stop it first (kill the PID in BERTH_HOME/daemon.pid).',
  },
  E_DAEMON_NO_PIPELINE: {
    status: 500,
    description: 'The daemon has no deploy pipeline wired to its queue, so a queued job was failed instead of being run.',
    hint: 'Run a Berth build that includes the deploy room (server/deploy); nothing was deployed, the running release is untouched.',
  },
  E_CLI_NOT_CONFIGURED: {
    status: 400,
    description: 'The CLI cannot tell which Berth API to talk to, or with which token.',
    hint: 'Set BERTH_API_URL and BERTH_TOKEN, or run `scripts/up` as root on the server, which writes ~/.config/berth/cli.json.',
  },
  E_CLI_UNREACHABLE: {
    status: 502,
    description: 'The CLI could not reach the Berth API.',
    hint: 'Check that the daemon runs (`scripts/up`, as root, starts it) and that the URL is right.',
  },
  E_CLI_BAD_RESPONSE: {
    status: 502,
    description: 'The Berth API answered with something the CLI does not understand.',
    hint: 'Make sure the CLI and the daemon are the same version (`berth version`).',
  },
  E_CLI_USAGE: {
    status: 400,
    description: 'A command was given options or arguments that do not go together, or a value it cannot use.',
    hint: 'The message names the option; `berth <command> --help` shows what the command accepts.',
  },
  E_STREAM_INVALID: {
    status: 400,
    description: 'A frame on an attach or exec stream is malformed or over the size limit; the stream is out of step and is closed.',
    hint: 'Make sure the CLI and the daemon are the same version (`berth version`); `docs/api.md` describes the frames.',
  },
  E_EXEC_NOT_FOUND: {
    status: 500,
    description: 'A program Berth needs is not installed.',
    hint: 'Install it with the command in the message (`scripts/up`, as root, installs everything Berth needs).',
  },
  E_EXEC_FAILED: {
    status: 500,
    description: 'A program Berth ran exited with an error.',
    hint: "Read the program's own output quoted in the message.",
  },
  E_FILE_WRITE_FAILED: {
    status: 500,
    description: 'A state file could not be written; the previous version is unchanged.',
    hint: 'Check free disk space and permissions under BERTH_HOME.',
  },
  E_REDIS_UNAVAILABLE: {
    status: 503,
    description: "Berth's Redis could not be started or reached.",
    hint: 'Read the Redis log (BERTH_HOME/redis/redis.log); check BERTH_REDIS_URL if you use an external Redis.',
  },
  E_NGINX_UNAVAILABLE: {
    status: 503,
    description: "Berth's nginx could not be started or reached.",
    hint: 'Read the nginx error log (BERTH_HOME/nginx/logs/error.log).',
  },
  E_NGINX_CONFIG_REJECTED: {
    status: 500,
    description: '`nginx -t` rejected a configuration Berth generated; the running configuration is unchanged.',
    hint: "The message quotes nginx's own words; fix the value it points at (a domain or a custom snippet).",
  },
  E_PROXY_DOMAIN_INVALID: {
    status: 400,
    description: 'A domain given for an app is not a lowercase hostname (or a leading `*.` wildcard over at least two labels); nothing was changed.',
    hint: 'The message names the domain and the character or label at fault; use lowercase letters, digits, dashes and dots, labels of 1 to 63 characters.',
  },
  E_PROXY_DOMAIN_TAKEN: {
    status: 409,
    description: 'Another app is already served at that domain; two apps never share one.',
    hint: 'Remove the domain from the app the message names first, or choose another domain.',
  },
  E_PROXY_UPSTREAM_INVALID: {
    status: 400,
    description: "An upstream of an app (a web container's address and port) is not an IPv4 address with a port from 1 to 65535; nothing was changed.",
    hint: "The message names the value; upstreams are the containers' bridge addresses, written as four decimal numbers without leading zeros.",
  },
  E_PROXY_OPTION_INVALID: {
    status: 400,
    description: 'A proxy option of an app (body size, a timeout, keepalive) is unknown or out of range; nothing was changed.',
    hint: 'The message names the option, the value and what is allowed; `docs/proxy.md` lists the options.',
  },
  E_PROXY_SNIPPET_INVALID: {
    status: 400,
    description: "An app's custom nginx snippet uses a character, a block or a directive that snippets may not use; nothing was changed.",
    hint: 'The message names the line and what is wrong; `docs/proxy.md` lists the directives a snippet may use.',
  },
  E_RUNTIME_FAILED: {
    status: 500,
    description: 'berth-runtime failed to create, start, stop or delete a container.',
    hint: "The message names the failing call, its object and errno; the runtime's own log is in the container's state directory.",
  },
  E_IMAGE_REFERENCE_INVALID: {
    status: 400,
    description: 'An image reference (name, tag or digest) does not parse.',
    hint: 'Write it as `name[:tag]`, `host[:port]/name[:tag]` or `name@sha256:<64 hex>`; names are lowercase letters, digits and `._-/` separators.',
  },
  E_IMAGE_NOT_FOUND: {
    status: 404,
    description: 'No image with that name, tag or digest is in the store.',
    hint: 'The message lists the images that exist; `berth images` lists them all, `berth image:import` or `berth image:pull` brings one in.',
  },
  E_IMAGE_DIGEST_MISMATCH: {
    status: 400,
    description: 'Content that came in (an archive member, a downloaded blob) does not hash to the digest it claims; nothing was stored.',
    hint: 'The source is corrupt or was tampered with: fetch or export it again.',
  },
  E_IMAGE_BLOB_CORRUPT: {
    status: 500,
    description: 'A blob in the image store no longer matches its digest; it is never used.',
    hint: 'Remove the image (`berth image:rm`) and import or pull it again; check the disk for errors.',
  },
  E_IMAGE_LAYER_UNSAFE: {
    status: 400,
    description:
      'A layer has an entry that would write outside its own directory (`../`, an absolute path, a write through a symlink, a hard link leaving the layer) or a device node that is not allowed; nothing was written outside.',
    hint: 'The message names the entry: the image is broken or hostile; rebuild it without that entry.',
  },
  E_IMAGE_LAYER_INVALID: {
    status: 400,
    description: 'A layer is not a readable tar stream (truncated, unknown compression, bad header).',
    hint: 'The message names the layer and what is wrong; export or build the image again.',
  },
  E_IMAGE_ARCHIVE_INVALID: {
    status: 400,
    description: 'An image archive or image document (docker save tarball, OCI archive, manifest, config) is malformed or incomplete.',
    hint: 'The message names the member or property; make the archive again with `docker save`, `skopeo copy` or `berth image:export`.',
  },
  E_IMAGE_DISK_FULL: {
    status: 507,
    description: 'The disk under BERTH_HOME filled up while writing to the image store; what was half-written was removed.',
    hint: 'Free space (`berth image:prune` removes unused images and layers) and try again.',
  },
  E_IMAGE_REGISTRY_UNREACHABLE: {
    status: 502,
    description:
      'A registry could not be reached (connection refused, timed out, name not resolved); the message says how long and how many times Berth tried.',
    hint: "Check the registry's host and port in the reference, that it runs, and that this server can reach it.",
  },
  E_IMAGE_REGISTRY_AUTH: {
    status: 401,
    description: 'A registry refused the credentials (or asked for some and none were given).',
    hint: 'Check the user name and password (or token) for that registry.',
  },
  E_IMAGE_REGISTRY_FAILED: {
    status: 502,
    description: 'A registry answered a push or pull with an error (its own code and message are quoted).',
    hint: "Read the registry's message; a missing repository or tag is named in it.",
  },
  E_IMAGE_STORE_LOCKED: {
    status: 409,
    description: 'Another process holds the image store open for writing (the message names its pid); two processes never write one store.',
    hint: 'The daemon owns BERTH_HOME/images: go through `berth` and the API, or stop the process named (a lock whose process died is already free).',
  },
  E_IMAGE_IN_USE: {
    status: 409,
    description: "The image's last tag cannot be removed: a container uses the image.",
    hint: 'Remove the container first (the message names it), or force the removal (`berth image:rm -f`; the container keeps its image until it is removed).',
  },
  E_CONTAINER_NOT_FOUND: {
    status: 404,
    description: 'No container has that id, id prefix or name.',
    hint: '`berth container:ls -a` lists every container; the message names the closest names, if any.',
  },
  E_CONTAINER_AMBIGUOUS: {
    status: 400,
    description: 'An id prefix matches more than one container.',
    hint: 'Give more characters of the id (the message lists the matching ones), or the full id or the name.',
  },
  E_CONTAINER_NAME_IN_USE: {
    status: 409,
    description: 'Another container already has that name.',
    hint: 'Choose another name, or remove the other container first (`berth container:rm NAME`).',
  },
  E_CONTAINER_RUNNING: {
    status: 409,
    description: 'The operation needs a stopped container and this one runs.',
    hint: 'Stop it first (`berth container:stop`), or force it (`berth container:rm -f`).',
  },
  E_CONTAINER_NOT_RUNNING: {
    status: 409,
    description: 'The operation needs a running container and this one is created or exited.',
    hint: 'Start it first (`berth container:start`).',
  },
  E_CONTAINER_INVALID: {
    status: 400,
    description: 'A container option is not allowed (a name, a memory or CPU limit, a port, a user, a command).',
    hint: 'The message names the option, the value and what is allowed; nothing was created.',
  },
  E_CONTAINER_START_FAILED: {
    status: 500,
    description: "berth-runtime could not create or start the container's process (program not found, not executable, a mount or network failure).",
    hint: "The message quotes the runtime's own words; fix the command or the image, then start the container again.",
  },
  E_APP_NOT_FOUND: {
    status: 404,
    description: 'No app has that name.',
    hint: '`berth apps:list` lists the apps; `berth apps:create APP` creates one.',
  },
  E_APP_EXISTS: {
    status: 409,
    description: 'An app with that name already exists; nothing was created or renamed.',
    hint: 'Choose another name, or destroy the other app first (`berth apps:destroy APP`).',
  },
  E_APP_SETTING_INVALID: {
    status: 400,
    description:
      "A value for an app's setting (a buildpack, the builder, the deploy branch, a buildpack index, a config var, a scale) or a release's field is not allowed; nothing was changed.",
    hint: 'The message names the value and what is allowed; `docs/apps.md` lists every setting (`berth buildpacks:list APP`, `berth apps:info APP` show the current ones).',
  },
  E_APP_RECORD_INVALID: {
    status: 500,
    description:
      "An app's state file (app.json or a release under BERTH_HOME/apps/<app>/) does not parse or does not have the expected shape; it is never repaired silently.",
    hint: 'The message names the file and the field; restore it from a backup, or fix the field by hand while the daemon is stopped.',
  },
  E_APP_USERNS_EXHAUSTED: {
    status: 507,
    description: 'Every user-namespace range Berth hands out to apps is taken (one per app, `docs/apps.md`); the app was not created.',
    hint: 'Destroy apps you no longer need (`berth apps:destroy APP`), or free ranges that /etc/subuid and /etc/subgid reserve in the window.',
  },
  E_APP_DESTROY_UNCONFIRMED: {
    status: 400,
    description:
      '`apps:destroy` was not confirmed: the name typed again did not match, or there is no terminal to ask on and `--force` was not given; nothing was removed.',
    hint: "Type the app's name exactly when asked, or run `berth apps:destroy APP --force`.",
  },
  E_APP_DESTROYING: {
    status: 409,
    description: 'The app is being destroyed (`apps:destroy` has begun): a push to it, or a change of it, is refused; nothing was stored.',
    hint: 'Wait for `apps:destroy` to finish; `berth apps:create APP` then makes a new app of that name.',
  },
  E_APP_DEPLOY_RUNNING: {
    status: 409,
    description: 'A deploy of the app is running or waiting in the queue, so it cannot be destroyed or renamed now; nothing was changed.',
    hint: '`berth builds:list APP` shows the jobs; wait for them to end, or stop them with `berth builds:cancel APP`, then run the command again.',
  },
  E_RELEASE_NOT_FOUND: {
    status: 404,
    description: 'The app has no release with that number.',
    hint: '`berth releases APP` lists its releases.',
  },
  E_GIT_SSH_KEY_INVALID: {
    status: 400,
    description:
      'A public key given to `ssh-keys:add` is not one OpenSSH public key line (type, base64 blob, optional comment): a private key, options before the key, several keys, a type OpenSSH does not accept by default (DSA, certificates), an RSA key under 2048 bits, or a blob that does not hold what its type says; nothing was stored.',
    hint: 'Give the `.pub` file (`ssh-keygen -y -f KEY` prints the public key of a private one), one key per `ssh-keys:add`; the message says what is wrong.',
  },
  E_GIT_SSH_KEY_EXISTS: {
    status: 409,
    description: 'A key with that name is already added, or the same key is already added under another name (the message names it); nothing was changed.',
    hint: 'Choose another name, or remove the key the message names first (`berth ssh-keys:remove NAME`).',
  },
  E_GIT_SSH_KEY_NOT_FOUND: {
    status: 404,
    description: 'No SSH key has that name.',
    hint: '`berth ssh-keys:list` shows the keys there are.',
  },
  E_GIT_SSH_USER_UNUSABLE: {
    status: 503,
    description:
      'The system user sshd runs git over SSH as (BERTH_SSH_USER, default berth) does not exist, is root, has no shell to run the forced command with, or has a home or `~/.ssh` that sshd would not trust; no key was installed.',
    hint: 'Run `scripts/up` (it creates the user), or fix what the message names; `docs/ssh.md` says what the user needs.',
  },
  E_GIT_SSH_COMMAND_REFUSED: {
    status: 403,
    description: "A command sent over SSH is neither git's push or fetch of an app nor a Berth command that may run over SSH: Berth gives no shell.",
    hint: 'Push with `git push ssh://berth@HOST/APP`, or run a Berth command such as `ssh berth@HOST apps:list`; `ssh berth@HOST help` lists them.',
  },
  E_QUEUE_UNAVAILABLE: {
    status: 503,
    description: 'The deploy queue could not reach its Redis in time; nothing was queued or changed.',
    hint: 'Check that Redis runs (`berth status`) and read its log (BERTH_HOME/redis/redis.log); with BERTH_REDIS_URL, check that server.',
  },
  E_QUEUE_JOB_NOT_FOUND: {
    status: 404,
    description: "No job has that id: it never existed, or it finished long enough ago to be removed (the queue keeps each app's last finished jobs).",
    hint: '`berth builds:list APP` lists the jobs that exist.',
  },
  E_QUEUE_JOB_ID_INVALID: {
    status: 400,
    description: 'A job id is not of the form `<app>.<number>`.',
    hint: 'Give the id as `berth builds:list` shows it, for example hello.12.',
  },
  E_QUEUE_JOB_INVALID: {
    status: 400,
    description:
      'A job handed to the deploy queue is malformed (an unknown kind, a commit that is not 40 hex digits, a scale that is not a count); nothing was queued.',
    hint: 'The message names the field and what it must be.',
  },
  E_QUEUE_TIMEOUT: {
    status: 504,
    description: 'A job ran longer than its time limit and was stopped before it finished.',
    hint: "Read the job's output (`berth builds:output APP ID`) to see which stage hung, fix it, and push again.",
  },
  E_QUEUE_CANCELLED: {
    status: 409,
    description: 'The job was cancelled (`builds:cancel`) before it finished.',
    hint: 'Push again (or repeat the command) when you want it to run.',
  },
  E_QUEUE_INTERRUPTED: {
    status: 500,
    description:
      'The daemon stopped (it crashed or was killed) while this job ran; at the next start the job was marked failed and what it left was cleaned up.',
    hint: 'Push again (or repeat the command); the daemon log around that time says why it stopped.',
  },
  E_DEPLOY_SOURCE_INVALID: {
    status: 422,
    description:
      "The pushed commit's tree holds what a deploy refuses: a symlink leading outside the tree, a file larger than BERTH_GIT_MAX_FILE_BYTES, a tree larger than BERTH_BUILD_CONTEXT_MAX, or an entry that is not a file, a directory or a link.",
    hint: 'Remove the entry the message names from the repository (rewriting the commits that added a large file), commit, and push again.',
  },
  E_DEPLOY_COMMIT_NOT_FOUND: {
    status: 404,
    description: "The commit a deploy was asked to build is not in the app's repository.",
    hint: 'Push the branch again; the message quotes what git said.',
  },
  E_DEPLOY_PROCESS_TYPES: {
    status: 422,
    description:
      'The built image has nothing to run: no Procfile, no buildpack default process type and no Dockerfile CMD or ENTRYPOINT; or its `berth.process-types` label is not a JSON object of type → command.',
    hint: 'Add a Procfile with a web process (`web: <command>`), or a CMD to the Dockerfile, commit, and push again.',
  },
  E_DEPLOY_PORT_AMBIGUOUS: {
    status: 422,
    description:
      "A Dockerfile image EXPOSEs several TCP ports and the app's PORT config var names none of them, so Berth cannot tell where the web process listens.",
    hint: "Set the app's PORT config var to the port the web process listens on (`berth config:set APP PORT=<port>`), or EXPOSE only that one.",
  },
  E_DEPLOY_APP_JSON_INVALID: {
    status: 422,
    description: "The app's `app.json` is not a JSON object, or a field Berth reads from it (`scripts.dokku.predeploy`) has the wrong type.",
    hint: 'Fix the field the message names, commit, and push again.',
  },
  E_DEPLOY_SCALE_INVALID: {
    status: 400,
    description: 'A scale names a process type the current release does not have (or the `release` type, which runs once per release and is never scaled).',
    hint: 'Scale one of the process types the message lists, or add the type to the Procfile and push first.',
  },
  E_GIT_FAILED: {
    status: 500,
    description:
      "A git program Berth runs on an app's repository (receive-pack, upload-pack, pack-objects, ls-tree) failed; the message quotes git's own words.",
    hint: "Read git's message; check that git is installed (apt-get install -y git) and that the app's repository under BERTH_HOME/apps is intact.",
  },
  E_GIT_PUSH_INVALID: {
    status: 400,
    description:
      "What the pre-receive hook reported of a push is not deployable: a ref that is not a branch, a commit that is not 40 hex digits or not in the app's repository, a quarantine directory that is not the repository's.",
    hint: 'Push a branch (`git push berth main`); the message names the field that is wrong.',
  },
  E_GIT_REF_MOVED: {
    status: 409,
    description:
      'Another push to the same app moved the pushed branch while this push waited its turn (pushes to one app run one at a time): the push was based on what the branch was before; nothing was deployed or stored.',
    hint: 'Fetch what the other push stored and push again: `git pull --rebase berth main`, then `git push berth main`.',
  },
  E_GIT_SYMLINK_OUTSIDE: {
    status: 422,
    description: "The pushed commit has a symlink that leads outside the repository's tree (an absolute target, or `..` beyond the top); nothing was deployed.",
    hint: 'Remove the symlinks the message lists or point them inside the repository, commit, and push again.',
  },
  E_GIT_FILE_TOO_LARGE: {
    status: 422,
    description: 'The pushed commit has a file larger than the daemon accepts (BERTH_GIT_MAX_FILE_BYTES); nothing was deployed.',
    hint: 'Remove the files the message lists from the commit (keep large data outside git), or raise BERTH_GIT_MAX_FILE_BYTES on the server.',
  },
  E_BUILD_DOCKERFILE_INVALID: {
    status: 400,
    description: 'A Dockerfile has a syntax error: an unknown instruction, a malformed argument, an unterminated quote or a bad variable substitution.',
    hint: 'The message names the file, the line and what is wrong there; fix that line and build again.',
  },
  E_BUILD_UNSUPPORTED: {
    status: 400,
    description:
      'A Dockerfile uses an instruction, a flag or a form Berth does not build (refused by name, never ignored), or asks for something a build may not do (a download with `ADD <url>`, another platform).',
    hint: 'The message names the line and what to write instead; `docs/builds.md` lists what is supported.',
  },
  E_BUILD_OPTIONS_INVALID: {
    status: 400,
    description: "A build option is not allowed: a tag, a build argument, a label, a limit, or the Dockerfile's path.",
    hint: 'The message names the option and the value; fix it and build again.',
  },
  E_BUILD_CONTEXT_INVALID: {
    status: 400,
    description:
      'The build context is not a readable directory, it has no Dockerfile at the path given, or the tar the API received holds an entry it may not (an absolute path, `..`, a link leading outside the context, a device or a FIFO) or is not a tar.',
    hint: 'Give a directory that holds the Dockerfile (or name the Dockerfile with `-f`); the message names the entry to remove from the context.',
  },
  E_BUILD_CONTEXT_TOO_LARGE: {
    status: 413,
    description: 'The build context sent to the API is larger than the daemon accepts (BERTH_BUILD_CONTEXT_MAX).',
    hint: "Leave out what the build does not need with `.dockerignore`, or raise BERTH_BUILD_CONTEXT_MAX in the daemon's configuration.",
  },
  E_BUILD_BASE_NOT_FOUND: {
    status: 404,
    description:
      "The image a `FROM` names is neither in Berth's image store nor pullable (its reference names no registry, or the pull failed); a `COPY --from` image is not pulled.",
    hint: 'Bring the image in first (`berth image:pull`, `image:import` or `image:base`), or fix the name on the line the message names.',
  },
  E_BUILD_STAGE_NOT_FOUND: {
    status: 400,
    description: 'A `--target` or a `COPY --from` names a stage the Dockerfile does not have (or one defined later).',
    hint: 'The message lists the stages there are; use one of their names or indexes.',
  },
  E_BUILD_COPY_OUTSIDE_CONTEXT: {
    status: 400,
    description:
      'A `COPY` or `ADD` source leads outside the build context (`../x`, or a symlink pointing out of it); nothing outside the context is ever read.',
    hint: 'Move what you need into the context directory and copy it from there.',
  },
  E_BUILD_COPY_NOT_FOUND: {
    status: 400,
    description: 'A `COPY` or `ADD` source matches nothing in the build context (after `.dockerignore`) or in the stage or image it copies from.',
    hint: 'Check the path on the line the message names, and that `.dockerignore` does not exclude it.',
  },
  E_BUILD_RUN_FAILED: {
    status: 422,
    description: 'A `RUN` step exited with a non-zero status; the message gives the status and the last lines of its output.',
    hint: 'Fix the command on the line the message names (its output shows why it failed) and build again.',
  },
  E_BUILD_RUN_OOM: {
    status: 422,
    description: "A `RUN` step was killed by the kernel's OOM killer: it needed more memory than the build's memory limit.",
    hint: "Raise the build's memory limit (the message names it) or make the step use less memory.",
  },
  E_BUILD_CANCELLED: {
    status: 499,
    description: "The build was cancelled (the client went away or asked to stop); the running step's container was removed and nothing was tagged.",
    hint: 'Build again when you are ready; the steps that had finished are in the cache.',
  },
  E_BUILD_PROCFILE_INVALID: {
    status: 400,
    description:
      'A Procfile line is not `name: command`, a process type name has a character other than letters, digits, `_` and `-`, a name is declared twice, or a command is empty.',
    hint: 'The message names the line; fix it (docs/buildpacks.md, "Procfile") and push or build again.',
  },
  E_BUILD_APP_JSON_INVALID: {
    status: 400,
    description: "The app's `app.json` is not JSON, or its `buildpacks` is not a list of `{url}` objects.",
    hint: 'Fix app.json (the message says where) or remove its `buildpacks` key, and build again.',
  },
  E_BUILD_BUILDPACK_UNAVAILABLE: {
    status: 422,
    description:
      'A buildpack the build asks for cannot be had: no bundled buildpack of that name, a local path that is not a buildpack directory (no executable `bin/detect` and `bin/compile`), or a git URL that cannot be cloned (or has no such ref).',
    hint: 'Check the name, path or URL (`berth buildpacks:list APP` shows what the app asks for); the message gives the git or file error.',
  },
  E_BUILD_BUILDPACK_NOT_DETECTED: {
    status: 422,
    description: 'No buildpack recognised the app (every `bin/detect` tried exited non-zero), or a buildpack the app names explicitly does not recognise it.',
    hint: 'Add a Procfile, or the file the buildpack for your language looks for (the message lists those tried), or set the buildpacks with `berth buildpacks:set APP …`.',
  },
  E_BUILD_BUILDPACK_FAILED: {
    status: 422,
    description:
      "A buildpack's `bin/compile` or `bin/release` exited non-zero (or was killed for using more than the build's memory limit); the message gives the exit code and its last lines. The cache is left as it was before the build.",
    hint: 'Its output above says why; fix the app (or the buildpack) and push again. A build over the memory limit needs a higher BERTH_BUILD_MEMORY.',
  },
  E_BUILD_BUILDPACK_RELEASE_INVALID: {
    status: 422,
    description:
      "A buildpack's `bin/release` printed something that is not the YAML the classic buildpack API describes (a map with `default_process_types` and `config_vars` maps of strings).",
    hint: 'The message names the buildpack and the line; fix its bin/release output.',
  },
  E_RELEASE_PLAN_INVALID: {
    status: 400,
    description:
      'A release cannot be deployed as planned: a bad app name, process type, config key, domain or user namespace, or a scale naming a process type the release does not have; nothing was started.',
    hint: 'The message lists every problem; fix the Procfile, the scale or the app setting it names and deploy again.',
  },
  E_RELEASE_HEALTHCHECKS_INVALID: {
    status: 400,
    description:
      "The app's app.json `healthchecks` do not validate: an unknown or misspelt key, a value out of range, a check with no strategy or with two, or `onFailure` (not supported); nothing was started.",
    hint: 'The message names each key at fault (`healthchecks.web[0].timeout`); `docs/releases.md` lists the fields and their ranges.',
  },
  E_RELEASE_PHASE_FAILED: {
    status: 422,
    description:
      'The release phase (the Procfile `release:` command) exited with a non-zero status; no new process was started and the running release is untouched.',
    hint: 'Its exit status and last lines are in the message; fix the command (or what it needs, such as a database) and deploy again.',
  },
  E_RELEASE_START_FAILED: {
    status: 422,
    description: 'A container of the new release could not be created or started; the others were removed and the running release is untouched.',
    hint: "The message quotes the container's error (a missing program, a bad limit); fix it and deploy again.",
  },
  E_RELEASE_CHECK_FAILED: {
    status: 422,
    description:
      'A new container failed its health check (it never listened on its PORT, exited, answered an error, or a check command failed); the new containers were removed and the running release keeps serving, untouched.',
    hint: "The message gives the check's output and the container's last log lines; make the app listen on $PORT (0.0.0.0) and pass its checks, then deploy again.",
  },
  E_RELEASE_SWITCH_FAILED: {
    status: 503,
    description:
      "An app's route could not be changed because nginx was down and did not come back in time: at a deploy's switch (the new containers were removed, the running release is untouched) or at apps:destroy (nothing was removed).",
    hint: 'Read the nginx error log (BERTH_HOME/nginx/logs/error.log); try again once nginx runs.',
  },
  E_RELEASE_CANCELLED: {
    status: 499,
    description: 'The deploy was cancelled before its switch; the new containers were removed and the running release is untouched.',
    hint: 'Deploy again when you want it to run.',
  },
  E_RELEASE_STOP_FAILED: {
    status: 500,
    description: "Some of an app's containers could not be stopped and removed (apps:destroy).",
    hint: 'The daemon log names each container and why; remove them with `berth container:rm -f` and try again.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorTable;

/**
 * The code areas: `E_<AREA>_<WHAT>`, each owned by one part of Berth. The areas of the parts
 * not built yet are reserved here so that their codes land in one place (docs/architecture.md).
 * A unit test checks that every code belongs to an area listed here.
 */
export const errorAreas = {
  CONFIG: 'config: daemon settings',
  NAME: 'core: names of apps, process types, config keys, containers',
  API: 'api: routes, tokens and request bodies',
  BERTH: 'anything unexpected',
  DAEMON: 'daemon.ts: start-up and the embedded services',
  CLI: 'cli: usage and talking to the API',
  STREAM: 'core: attach and exec stream frames',
  EXEC: 'core: running programs',
  FILE: 'core: atomic files',
  REDIS: 'redis: the embedded Redis',
  NGINX: 'proxy: the embedded nginx',
  RUNTIME: 'runtime: berth-runtime',
  IMAGE: 'images: the image store and registries',
  CONTAINER: 'containers: Docker-like containers',
  APP: 'apps: app records, settings, releases and their user-namespace ranges',
  GIT: 'git: repositories, pushes and the hook',
  QUEUE: 'queue: the deploy queue',
  DEPLOY: "deploy: the pipeline's stages",
  BUILD: 'build: Dockerfile and buildpack builds',
  RELEASE: 'release: release phase, containers, health checks, switch and retire',
  PROXY: 'proxy: per-app nginx config',
  PLUGIN: 'plugins: plugin.toml, triggers and subcommands (reserved)',
  SERVICE: 'service plugins: Postgres, Redis (reserved)',
} as const;

export interface BerthErrorOptions {
  /** Overrides the table's hint when the situation allows a more precise one. */
  hint?: string;
  /** The lower-level error this one wraps (the TS form of crun_error_wrap). */
  cause?: unknown;
  /** Structured facts for logs and the API (key, value, path…). */
  details?: Record<string, unknown>;
}

/** The error every Berth layer throws. Never throw strings; wrap with `cause`. */
export class BerthError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: BerthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BerthError';
    this.code = code;
    this.hint = options.hint ?? errorTable[code].hint;
    this.details = options.details ?? {};
  }

  /** The HTTP status the API answers this error with. */
  get httpStatus(): number {
    return errorTable[this.code].status;
  }

  /** The API's rendering: `{error: {code, message, hint}}`. */
  toJSON(): { error: { code: ErrorCode; message: string; hint: string; details?: Record<string, unknown> } } {
    const body = { code: this.code, message: this.message, hint: this.hint };
    return { error: Object.keys(this.details).length > 0 ? { ...body, details: this.details } : body };
  }
}

export function isBerthError(value: unknown): value is BerthError {
  return value instanceof BerthError;
}

/**
 * Whether `value` is a Node system error with one of `codes` (`isErrno(e, 'ENOENT')`),
 * instead of casting to NodeJS.ErrnoException at every catch.
 */
export function isErrno(value: unknown, ...codes: string[]): value is NodeJS.ErrnoException {
  if (typeof value !== 'object' || value === null) return false;
  const code = (value as { code?: unknown }).code;
  return typeof code === 'string' && codes.includes(code);
}

/**
 * Where in a document a validation problem is (zod's issue path): `process.args[0]`, or
 * `whole` for the document itself. Validators list every problem with it, never just the
 * first.
 */
export function issuePath(path: readonly PropertyKey[], whole: string): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out === '' ? '' : '.'}${String(p)}`;
  return out === '' ? whole : out;
}

/** Any thrown value as a BerthError: BerthErrors pass through, the rest become E_BERTH_INTERNAL. */
export function toBerthError(value: unknown): BerthError {
  if (value instanceof BerthError) return value;
  let message: string;
  try {
    message = value instanceof Error ? value.message : String(value);
  } catch {
    message = Object.prototype.toString.call(value); // an object without toString
  }
  return new BerthError('E_BERTH_INTERNAL', message, { cause: value });
}
