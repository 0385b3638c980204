import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from './builder.js';
import { GraphError } from './errors.js';
import { grad } from './grad.js';
import { createSession, releaseSessions } from './runtime.js';
import { graphFromSpec } from './spec.js';

afterAll(releaseSessions);

/** Runs `f` and returns the GraphError it throws (fails the test when it throws nothing or something else). */
async function caught(f: () => unknown): Promise<GraphError> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(GraphError);
    return e as GraphError;
  }
  throw new Error('expected a GraphError');
}

function smallGraph() {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', [2, 3]);
  const y = b.input('y', 'float32', [3]);
  b.output(b.mul(x, y), 'out');
  return b.build();
}

describe('feeds are checked before onnxruntime sees them', () => {
  it('rejects a feed of the wrong element count, naming the input and both sizes', async () => {
    const s = await createSession(smallGraph(), { executionProvider: 'cpu' });
    const e = await caught(() => s.run({ x: new Float32Array(5), y: new Float32Array(3) }));
    expect(e.reason).toBe('SHAPE_MISMATCH');
    expect(e.message).toContain(`feed 'x'`);
    expect(e.message).toContain('float32[2,3] = 6 elements, got 5');
  });

  it('rejects a feed with an explicit wrong shape, naming expected and actual shapes', async () => {
    const s = await createSession(smallGraph(), { executionProvider: 'cpu' });
    const e = await caught(() => s.run({ x: { data: new Float32Array(6), shape: [3, 2] }, y: new Float32Array(3) }));
    expect(e.reason).toBe('SHAPE_MISMATCH');
    expect(e.message).toBe(`feed 'x': expected shape [2,3], got [3,2]`);
  });

  it('rejects a feed of the wrong dtype, naming the input and both dtypes', async () => {
    const s = await createSession(smallGraph(), { executionProvider: 'cpu' });
    const e = await caught(() => s.run({ x: new Float64Array(6), y: new Float32Array(3) }));
    expect(e.reason).toBe('DTYPE_MISMATCH');
    expect(e.message).toContain(`feed 'x': expected float32[2,3]`);
    expect(e.message).toContain('Float64Array (float64)');
  });

  it('lists every missing feed with its type', async () => {
    const s = await createSession(smallGraph(), { executionProvider: 'cpu' });
    const e = await caught(() => s.run({}));
    expect(e.reason).toBe('MISSING_FEED');
    expect(e.message).toBe('missing feeds: x: float32[2,3], y: float32[3]');
  });

  it('rejects feeds the graph does not declare', async () => {
    const s = await createSession(smallGraph(), { executionProvider: 'cpu' });
    const e = await caught(() => s.run({ x: new Float32Array(6), y: new Float32Array(3), z: new Float32Array(1) }));
    expect(e.reason).toBe('UNKNOWN_FEED');
    expect(e.message).toContain(`'z'`);
  });

  it('runs and reports the CPU execution provider when CPU is chosen', async () => {
    const s = await createSession(smallGraph(), { executionProvider: 'cpu' });
    const r = await s.run({ x: Float32Array.of(1, 2, 3, 4, 5, 6), y: Float32Array.of(1, 10, 100) });
    expect(s.executionProvider).toBe('cpu');
    expect(s.graphOptimizationLevel).toBe('extended');
    expect([...(r['out']?.data as Float32Array)]).toEqual([1, 20, 300, 4, 50, 600]);
  });
});

describe('graph construction errors name the node and the shapes', () => {
  it('rejects an unknown attribute, listing the supported ones', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1, 2, 4, 4]);
    const w = b.param('w', [3, 2, 3, 3]);
    const e = await caught(() => b.op('Conv', [x, w], { padding: 1 }));
    expect(e.reason).toBe('UNKNOWN_ATTRIBUTE');
    expect(e.node).toBe('Conv_0');
    expect(e.message).toContain(`Conv node 'Conv_0': unknown attribute 'padding' (supported: kernel_shape, strides, pads, dilations, group)`);
    expect(e.message).toContain('x: float32[1,2,4,4], w: float32[3,2,3,3]');
  });

  it('rejects an unsupported option value of a known attribute', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1, 1, 2, 2]);
    const e = await caught(() => b.op('Resize', [x], { scales: [1, 1, 2, 2], mode: 'linear' }));
    expect(e.reason).toBe('INVALID_ATTRIBUTE');
    expect(e.message).toContain(`only mode 'nearest' is supported, got 'linear'`);
  });

  it('rejects mismatched MatMul operands with both shapes', async () => {
    const b = new GraphBuilder();
    const e = await caught(() => b.matmul(b.input('a', 'float32', [2, 3]), b.input('c', 'float32', [4, 5])));
    expect(e.reason).toBe('SHAPE_MISMATCH');
    expect(e.message).toBe(`MatMul node 'MatMul_0': inner dimensions differ: [2,3] x [4,5] (inputs a: float32[2,3], c: float32[4,5])`);
  });

  it('rejects a conv weight whose channels do not match the input', async () => {
    const b = new GraphBuilder();
    const e = await caught(() => b.conv(b.input('x', 'float32', [1, 3, 8, 8]), b.param('w', [4, 2, 3, 3])));
    expect(e.reason).toBe('SHAPE_MISMATCH');
    expect(e.message).toContain('does not match 3 input channels with group 1');
  });

  it('rejects operands that do not broadcast', async () => {
    const b = new GraphBuilder();
    const e = await caught(() => b.add(b.input('a', 'float32', [2, 3]), b.input('c', 'float32', [2])));
    expect(e.message).toContain(`Add node 'Add_0': shapes [2,3] and [2] do not broadcast`);
  });

  it('rejects an unknown op', async () => {
    const b = new GraphBuilder();
    const e = await caught(() => b.op('LSTM', [b.input('x', 'float32', [1])]));
    expect(e.reason).toBe('UNKNOWN_OP');
  });

  it('rejects a graph with a cycle, naming the nodes on it and the known shapes', async () => {
    const e = await caught(() =>
      graphFromSpec({
        inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3] }],
        nodes: [
          { op: 'Relu', name: 'head', inputs: ['x'], outputs: ['h'] },
          { op: 'Add', name: 'A', inputs: ['h', 'c'], outputs: ['a'] },
          { op: 'Mul', name: 'B', inputs: ['a', 'x'], outputs: ['c'] },
        ],
        outputs: ['c'],
      }),
    );
    expect(e.reason).toBe('CYCLE');
    expect(e.message).toContain('has a cycle: A -> B -> A');
    expect(e.message).toContain(`'A' (Add; inputs h: float32[2,3], c: ?)`);
    expect(e.message).toContain(`'B' (Mul; inputs a: ?, x: float32[2,3])`);
  });

  it('builds a spec graph whose nodes are listed out of order', async () => {
    const g = graphFromSpec({
      inputs: [{ name: 'x', dtype: 'float32', shape: [2] }],
      nodes: [
        { op: 'Neg', inputs: ['e'], outputs: ['y'] },
        { op: 'Exp', inputs: ['x'], outputs: ['e'] },
      ],
      outputs: ['y'],
    });
    expect(g.nodes.map((n) => n.op)).toEqual(['Exp', 'Neg']);
    const r = await (await createSession(g, { executionProvider: 'cpu' })).run({ x: Float32Array.of(0, 1) });
    expect(r['y']?.data[0]).toBe(-1);
  });

  it('refuses to differentiate a padded AveragePool that excludes pads (ONNX default), naming the node', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1, 1, 4, 4]);
    const [y] = b.op('AveragePool', [x], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
    b.output(b.reduceSum(y ?? x));
    const g = b.build();
    const e = await caught(() => grad(g, g.outputs[0] ?? '', ['x']));
    expect(e.reason).toBe('NOT_DIFFERENTIABLE');
    expect(e.message).toContain(`AveragePool node 'AveragePool_0'`);
  });

  it('refuses to differentiate with respect to an integer value', async () => {
    const b = new GraphBuilder();
    const i = b.input('i', 'int64', [2]);
    b.output(b.reduceSum(b.cast(i, 'float32')));
    const g = b.build();
    const e = await caught(() => grad(g, g.outputs[0] ?? '', ['i']));
    expect(e.reason).toBe('NOT_DIFFERENTIABLE');
  });
});
