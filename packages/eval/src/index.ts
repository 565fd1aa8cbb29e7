export * from './metrics';
export * from './records';
