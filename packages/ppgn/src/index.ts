export { tf, installFastMatMulGrad } from './tf';
export { PpgnInputError, PpgnPackError } from './errors';
export { Rng, seedState, type RngState } from './rng';
export { Net, NetSpecError, netSpecSchema, layerSpecSchema, type NetSpec, type LayerSpec, type NetFile, type WeightEntry, type ApplyOptions, type ApplyResult, type InitOptions } from './net';
export {
  loadPackFrom,
  loadNetFrom,
  readManifest,
  serializePack,
  memorySource,
  makePack,
  parseManifest,
  buildRandomPack,
  buildRandomEmoji64Pack,
  convGeneratorSpec,
  convEncoderSpec,
  EMOJI64_ARCH,
  manifestSchema,
  MANIFEST_FILE,
  packSummary,
  type Pack,
  type PackSource,
  type PackManifest,
  type PackManifestInput,
  type PackConditionSpec,
  type EpsDefaults,
  type Preprocess,
  type RandomPackOptions,
} from './pack';
export { Condition, cond, add, matchText, nearestWords, editDistance, resolveCondition, type Term, type TermKind, type ClassVariant, type ImageInput, type TextMatch, type ResolvedCondition } from './conditions';
export {
  createChain,
  updateChain,
  stepBatch,
  runChains,
  renderChains,
  renderCodes,
  encodeImages,
  resolveConfig,
  validateConfig,
  drawInitialCode,
  snapshotChain,
  restoreChain,
  conditionObjective,
  checkCondition,
  MODES,
  type Mode,
  type PriorKind,
  type SamplerConfig,
  type SamplerConfigInput,
  type ChainState,
  type ChainResult,
  type CreateChainOptions,
  type StepOptions,
  type RunOptions,
} from './sampler';
export { initBackend, currentBackend, BACKENDS, type BackendInfo, type BackendName, type BackendPreference } from './backend';
export { currentRuntime, setRuntime, TfjsRuntime, type NetRuntime, type ForwardPass, type ForwardOptions, type RuntimeName } from './runtime/index';
export { OrtRuntime, type OrtProvider, type OrtOptions } from './runtime/ort';
export { compileForward, compileVjp, NetCompileError } from './onnx/compile';
export { encodePng, decodePng, pngSize, packImageLimits, PngTooLargeError, PNG_LIMITS, resizeImage, tensorToPng, pngToTensor, contactSheet, type ImageData3, type ValueRange, type PngLimits } from './image';
