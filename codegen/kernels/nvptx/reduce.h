/* reduce.h — the GPU kernels that reduce across threads (reduce.c) and
 * which steps they take; shared by the kernels and codegen/gpu_map.c.
 *
 *  g_softmax    float32 Softmax over a contiguous axis (k_norm_softmax
 *               with inner == 1, not LogSoftmax): one warp per row.  Each
 *               lane takes elements lane, lane + 32, ...; the row's max
 *               and the sum of exp(x - max) are reduced with shfl.sync.bfly
 *               16, 8, 4, 2, 1 (the sum in double, as generic/norm.c sums).
 *  g_layernorm  LayerNormalization (k_norm_layer, any float type): one
 *               warp per row; the sum and the squared deviations (two
 *               passes, double, as generic/norm.c) are warp-reduced the
 *               same way.
 *  g_gpool      global pooling (k_pool whose window is the whole input, no
 *               pads, no Indices): float32 average, uint8/int8 QLinear
 *               average (KPOOL_QAVG) and max.  One block of GP_THREADS (two
 *               warps) per (image, channel): per-thread partial sums, a
 *               shuffle reduction per warp, the two warp sums through
 *               shared memory and a barrier, then thread 0 finishes as
 *               generic/pool.c does.  Integer sums and maxima are exact in
 *               any order, so QLinear average and max are bit-exact; the
 *               float32 average sums in a different order than the CPU.
 * Other softmax/pool steps run on the task grid (tasks.h).
 */
#ifndef INGOT_K_NVPTX_REDUCE_H
#define INGOT_K_NVPTX_REDUCE_H

#include "generic/norm.h"
#include "generic/pool.h"

#define GR_THREADS 32 /* one warp per row: g_softmax, g_layernorm */
#define GP_THREADS 64 /* g_gpool: two warps per (image, channel) */
#define GP_SMEM (GP_THREADS / 32 * 4) /* the warps' partial results */

static inline int g_softmax_takes(const knorm_softmax *d) {
  /* A fused mask (has_mask) runs on the task grid's generic template. */
  return d->dtype == 1 && d->inner == 1 && !d->log && !d->has_mask;
}

static inline int g_gpool_takes(const k_pool_desc *d) {
  if (d->has_idx) return 0;
  if (d->kind == KPOOL_AVG && d->dtype != 1) return 0;
  for (int j = 0; j < 3; j++)
    if (d->out[j] != 1 || d->k[j] != d->in[j] || d->pb[j] || d->pe[j])
      return 0;
  return 1;
}

#endif /* INGOT_K_NVPTX_REDUCE_H */
