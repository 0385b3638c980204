export { CANCEL_CHANNEL, QUEUE_NAMES, QueueName } from './queue-names.js';
export { probeRedis } from './probe-redis.js';
export {
  ASSIMILATE_JOB_NAME,
  ASSIMILATE_JOB_VERSION,
  assimilateJobData,
  parseAssimilateJobData,
} from './assimilate-job.js';
export type { AssimilateJobData } from './assimilate-job.js';
export {
  CYCLE_JOB_NAME,
  CYCLE_JOB_VERSION,
  cycleJobData,
  cycleStepJobId,
  parseCycleJobData,
} from './cycle-job.js';
export type { CycleJobData } from './cycle-job.js';
export {
  ensureRedis,
  freePort,
  localRedisProblem,
  noRedisMessage,
  redisServerInstalled,
  startRedisServer,
} from './local-redis.js';
export type { LocalRedis, LocalRedisOptions } from './local-redis.js';
export {
  ALIGN_JOB_VERSION,
  AlignStage,
  alignFlow,
  alignJobData,
  alignJobId,
  parseAlignJobData,
} from './align-job.js';
export type { AlignJobData } from './align-job.js';
export { readWorkerEnv } from './worker-env.js';
export type { WorkerEnvSettings } from './worker-env.js';
