import { samplerSuite } from './sampler.suite';

samplerSuite('tfjs');
