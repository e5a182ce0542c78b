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

/* k_bf16_pack_b: a B that is an activation (attention's Q·Kᵀ and P·V,
 * or a Gemm's B input), rounded and packed at run time into the panels
 * the constant B gets at build time: |nmat| matrices B(mat, p, j) =
 * x[mat*x_ms + p*x_rs + j*x_cs] (p < k, j < n), each to |panels| panels
 * of P columns and k2 pair rows (mat_pairs = panels*k2*P 32-bit pairs per
 * matrix), zero past K and N.  Tasks take whole (matrix, panel) units. */
typedef struct k_bf16_pack_b_desc {
  kbuf x, out;
  int64_t nmat, k, n, k2, P, panels;
  int64_t x_ms, x_rs, x_cs;
  int64_t tasks;
} k_bf16_pack_b_desc;

/* k_bf16_im2col (conv_bf16.c): the rows of a 2-D convolution's product.
 * X is NHWC, X(b, h, w, c) = x[b*xs_n + h*xs_h + w*xs_w + c]; row r =
 * (b*oh + i)*ow + j of group g's matrix (at out + g*g_pairs pairs) holds,
 * for tap (kh, kw) and channel ci, bf16(X(b, i*s[0] + kh*d[0] - pb[0],
 * j*s[1] + kw*d[1] - pb[1], g*cin_g + ci)) at value (kh*k[1] + kw)*cin_g +
 * ci (0 for taps outside X), and zeros past K = taps*cin_g up to 2*k2.
 * Rows [rows, rows_pad) of every group are zeroed (AMX tiles).  The
 * weights are packed with the same K order (codegen/lower_bf16.c). */
typedef struct k_bf16_im2col_desc {
  kbuf x, out;
  int64_t batch, group, cin_g;
  int64_t in[2], out_hw[2], k[2], s[2], d[2], pb[2];
  int64_t xs_n, xs_h, xs_w;
  int64_t rows, rows_pad, k2, g_pairs;
  int64_t tasks; /* rows split in |tasks| chunks */
} k_bf16_im2col_desc;

#endif /* INGOT_K_BF16_H */
