export { CANCEL_CHANNEL, QUEUE_NAMES, QueueName } from './queue-names.js';
export { probeRedis } from './probe-redis.js';
export {
  ASSIMILATE_JOB_NAME,
  ASSIMILATE_JOB_VERSION,
  assimilateJobData,
  parseAssimilateJobData,
} from './assimilate-job.js';
export type { AssimilateJobData } from './assimilate-job.js';
