/**
 * The apps room (docs/apps.md): app state under BERTH_HOME, what other folders of server/
 * use. Tests import the inner files directly.
 */
export { AppStore, type AppStoreOptions } from './store.js';
export { builderNames, DEFAULT_DEPLOY_BRANCHES, validateBuilder, validateBuildpack, validateDeployBranch } from './settings.js';
export { addBuildpack, removeBuildpack, setBuildpack } from './buildpack-list.js';
export { defaultUsernsPolicy, type UsernsPolicy } from './userns.js';
export type { AppHooks, AppPaths, AppRecord, BuilderName, ReleaseRecord, UsernsRange } from './types.js';
