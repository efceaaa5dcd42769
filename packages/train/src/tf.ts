/** tfjs-core as set up by @ppgn/core (gradients registered, fast BatchMatMul gradient installed). */
export { tf, installFastMatMulGrad } from '@ppgn/core';
