import type { DatasetOptions } from './data/dataset';

const EMOJI64: DatasetOptions = {
  size: 64,
  maxPerClass: 150,
  maxSkinVariants: 2,
  testFraction: 0.15,
  minKeywordCount: 20,
  maxKeywords: 400,
  seed: 1,
};

/** dataset of each training config (the Python trainer's config of the same name defines the networks) */
export const DATASETS: Record<string, DatasetOptions> = {
  emoji64: EMOJI64,
  // the lighter-generator experiment (configs.py EMOJI64_LITE) trains on the same data
  'emoji64-lite': EMOJI64,
  // v2 (a wider G widened from emoji64's, new GAN recipe): same data
  'emoji64-v2': EMOJI64,
  // v3 (a 512-d code from a wider E, trained from scratch): same data
  'emoji64-v3': EMOJI64,
  // emoji64 with Fluent Emoji's drawings of the training emoji added (the same held-out pictures)
  'emoji64-fl': { ...EMOJI64, trainOnlyVendors: ['fluent'] },
};
