export { createRng } from './rng.js';
export type { Rng } from './rng.js';
export {
  EARTH_RADIUS_M,
  EARTH_OMEGA_PER_S,
  GRAVITY_M_PER_S2,
  R_DRY_J_PER_KG_K,
  gridHeight,
  gridWidth,
} from './grid.js';
export type { Grid, LatLonGrid, BetaPlaneGrid } from './grid.js';
export type { Field, Tensor } from './field.js';
