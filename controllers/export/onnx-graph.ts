import onnxProto from 'onnx-proto';

/**
 * A small builder over the ONNX protobuf schema (`onnx-proto`, protobufjs-generated from
 * onnx/onnx.proto): constants as initializers, nodes by op type, typed graph inputs and
 * outputs, then `ModelProto.encode`. Names are generated, so a graph reads as a list of ops.
 */
const { onnx } = onnxProto;
export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const INT64 = onnx.TensorProto.DataType.INT64;

/** ONNX opset 17 (LayerNormalization) at IR version 8: onnxruntime ≥ 1.12 runs it. */
export const OPSET = 17;
const IR_VERSION = 8;

/** An integer, a list of integers, a string, or a float (`float(x)`: ONNX types attributes). */
type Attribute = number | number[] | string | { float: number };
export const float = (x: number) => ({ float: x });
type Dim = number | string;

export class OnnxGraph {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private n = 0;

  constructor(readonly name: string) {}

  private fresh(prefix: string): string {
    return `${prefix}_${this.n++}`;
  }

  input(name: string, elemType: number, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, from: string, elemType: number, dims: Dim[]): void {
    this.node('Identity', [from], {}, name);
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** A float32 constant (little-endian raw data, as ONNX stores it). */
  floats(values: ArrayLike<number>, dims: number[], name = this.fresh('c')): string {
    const data = Float32Array.from(values);
    this.initializers.push(onnx.TensorProto.create({ name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer) }));
    return name;
  }

  int64s(values: ArrayLike<number>, dims: number[] = [values.length], name = this.fresh('i')): string {
    const data = BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
    this.initializers.push(onnx.TensorProto.create({ name, dims, dataType: INT64, rawData: new Uint8Array(data.buffer) }));
    return name;
  }

  /** One node; returns its (first) output's name. */
  node(opType: string, input: string[], attrs: Record<string, Attribute> = {}, output = this.fresh(opType.toLowerCase())): string {
    const attribute = Object.entries(attrs).map(([name, v]) => attributeOf(name, v));
    this.nodes.push(onnx.NodeProto.create({ opType, input, output: [output], name: output, attribute }));
    return output;
  }

  encode(docString = ''): Uint8Array {
    const graph = onnx.GraphProto.create({ name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs });
    const model = onnx.ModelProto.create({ irVersion: IR_VERSION, opsetImport: [{ domain: '', version: OPSET }], producerName: 'embody', docString, graph });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, elemType: number, dims: Dim[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
}

function attributeOf(name: string, v: Attribute) {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: T.INTS, ints: v });
  if (typeof v === 'object') return onnx.AttributeProto.create({ name, type: T.FLOAT, f: v.float });
  if (!Number.isInteger(v)) throw new RangeError(`ONNX attribute ${name}: ${v} is not an integer (wrap floats in float())`);
  return onnx.AttributeProto.create({ name, type: T.INT, i: v });
}

/** The opset and the input and output names of an encoded model, as a reader of the file sees them. */
export function onnxSignature(bytes: Uint8Array): { opset: number; inputs: string[]; outputs: string[] } {
  const m = onnx.ModelProto.decode(bytes);
  const opset = Number(m.opsetImport.find((o) => !o.domain)?.version ?? 0);
  return { opset, inputs: (m.graph?.input ?? []).map((i) => i.name ?? ''), outputs: (m.graph?.output ?? []).map((o) => o.name ?? '') };
}
