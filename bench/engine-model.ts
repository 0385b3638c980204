/**
 * The reference network of the engine benchmark (shared/docs/ENGINE-NOTES.md): a convolutional
 * autoencoder for 7x32x64 fields, batch 16, MSE loss. bench/engine_torch.py mirrors LAYERS.
 */
import { GraphBuilder } from '@alignda/graph';
import type { Graph, Value } from '@alignda/graph';

/** One conv layer of the autoencoder. */
export interface ConvLayer {
  readonly name: string;
  readonly cin: number;
  readonly cout: number;
  /** Square kernel size. */
  readonly k: number;
  readonly stride: number;
  readonly pad: number;
  /** SiLU after the conv (not after the latent projection nor the output layer). */
  readonly act: boolean;
  /** Nearest x2 upsampling before the conv. */
  readonly up: boolean;
}

/** Encoder then decoder, in order. */
export const LAYERS: readonly ConvLayer[] = [
  { name: 'enc1', cin: 7, cout: 32, k: 3, stride: 1, pad: 1, act: true, up: false },
  { name: 'enc2', cin: 32, cout: 64, k: 3, stride: 2, pad: 1, act: true, up: false },
  { name: 'enc3', cin: 64, cout: 64, k: 3, stride: 2, pad: 1, act: true, up: false },
  { name: 'enc4', cin: 64, cout: 8, k: 1, stride: 1, pad: 0, act: false, up: false },
  { name: 'dec1', cin: 8, cout: 64, k: 1, stride: 1, pad: 0, act: true, up: false },
  { name: 'dec2', cin: 64, cout: 64, k: 3, stride: 1, pad: 1, act: true, up: true },
  { name: 'dec3', cin: 64, cout: 32, k: 3, stride: 1, pad: 1, act: true, up: true },
  { name: 'dec4', cin: 32, cout: 7, k: 3, stride: 1, pad: 1, act: false, up: false },
];

/** Input shape [N, C, H, W]. */
export const INPUT_SHAPE = [16, 7, 32, 64] as const;

/** The autoencoder: input `x` [16, 7, 32, 64]; outputs `recon` (same shape) and, with a loss, `loss` []. */
export interface AutoencoderGraph {
  readonly graph: Graph;
  readonly recon: Value;
  /** Present when built with a loss (then `y` is a second input). */
  readonly loss: Value | undefined;
}

/**
 * Builds the autoencoder: conv weights `<layer>.w` [cout, cin, k, k] (Kaiming normal), biases
 * `<layer>.b` [cout] (zeros), seeded; with `withLoss`, a target input `y` and loss = mean((recon - y)^2).
 * @param seed - parameter initialisation seed
 * @param withLoss - add the target input and the MSE loss (training graph) or not (inference graph)
 */
export function buildAutoencoder(seed: number, withLoss: boolean): AutoencoderGraph {
  const b = new GraphBuilder({ name: 'autoencoder', seed });
  const x = b.input('x', 'float32', INPUT_SHAPE);
  let h = x;
  for (const l of LAYERS) {
    const w = b.param(`${l.name}.w`, [l.cout, l.cin, l.k, l.k], { kind: 'kaiming' });
    const bias = b.param(`${l.name}.b`, [l.cout], { kind: 'zeros' });
    if (l.up) h = b.upsampleNearest(h, 2); // [N, C, 2H, 2W]
    h = b.conv(h, w, bias, { pads: l.pad, strides: l.stride }); // [N, cout, H/stride, W/stride]
    if (l.act) h = b.silu(h);
  }
  let loss: Value | undefined;
  if (withLoss) {
    const d = b.sub(h, b.input('y', 'float32', INPUT_SHAPE));
    loss = b.output(b.reduceMean(b.mul(d, d)), 'loss'); // []
  }
  const recon = b.output(h, 'recon');
  return { graph: b.build(), recon, loss };
}

/** Parameter count and FLOPs (2 per multiply-add, convolutions only; SiLU, resize, bias and loss excluded). */
export interface FlopCount {
  readonly params: number;
  /** Forward FLOPs. */
  readonly forward: number;
  /** Forward + backward: the backward pass costs a weight gradient and an input gradient per conv
   * (each as many FLOPs as the forward conv), except no input gradient for the first layer. */
  readonly forwardBackward: number;
  /** Forward FLOPs our engine executes: it folds each nearest x2 upsample + 3x3 conv (pad 1, stride 1) into a
   * stride-2 ConvTranspose of the low-resolution input, 16 instead of 4 x 9 multiply-adds (4/9 of the FLOPs). */
  readonly forwardExecuted: number;
  /** Forward + backward FLOPs our engine executes (the same 4/9 for the folded layers' three products). */
  readonly forwardBackwardExecuted: number;
}

/** Counts parameters and FLOPs of {@link LAYERS} on {@link INPUT_SHAPE}. */
export function countFlops(): FlopCount {
  const [n, , h0, w0] = INPUT_SHAPE;
  let h: number = h0;
  let w: number = w0;
  let params = 0;
  let forward = 0;
  let backward = 0;
  let saved = 0;
  LAYERS.forEach((l, i) => {
    if (l.up) {
      h *= 2;
      w *= 2;
    }
    h = Math.floor((h + 2 * l.pad - l.k) / l.stride) + 1;
    w = Math.floor((w + 2 * l.pad - l.k) / l.stride) + 1;
    params += l.cout * l.cin * l.k * l.k + l.cout;
    const f = 2 * n * l.cout * h * w * l.cin * l.k * l.k;
    forward += f;
    backward += i === 0 ? f : 2 * f;
    if (l.up && l.k === 3 && l.pad === 1 && l.stride === 1) saved += (5 / 9) * f;
  });
  return {
    params,
    forward,
    forwardBackward: forward + backward,
    forwardExecuted: forward - saved,
    forwardBackwardExecuted: forward + backward - 3 * saved,
  };
}
