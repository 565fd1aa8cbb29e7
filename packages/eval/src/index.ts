export * from './metrics';
export * from './records';
export * from './knn';
export * from './features';
export * from './lars';
export * from './linear-probe';
export * from './frozen-encoder';
export * from './frozen-eval';
