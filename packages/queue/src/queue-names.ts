/**
 * BullMQ queue names, one per kind of work. Producers and workers import these constants so a
 * rename cannot split a queue in two.
 */
export const QueueName = {
  /** One assimilation job: QC, background, encode, sample, decode, score, store. */
  assimilate: 'assimilate',
  /**
   * One job's sampling step (ObsFree / Repaint / DPS, members as a batch), consumed by every sampler replica: another
   * replica raises throughput, and a replica killed mid-step loses nothing (stalled-job recovery hands it on).
   */
  sample: 'sample',
  /** One step of a continuous DA cycle (forecast -> observe -> analyse). */
  cycle: 'cycle',
  /** Alignment flows: candidate generation, scoring, preference pairs, evaluation, promotion. */
  align: 'align',
  /** Training and Diffusion-DPO fine-tuning on trainer replicas. */
  train: 'train',
} as const;

/** One of the values of {@link QueueName}. */
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

/** Every queue name, e.g. for a queue board or a KEDA scaler list. */
export const QUEUE_NAMES: readonly QueueName[] = Object.freeze(Object.values(QueueName));

/**
 * The Redis pub/sub channel on which the gateway announces the cancellation of a running job; the message is the
 * job's id. The orchestrator aborts the job's data path and the sampler replica running its sample job aborts that.
 */
export const CANCEL_CHANNEL = 'alignda:cancel';
