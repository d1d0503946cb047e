export * from './account';
export { ScaledClock, VirtualClock, type Clock } from './clock';
export { GRANULARITIES, OPERATIONS, totalAuthenticatedEntities, type Granularity, type JobSettings, type Operation } from './iam';
export * from './sample';
export * from './server';
export type { BucketSettings, ThrottleSettings } from './throttle';
export * from './organization';
export { type Principal } from './sts';
