import { GGML_F16, GGML_F32, GGML_Q4_0, GGML_Q8_0, QK } from "./quantize.ts";

/** Bytes taken by `n` elements of ggml type `type` (the types the generator writes). */
export function ggmlTypeSize(type: number, n: number): number {
  switch (type) {
    case GGML_F32:
      return 4 * n;
    case GGML_F16:
      return 2 * n;
    case GGML_Q8_0:
    case GGML_Q4_0:
      if (n % QK !== 0) throw new Error(`quantized tensors need a multiple of ${QK} elements, got ${n}`);
      return (n / QK) * (type === GGML_Q8_0 ? 34 : 18);
    default:
      throw new Error(`unsupported ggml type ${type}`);
  }
}
