export { DATASETS } from './datasets';
export { findPython, runTrainer, PythonMissingError, PYTHON_DIR, TORCH_HINT, type PythonInfo } from './python';
export {
  evaluatePack,
  sampleClasses,
  inpaintEval,
  classify,
  predictRows,
  writeSheet,
  writeCard,
  maxPairwiseMsssim,
  EVAL_DIR,
  EVAL_NET,
  type EvalOptions,
  type EvalMode,
} from './evaluate';
export { frechetDistance, symmetricEigenvalues } from './frechet';
export { msssim, meanPairwiseMsssim, numScales } from './msssim';
export {
  loadDataset,
  buildDataset,
  ensureDatasetFile,
  readDatasetFile,
  splitByIdentity,
  selectEntries,
  datasetStats,
  hash32,
  type Dataset,
  type DatasetOptions,
  type EmojiEntry,
} from './data/dataset';
export { ensureDataPackages, defaultDataDir, DATA_PACKAGES, repoRoot } from './data/fetch';
export {
  CLASS_GROUPS,
  CLASS_NAMES,
  COLOUR_NAMES,
  VENDORS,
  coarseClassOf,
  colourBin,
  dominantColour,
  keywordTokens,
} from './data/labels';
