/**
 * core's surface: what other folders of server/ use (docs/architecture.md), plus the types
 * in the signatures of these exports. Tests import the inner files directly.
 */
export { BerthError, errorTable, isErrno, issuePath, toBerthError, type ErrorCode, type BerthErrorOptions } from './errors.js';
export { validateAppName, validateProcessType, validateConfigKey, validateContainerId } from './names.js';
export { run, start, runStreaming, type RunOptions, type RunResult, type StreamingOptions, type OutputStream } from './exec.js';
export { KeyedLock } from './lock.js';
export { parseEnvEntry, mergeEnv, envRecord, DEFAULT_PATH, type EnvEntry } from './env.js';
export { fsyncPath, writeNewFile, readTextIfExists } from './fs.js';
export { formatBytes, type FormatBytesOptions } from './bytes.js';
export { writeFileAtomic, removeStaleTempFiles, type AtomicWriteOptions } from './atomic-file.js';
export { markers, renderError } from './output.js';
export { createLogger, type Logger, type Level, type LoggerOptions } from './log.js';
export { berthVersion, nodeVersion } from './version.js';
export { whoListensOn, describePortHolder, freePort, type PortHolder } from './ports.js';
export { Supervisor, type SupervisorOptions } from './supervisor.js';
export { livePid, killStale } from './pidfile.js';
export { cannotRunStatus } from './exit-status.js';
export { frameTypes, encodeFrame, encodeResize, decodeResize, FrameDecoder, MAX_FRAME_PAYLOAD, type Frame, type FrameType } from './frames.js';
export { parseProcfile } from './procfile.js';
export { ignorePatterns, dockerignoreMatcher, type IgnoreMatcher } from './dockerignore.js';
