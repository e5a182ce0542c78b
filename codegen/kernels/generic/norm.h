/* norm.h — descriptors of the normalisation templates (norm.c): Softmax
 * and LogSoftmax, LayerNormalization, BatchNormalization (inference and
 * training statistics) with InstanceNormalization, and LRN.
 *
 * Shared by the templates and by codegen/lower_norm.c.  Tensors are in the
 * model's (row-major) layout, element types are ONNX numbers (= ir_dtype =
 * KM_* in kmath.h), and every kernel computes in double like the
 * reference (ir/ref/norm.c, pool.c), rounding once on the store — except
 * the exponentials and powers of float32 tensors, which use kmath's float
 * functions (within 2 ulp).
 */
#ifndef INGOT_K_NORM_H
#define INGOT_K_NORM_H

#include "kabi.h"

/* Columns a softmax over a strided axis handles at once. */
#define KNORM_COLS 16

/* k_norm_softmax: x and y are [outer, len, inner]; every (o, i) is a row
 * of |len| elements |inner| apart, normalised to exp(x - max) / sum (or,
 * |log|, x - max - log(sum)).  A unit is one row when inner == 1, else
 * KNORM_COLS adjacent rows (o, i..i+KNORM_COLS); units split into tasks.
 *
 * |has_mask| (float32 only): the row is x + mask, each sum rounded to
 * float as a separate Add step would (the planner's fuse-softmax-mask,
 * docs/fusion.md).  mask broadcasts over x: element (o, k, i) reads
 * mask[moff(o, odims, ostr) + k * lstr + moff(i, idims, istr)], where
 * moff unravels an index over the outer (inner) dims of x and sums the
 * mask's strides (0 on broadcast dims). */
#define KNORM_MASK_RANK 8
typedef struct knorm_softmax {
  kbuf x, y, mask;
  int32_t dtype, log;
  int32_t has_mask, orank, irank, pad_;
  int64_t outer, len, inner;
  int64_t units, tasks;
  int64_t lstr;
  int64_t odims[KNORM_MASK_RANK], ostr[KNORM_MASK_RANK];
  int64_t idims[KNORM_MASK_RANK], istr[KNORM_MASK_RANK];
} knorm_softmax;

/* k_norm_layer: x and y are [outer, len]; each row gets
 * (x - mean) * inv * scale[j] (+ bias[j]) with inv = 1/sqrt(var + eps)
 * (population variance).  scale and bias have |len| elements of x's type
 * (the lowering expands broadcast ones).  mean and inv (optional, [outer]
 * elements of |stat_dtype|) receive each row's statistics.  Rows split
 * into tasks. */
typedef struct knorm_layer {
  kbuf x, y, scale, bias, mean, inv;
  int32_t dtype, stat_dtype;
  int32_t has_bias, has_mean, has_inv, pad_;
  int64_t outer, len, tasks;
  double eps;
} knorm_layer;

/* Modes of k_norm_channel. */
enum {
  KNORM_BATCH = 0,       /* BatchNormalization with the given statistics */
  KNORM_BATCH_TRAIN = 1, /* BatchNormalization with batch statistics */
  KNORM_INSTANCE = 2,    /* InstanceNormalization */
};

/* k_norm_channel: x and y are [batch, channels, spatial]; per channel c,
 * y = (x - m) * (scale[c] / sqrt(v + eps)) + bias[c] where (m, v) are
 * mean[c], var[c] (KNORM_BATCH), the statistics of channel c over batch
 * and spatial (KNORM_BATCH_TRAIN; run_mean/run_var, when present, get
 * mean[c] * momentum + m * (1 - momentum), likewise for var; outside
 * training they get copies of mean and var) or of each
 * (n, c) plane (KNORM_INSTANCE).  scale/bias have type |pdtype|,
 * mean/var/run_* type |sdtype|.  A unit is one plane (one channel in
 * training mode); units split into tasks. */
typedef struct knorm_channel {
  kbuf x, y, scale, bias, mean, var, run_mean, run_var;
  int32_t mode, dtype, pdtype, sdtype;
  int32_t has_run_mean, has_run_var;
  int64_t batch, channels, spatial;
  int64_t units, tasks;
  double eps, momentum;
} knorm_channel;

/* k_norm_lrn: x and y are [batch, channels, spatial];
 * y = x / (bias + alpha / size * sum of x^2 over the channels
 * [c - (size-1)/2, c + size/2] within [0, channels)) ^ beta.  A unit is
 * one (n, c) plane; units split into tasks. */
typedef struct knorm_lrn {
  kbuf x, y;
  int32_t dtype, pad_;
  int64_t batch, channels, spatial, size;
  int64_t units, tasks;
  double alpha, beta, bias;
} knorm_lrn;

KSIG(k_norm_softmax);
KSIG(k_norm_layer);
KSIG(k_norm_channel);
KSIG(k_norm_lrn);

#endif /* INGOT_K_NORM_H */
