export { CONFIGS, CPU_MINI, GPU, TINY, withBatch, type TrainConfig, type NetSpecs, type Sizes } from './config';
export {
  train,
  buildNets,
  sizesOf,
  predict,
  accuracy,
  reconMse,
  PHASES,
  type TrainOptions,
  type TrainSummary,
  type PhaseName,
} from './pipeline';
export { exportPack, buildManifest, EVAL_DIR, EVAL_NET, LICENCE, ATTRIBUTION, type CodeStats } from './export';
export { evaluatePack, sampleClasses, classify, writeSheet, type EvalOptions } from './evaluate';
export { msssim, meanPairwiseMsssim, numScales } from './msssim';
export {
  loadDataset,
  buildDataset,
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
export { augmentBatch, sampleIndices, type AugmentOptions } from './data/augment';
export { installFastMatMulGrad } from './tf';
