import type { Value } from '../types.js';
import type { GradCtx, GradRule } from './grad-rule.js';
import { g0, sumTo, xi } from './grad-rule.js';

const unary = (f: (c: GradCtx, g: Value, x: Value, y: Value) => Value): GradRule => (c) => [f(c, g0(c), xi(c, 0), c.y[0] as Value)];

/** Gradient rules of the elementwise ops (broadcast gradients summed back to each operand's shape). */
export const ELEMENTWISE_GRADS: Readonly<Record<string, GradRule>> = {
  Add: (c) => [c.needs[0] ? sumTo(c.b, g0(c), xi(c, 0).shape) : undefined, c.needs[1] ? sumTo(c.b, g0(c), xi(c, 1).shape) : undefined],
  Sub: (c) => [c.needs[0] ? sumTo(c.b, g0(c), xi(c, 0).shape) : undefined, c.needs[1] ? sumTo(c.b, c.b.neg(g0(c)), xi(c, 1).shape) : undefined],
  Mul: (c) => {
    const { b } = c;
    const [x0, x1, g] = [xi(c, 0), xi(c, 1), g0(c)];
    return [c.needs[0] ? sumTo(b, b.mul(g, x1), x0.shape) : undefined, c.needs[1] ? sumTo(b, b.mul(g, x0), x1.shape) : undefined];
  },
  Div: (c) => {
    const { b } = c;
    const [a, d, g, y] = [xi(c, 0), xi(c, 1), g0(c), c.y[0] as Value];
    // d(a/d)/dd = -y/d
    return [c.needs[0] ? sumTo(b, b.div(g, d), a.shape) : undefined, c.needs[1] ? sumTo(b, b.neg(b.div(b.mul(g, y), d)), d.shape) : undefined];
  },
  Pow: (c) => {
    const { b } = c;
    const [a, e, g, y] = [xi(c, 0), xi(c, 1), g0(c), c.y[0] as Value];
    // d(a^e)/da = e * a^(e-1); d(a^e)/de = y * log(a) (a > 0)
    return [
      c.needs[0] ? sumTo(b, b.mul(g, b.mul(e, b.pow(a, b.sub(e, 1)))), a.shape) : undefined,
      c.needs[1] ? sumTo(b, b.mul(b.mul(g, y), b.log(a)), e.shape) : undefined,
    ];
  },
  Sum: (c) => c.x.map((v, i) => (c.needs[i] && v !== undefined ? sumTo(c.b, g0(c), v.shape) : undefined)),
  Neg: unary(({ b }, g) => b.neg(g)),
  Identity: unary((_, g) => g),
  Sqrt: unary(({ b }, g, _x, y) => b.div(b.mul(g, 0.5), y)),
  Exp: unary(({ b }, g, _x, y) => b.mul(g, y)),
  Log: unary(({ b }, g, x) => b.div(g, x)),
  Abs: unary(({ b }, g, x) => b.mul(g, b.sign(x))),
  Sigmoid: unary(({ b }, g, _x, y) => b.mul(g, b.mul(y, b.sub(1, y)))),
  Tanh: unary(({ b }, g, _x, y) => b.mul(g, b.sub(1, b.mul(y, y)))),
  Relu: unary(({ b }, g, x) => b.where(b.greater(x, 0), g, 0)),
  Softplus: unary(({ b }, g, x) => b.mul(g, b.sigmoid(x))),
  Sin: unary(({ b }, g, x) => b.mul(g, b.cos(x))),
  Cos: unary(({ b }, g, x) => b.neg(b.mul(g, b.sin(x)))),
  Sign: () => [undefined],
  Where: (c) => {
    const { b } = c;
    const [cond, x, y, g] = [xi(c, 0), xi(c, 1), xi(c, 2), g0(c)];
    return [undefined, c.needs[1] ? sumTo(b, b.where(cond, g, 0), x.shape) : undefined, c.needs[2] ? sumTo(b, b.where(cond, 0, g), y.shape) : undefined];
  },
  Cast: (c) => [c.b.cast(g0(c), xi(c, 0).dtype)],
};
