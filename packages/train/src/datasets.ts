import type { DatasetOptions } from './data/dataset';

/** dataset of each training config (the Python trainer's config of the same name defines the networks) */
export const DATASETS: Record<string, DatasetOptions> = {
  emoji64: {
    size: 64,
    maxPerClass: 150,
    maxSkinVariants: 2,
    testFraction: 0.15,
    minKeywordCount: 20,
    maxKeywords: 400,
    seed: 1,
  },
};
// the same data for the lighter-generator experiment (configs.py EMOJI64_LITE)
DATASETS['emoji64-lite'] = DATASETS.emoji64!;
