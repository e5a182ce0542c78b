/* bf16.h — descriptors of the bf16 product templates (matmul_bf16.c):
 * float32 MatMul/Gemm whose operands are rounded to bfloat16 and whose
 * products accumulate in float32 (docs/accuracy.md "bf16").
 *
 * Two steps per product (codegen/lower_bf16.c):
 *  1. k_bf16_pack_a: A (float32, any strides) -> scratch, row i holding
 *     k2 = ceil(K/2) 32-bit pairs, pair p = bf16(A(i, 2p)) in the low half
 *     and bf16(A(i, 2p+1)) in the high half (0 past K).  Rounding is to
 *     nearest even in software (kf32_to_bf16, the reference's
 *     ir_f32_to_bf16 bit for bit), not the hardware's vcvtne2ps2bf16,
 *     which flushes denormal inputs to zero.
 *  2. k_mm_bf16_avx512 (or k_mm_bf16_amx, x86_amx/amx_bf16.c, whose
 *     padding rules that file states): the product on k_mm_desc (generic/matmul.h) with
 *     K counted in pairs: A is the scratch (a_rs = k2, a_cs = 1), B the
 *     build-time packed weights — panels of P = 16*nv columns, each k2
 *     rows of P pairs (bf16 of B(2p, j) low, B(2p+1, j) high), half the
 *     bytes of the float32 panels.  Per pair row one vdpbf16ps per 16
 *     columns: acc[j] += A(i,2p)·B(2p,j) + A(i,2p+1)·B(2p+1,j), with the
 *     hardware's round-to-nearest-even and denormals treated as zero.
 */
#ifndef INGOT_K_BF16_H
#define INGOT_K_BF16_H

#include "kabi.h"

typedef struct k_bf16_pack_desc {
  kbuf x, out;
  int64_t rows, k, k2; /* A is rows x k; out rows x k2 pairs (k2 >=
                          ceil(k/2): pairs past K are zero) */
  int64_t rows_pad;    /* rows [rows, rows_pad) of out are zeroed (AMX) */
  int64_t x_rs, x_cs;  /* A(i, p) = x[i*x_rs + p*x_cs] */
  int64_t tasks;       /* rows split in |tasks| chunks */
} k_bf16_pack_desc;

#endif /* INGOT_K_BF16_H */
