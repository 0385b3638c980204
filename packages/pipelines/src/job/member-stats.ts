/**
 * Statistics of an analysis ensemble in physical units, the one arithmetic of a job's mean and spread: the
 * single-process job (`runAssimilationJob`) and the platform (services/orchestrator, which gets the members back
 * from the encoder service in physical units) both call these, so their means and spreads agree bit for bit.
 */

/**
 * The members' mean, accumulated in float32 member by member.
 * @param members - [M, ...state] flattened
 * @returns state-sized
 */
export function memberMean(members: Float32Array, M: number): Float32Array {
  const size = members.length / M;
  const mean = new Float32Array(size);
  for (let m = 0; m < M; m++)
    for (let j = 0; j < size; j++) mean[j] = (mean[j] as number) + (members[m * size + j] as number) / M;
  return mean;
}

/**
 * Per-value std across members (n - 1 in the denominator), accumulated in float64.
 * @param members - [M, ...state] flattened, M >= 2
 * @returns state-sized
 */
export function memberStd(members: Float32Array, M: number): Float32Array {
  const size = members.length / M;
  const out = new Float32Array(size);
  for (let j = 0; j < size; j++) {
    let s = 0;
    for (let m = 0; m < M; m++) s += members[m * size + j] as number;
    const mean = s / M;
    let v = 0;
    for (let m = 0; m < M; m++) v += ((members[m * size + j] as number) - mean) ** 2;
    out[j] = Math.sqrt(v / (M - 1));
  }
  return out;
}
