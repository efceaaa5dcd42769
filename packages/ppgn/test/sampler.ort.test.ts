import { samplerSuite } from './sampler.suite';

samplerSuite('onnxruntime');
