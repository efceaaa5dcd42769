export * from './health';
export * from './config';
