// Loads onnxruntime-node: only packages/graph/src/runtime may.
import * as ort from 'onnxruntime-node';

export const open = (path: string): Promise<ort.InferenceSession> => ort.InferenceSession.create(path);
