/* reduce.h — descriptors of the reduction templates (reduce.c): Reduce*
 * and ArgMax/ArgMin.
 *
 * Shared by the templates and by codegen/lower_reduce.c.  Dtypes use
 * ONNX's numbering (kabi.h).  Float dtypes accumulate in double, as the
 * reference does; integer Sum/Prod/L1/SumSquare wrap in 64 bits; integer
 * Mean/L2/LogSumExp go through double and store like a Cast (truncation).
 */
#ifndef INGOT_K_REDUCE_H
#define INGOT_K_REDUCE_H

#include "kabi.h"

/* Reduction kinds (kred.op). */
enum {
  KR_SUM = 0, KR_MEAN, KR_L1, KR_L2, KR_SUM_SQUARE, KR_PROD, KR_MAX, KR_MIN,
  KR_LOG_SUM_EXP
};

/* Independent accumulators when the reduced run is innermost (lets the
 * specialiser vectorise without reassociating a single sum). */
#define KR_LANES 8
/* Output elements a column-mode unit reduces at once. */
#define KR_BLOCK 256

/* k_red: reduces the input over some dims; the output (contiguous, same
 * dtype) holds the kept dims in order.
 *
 * Output element (row, i), i < inner, reads the input at
 *   off(row) + i + sum over reduced positions of rdims/rstr,
 * where off(row) walks the kept dims kdims/kstr (outermost first).  When
 * inner > 1 the last kept dim is contiguous in the input (stride 1) and
 * each unit reduces a block of up to KR_BLOCK neighbouring outputs at once
 * ("column" mode: units = rows * ceil(inner / KR_BLOCK)); when inner == 1
 * a unit is one output and the innermost reduced dim is folded with
 * KR_LANES accumulators ("row" mode: units = rows).  count >= 1 is the
 * number of reduced elements (the lowering fills empty reductions with the
 * identity instead).  nr >= 1. */
typedef struct kred {
  kbuf src, dst;
  int32_t op, dtype;
  int32_t nk, nr;
  int64_t rows, inner, count, units, tasks;
  int64_t kdims[KMAX_RANK], kstr[KMAX_RANK];
  int64_t rdims[KMAX_RANK], rstr[KMAX_RANK];
} kred;

/* k_red_arg: ArgMax (is_max) / ArgMin over the middle axis of a
 * contiguous [outer, len, inner] input; output int64 [outer, inner].
 * NaN is the extreme for both (the first NaN wins, the last with
 * select_last_index), as in numpy.  Units: outer * ceil(inner / KR_BLOCK).
 */
typedef struct kred_arg {
  kbuf src, dst;
  int32_t dtype, is_max, last, pad_;
  int64_t outer, len, inner, units, tasks;
} kred_arg;

#endif /* INGOT_K_REDUCE_H */
