/* tasks.h — the GPU's "task grid" kernels (tasks.c): the generic CPU
 * templates run on the GPU with one thread per work unit.
 *
 * Every generic template splits its step into work units (elementwise
 * blocks of 64 elements, matmul micro-tile rows x column blocks, conv
 * rows x channel blocks, quantisation chunks, movement rows ...) and
 * computes tasks [task_begin, task_end) of |tasks| chunks of units, the
 * chunks writing disjoint outputs (kabi.h).  A task-grid kernel copies the
 * step's descriptor, sets its split to one unit per task (gt_split_*
 * below: the finest split the template's own loops allow) and runs the
 * template's code for task = global thread index.  So the arithmetic is
 * the generic template's, statement for statement (fp32 results are those
 * of the generic CPU code, int8 results bit-exact), and only the work
 * split differs.  The copy folds away once the descriptor is a constant.
 *
 * The split functions are shared with codegen/gpu_map.c, which sizes the
 * grid from their unit count.
 */
#ifndef INGOT_K_NVPTX_TASKS_H
#define INGOT_K_NVPTX_TASKS_H

#include "generic/conv.h"
#include "generic/elementwise.h"
#include "generic/matmul.h"
#include "generic/movement.h"
#include "generic/norm.h"
#include "generic/pool.h"
#include "generic/qlinear.h"
#include "generic/quant.h"
#include "generic/reduce.h"
#include "generic/resize.h"

#define GT_THREADS 64 /* threads per block of a task-grid kernel */

static inline int64_t gt_cdiv(int64_t a, int64_t b) {
  return a <= 0 ? 0 : (a + b - 1) / b;
}
static inline int64_t gt_max1(int64_t a) { return a < 1 ? 1 : a; }

/* Each sets |d|'s split to one unit per task and returns the task count. */
static inline int64_t gt_split_conv(k_conv_desc *d) {
  d->rsplit = gt_max1(d->rows);
  d->csplit = gt_max1(d->cblocks);
  return d->rsplit * d->csplit;
}
static inline int64_t gt_split_pool(k_pool_desc *d) {
  d->rsplit = gt_max1(d->rows);
  d->csplit = gt_max1(d->cblocks);
  return d->rsplit * d->csplit;
}
/* Float products: micro-tile rows (mt = mr) x one block of nv*16 columns
 * (which divides the packed panel width).  Integer products: one output
 * element per task. */
static inline int64_t gt_split_mm(k_mm_desc *d) {
  if (d->kind == KMM_F32) {
    d->mt = gt_max1(d->mr);
    d->nt = 16 * gt_max1(d->nv);
  } else {
    d->mt = 1;
    d->nt = 1;
  }
  d->tiles_m = gt_max1(gt_cdiv(d->m, d->mt));
  d->tiles_n = gt_max1(gt_cdiv(d->n, d->nt));
  return gt_max1(d->tiles_b) * d->tiles_m * d->tiles_n;
}
static inline int64_t gt_split_ew_unary(kew_unary *d) {
  return d->tasks = gt_max1(gt_cdiv(d->n, KEW_BLOCK));
}
static inline int64_t gt_split_ew_binary(kew_binary *d) {
  return d->tasks = gt_max1(gt_cdiv(d->n, KEW_BLOCK));
}
static inline int64_t gt_split_ql_binary(kql_binary *d) {
  return d->tasks = gt_max1(gt_cdiv(d->n, KQL_BLOCK));
}
static inline int64_t gt_split_ql_table(kql_table *d) {
  return d->tasks = gt_max1(gt_cdiv(d->n, KQL_BLOCK));
}
static inline int64_t gt_split_ql_concat(kql_concat *d) {
  return d->tasks = gt_max1(d->outer * d->parts);
}
static inline int64_t gt_split_q(kq_linear *d) {
  return d->tasks = gt_max1(d->units);
}
static inline int64_t gt_split_mv_copy(kmv_copy *d) {
  return d->tasks = gt_max1(d->units);
}
static inline int64_t gt_split_mv_pad(kmv_pad *d) {
  return d->tasks = gt_max1(d->rows);
}
static inline int64_t gt_split_mv_gather(kmv_gather *d) {
  return d->tasks = gt_max1(d->outer * d->count);
}
static inline int64_t gt_split_mv_fill(kmv_fill *d) {
  return d->tasks = gt_max1(d->count);
}
static inline int64_t gt_split_red(kred *d) {
  return d->tasks = gt_max1(d->units);
}
static inline int64_t gt_split_red_arg(kred_arg *d) {
  return d->tasks = gt_max1(d->units);
}
static inline int64_t gt_split_softmax(knorm_softmax *d) {
  return d->tasks = gt_max1(d->units);
}
static inline int64_t gt_split_layer(knorm_layer *d) {
  return d->tasks = gt_max1(d->outer);
}
static inline int64_t gt_split_channel(knorm_channel *d) {
  return d->tasks = gt_max1(d->units);
}
static inline int64_t gt_split_lrn(knorm_lrn *d) {
  return d->tasks = gt_max1(d->units);
}
static inline int64_t gt_split_rs(krs *d) {
  return d->tasks = gt_max1(d->rows);
}

#endif /* INGOT_K_NVPTX_TASKS_H */
