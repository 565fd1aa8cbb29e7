// @ts-check
/** Where experiments, profiles and runs live, relative to the workspace root. */
module.exports = {
  /** the Nx project that receives the inferred targets */
  PROJECT_ROOT: 'packages/experiments',
  EXPERIMENTS_DIR: 'packages/experiments/experiments',
  PROFILES_DIR: 'packages/experiments/profiles',
  DEFAULT_PROFILE: 'quick',
  /** stage outputs: runs/<profile>/<experiment>/<stage>/ */
  RUNS_DIR: 'runs',
};
