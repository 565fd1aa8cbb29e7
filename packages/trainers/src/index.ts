export * from './adamw';
export * from './grad-clip';
export * from './lr-schedule';
export * from './param-groups';
export * from './overrides';
export * from './config-errors';
export * from './pretrain-config';
export * from './metrics-log';
