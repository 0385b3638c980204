export { CANCEL_CHANNEL, QUEUE_NAMES, QueueName } from './queue-names.js';
export { probeRedis } from './probe-redis.js';
