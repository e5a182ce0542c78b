/* dense.h — one-thread-per-output GPU kernels for the float32 steps whose
 * generic CPU templates are register-blocked for SIMD (dense.c), and
 * which steps they take; shared by the kernels and codegen/gpu_map.c.
 *
 * The generic conv, product and broadcasting templates keep 16-float
 * vectors x register blocks per task; run per GPU thread (tasks.h) they
 * specialise into ~18,000 PTX lines per step, which ptxas needs minutes
 * for.  These kernels compute the same formulas per output element:
 *
 *  g_ew_f32   float32 binary arithmetic of k_ew_binary (Add .. Min but
 *             Pow, two inputs, broadcast through the descriptor's merged
 *             dims and strides), then the fused epilogue (kepi) on the
 *             element: bit-exact with the CPU (the same float
 *             expressions); and uint8/int8 Max/Min (exact).
 *  g_mm_f32   float32 MatMul/Gemm (k_mm_desc KMM_F32, packed or strided
 *             B, batch dims): y = alpha·Σ_p A·B (+ beta·C), epilogue;
 *             the sum runs over p in order without FMA contraction (the
 *             CPU contracts to FMA and splits K in passes), so results
 *             differ from the CPU's in the last bits.
 *  g_conv_f32 float32 Conv (k_conv_desc KCONV_F32, not transposed; packed,
 *             depthwise or strided weights): bias + Σ over input channels
 *             and valid taps, epilogue; the same caveat as g_mm_f32.
 *  g_red_f32  float32 ReduceSum/Mean/Max/Min (k_red): each output folds
 *             its reduced elements in double in the input's order (the
 *             CPU's row mode folds 8 interleaved partial sums), Mean
 *             divides by the count, NaN makes Max/Min NaN.  The generic
 *             column mode keeps 256 accumulators per task (208 registers
 *             and 5,900 PTX lines on the GPU).
 * GD_THREADS threads per block, one output element each, channels (the
 * innermost NHWC dim) fastest, so neighbouring threads read neighbouring
 * weights and write neighbouring outputs.  Other cases of these templates
 * run on the task grid (tasks.h).
 */
#ifndef INGOT_K_NVPTX_DENSE_H
#define INGOT_K_NVPTX_DENSE_H

#include "generic/conv.h"
#include "generic/elementwise.h"
#include "generic/matmul.h"
#include "generic/reduce.h"

#define GD_THREADS 64

static inline int g_ew_f32_takes(const kew_binary *d) {
  if (d->nin != 2 || d->post_div != 0) return 0;
  if (d->dt[0] == 1 && d->dt[1] == 1 && d->ydt == 1)
    return d->op <= KEW_MIN && d->op != KEW_POW;
  /* uint8/int8 Max and Min (a quantised ReLU is Max with the zero point) */
  return (d->op == KEW_MAX || d->op == KEW_MIN) && d->epi.n == 0 &&
         (d->ydt == 2 || d->ydt == 3) && d->dt[0] == d->ydt &&
         d->dt[1] == d->ydt;
}
static inline int g_mm_f32_takes(const k_mm_desc *d) {
  return d->kind == KMM_F32;
}
static inline int g_conv_f32_takes(const k_conv_desc *d) {
  return d->kind == KCONV_F32 && !d->transposed;
}
static inline int g_red_f32_takes(const kred *d) {
  return d->dtype == 1 && (d->op == KR_SUM || d->op == KR_MEAN ||
                           d->op == KR_MAX || d->op == KR_MIN);
}
/* Output elements of each. */
static inline int64_t g_mm_outputs(const k_mm_desc *d) {
  int64_t n = d->m * d->n;
  for (int32_t q = 0; q < d->nbdim; q++) n *= d->bdims[q];
  return n;
}
static inline int64_t g_conv_outputs(const k_conv_desc *d) {
  return d->batch * d->group * d->cout_g * d->out[0] * d->out[1] * d->out[2];
}

#endif /* INGOT_K_NVPTX_DENSE_H */
