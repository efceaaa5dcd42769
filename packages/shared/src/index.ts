export * from './health';
export * from './config';
export * from './room';
export * from './gallery';
export * from './text';
export * from './errors';
export * from './api';
