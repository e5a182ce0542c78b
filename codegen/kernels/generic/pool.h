/* pool.h — descriptor of the pooling template (pool.c): MaxPool (with the
 * optional Indices output), AveragePool, GlobalMaxPool and
 * GlobalAveragePool (a window as large as the input).
 *
 * Geometry as in ir/ref/pool.c: three spatial dims (missing leading ones
 * of size 1), begin pads pb and end pads pe (pe only decides which taps
 * count_include_pad counts: those inside the pads, not those of ceil_mode's
 * extension).  Operands by element strides, so NHWC and the model's
 * channel-first layout share the code:
 *   X(n, c, i0, i1, i2) = x[n*xs_n + c*xs_c + i·xs], Y and Indices alike.
 * Indices hold the reference's values whatever the layout: (n*C + c) *
 * in0*in1*in2 plus the row-major spatial offset (column-major with
 * storage_order 1).
 *
 * KPOOL_QAVG is com.microsoft QLinearAveragePool / QLinearGlobalAveragePool
 * on uint8/int8 codes (ir/ref/qlinear_ms.c): the window sum of x − qzx in
 * int32 (exact), the window's count as AveragePool counts it, then
 * y = clamp(rne(float(acc) · M) + qzy, qlo, qhi) with
 * M = qsx / (qsy · float(count)), the reference's float operations.
 *
 * Work: rows (n, o0, o1) and channel blocks of KPOOL_CB channels; task t
 * covers row chunk t / csplit and block chunk t % csplit.
 */
#ifndef INGOT_K_POOL_H
#define INGOT_K_POOL_H

#include "kabi.h"

#define KPOOL_CB 64

enum k_pool_kind { KPOOL_MAX = 0, KPOOL_AVG = 1, KPOOL_QAVG = 2 };

typedef struct k_pool_desc {
  int32_t kind;  /* k_pool_kind */
  int32_t dtype; /* X and Y: float32, or uint8/int8 (max, qavg) */
  int32_t count_include_pad;
  int32_t has_idx;
  int32_t storage_order;
  int32_t pad_;
  kbuf x, y, idx;
  int64_t c;
  int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
  int64_t xs_n, xs_c, xs[3];
  int64_t ys_n, ys_c, ys[3];
  int64_t is_n, is_c, is[3];
  int64_t rows, cblocks, rsplit, csplit; /* tasks = rsplit * csplit */
  int32_t qzx, qzy, qlo, qhi; /* KPOOL_QAVG only */
  float qsx, qsy;
} k_pool_desc;

#endif /* INGOT_K_POOL_H */
