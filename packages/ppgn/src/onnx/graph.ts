/**
 * A small builder for ONNX graphs, serialised with the official ONNX protobuf schema (the `onnx-proto`
 * package: protobufjs code generated from onnx.proto of ONNX 1.10). Values are float32 tensors; the batch
 * dimension is symbolic ("B"). Node and value names are generated; callers only name graph inputs and
 * outputs.
 */
import { createRequire } from 'node:module';
import type { onnx as OnnxNs } from 'onnx-proto';

const require = createRequire(import.meta.url);
const { onnx } = require('onnx-proto') as { onnx: typeof OnnxNs };

export const OPSET = 13;
const FLOAT = 1; // TensorProto.DataType.FLOAT
const INT64 = 7; // TensorProto.DataType.INT64
const AT = onnx.AttributeProto.AttributeType;

export type Attr = number | number[] | string | { float: number };
/** a dimension: a fixed size or the symbolic batch */
export type Dim = number | 'B';

function attribute(name: string, v: Attr): OnnxNs.IAttributeProto {
  if (typeof v === 'string') return { name, type: AT.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: AT.INTS, ints: v };
  if (typeof v === 'object') return { name, type: AT.FLOAT, f: v.float };
  return Number.isInteger(v) ? { name, type: AT.INT, i: v } : { name, type: AT.FLOAT, f: v };
}

export type ElemType = 'float' | 'bool';
const ELEM: Record<ElemType, number> = { float: FLOAT, bool: 9 };

function valueInfo(name: string, dims: Dim[], type: ElemType = 'float'): OnnxNs.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[type],
        shape: { dim: dims.map((d) => (d === 'B' ? { dimParam: 'B' } : { dimValue: d })) },
      },
    },
  };
}

export class GraphBuilder {
  private readonly nodes: OnnxNs.INodeProto[] = [];
  private readonly inits: OnnxNs.ITensorProto[] = [];
  private readonly inputs: OnnxNs.IValueInfoProto[] = [];
  private readonly outputs: OnnxNs.IValueInfoProto[] = [];
  private readonly consts = new Map<string, string>();
  private counter = 0;

  constructor(readonly name: string) {}

  private fresh(prefix: string): string {
    return `${prefix}_${++this.counter}`;
  }

  input(name: string, dims: Dim[], type: ElemType = 'float'): string {
    this.inputs.push(valueInfo(name, dims, type));
    return name;
  }

  /** Make `value` a graph output called `name` (an Identity node when the names differ). */
  output(value: string, name: string, dims: Dim[], type: ElemType = 'float'): void {
    if (value !== name)
      this.nodes.push({ opType: 'Identity', input: [value], output: [name], name: this.fresh('out') });
    this.outputs.push(valueInfo(name, dims, type));
  }

  /** a float32 initializer (weights); data is copied */
  weight(data: Float32Array, dims: number[], prefix = 'w'): string {
    const name = this.fresh(prefix);
    const bytes = new Uint8Array(data.byteLength);
    new Float32Array(bytes.buffer).set(data);
    this.inits.push({ name, dims, dataType: FLOAT, rawData: bytes });
    return name;
  }

  /** a constant made once per graph and shared by every use */
  private shared(key: string, make: () => string): string {
    let n = this.consts.get(key);
    if (!n) {
      n = make();
      this.consts.set(key, n);
    }
    return n;
  }

  /** a float32 scalar constant */
  scalar(v: number): string {
    return this.shared(`f:${v}`, () => this.weight(Float32Array.of(v), [], 'c'));
  }

  /** a float32 constant vector */
  floats(values: number[]): string {
    return this.shared(`fv:${values.join(',')}`, () => this.weight(Float32Array.from(values), [values.length], 'f'));
  }

  /** an int64 constant vector (shapes, axes, pads) */
  ints(values: number[]): string {
    return this.shared(`i:${values.join(',')}`, () => {
      const name = this.fresh('i');
      const bytes = new Uint8Array(values.length * 8);
      const dv = new DataView(bytes.buffer);
      values.forEach((v, k) => dv.setBigInt64(k * 8, BigInt(v), true));
      this.inits.push({ name, dims: [values.length], dataType: INT64, rawData: bytes });
      return name;
    });
  }

  /** add a node; returns its (first) output name */
  op(type: string, inputs: string[], attrs: Record<string, Attr | undefined> = {}, nOut = 1): string {
    const outs = Array.from({ length: nOut }, () => this.fresh(type));
    this.nodes.push({
      opType: type,
      name: this.fresh(`n${type}`),
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => attribute(k, v as Attr)),
    });
    return outs[0];
  }

  // convenience wrappers
  add(a: string, b: string): string {
    return this.op('Add', [a, b]);
  }
  mul(a: string, b: string): string {
    return this.op('Mul', [a, b]);
  }
  transpose(a: string, perm: number[]): string {
    return this.op('Transpose', [a], { perm });
  }
  reshape(a: string, shape: number[]): string {
    return this.op('Reshape', [a, this.ints(shape)]);
  }

  /** serialise to ONNX model bytes */
  toBytes(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 7,
      producerName: 'ppgn-studio',
      producerVersion: '1',
      opsetImport: [{ domain: '', version: OPSET }],
      graph: { name: this.name, node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
