/* qlinear.h — descriptors of the templates for the com.microsoft
 * quantised ops (qlinear.c): QLinearAdd and QLinearMul (k_ql_binary),
 * QLinearSigmoid and QLinearLeakyRelu (k_ql_table) and QLinearConcat
 * (k_ql_concat).  QLinearAveragePool and QLinearGlobalAveragePool are a
 * kind of the pooling template (pool.h, KPOOL_QAVG).
 *
 * Shared by the templates and by codegen/lower_qlinear.c, which fills
 * them.  The arithmetic is the reference's (ir/ref/qlinear_ms.c) step for
 * step: the multipliers are computed at build time by the reference's own
 * code (ref_qlinear_*_make) and stored here as float32, so a template only
 * repeats the per-element float operations, in the same order, each on its
 * own (templates are compiled with -ffp-contract=off).  Scales and zero
 * points are constants of the model: the descriptor holds their values, so
 * every one of them folds into the generated code.
 * Element types: KQL_U8 (2) or KQL_I8 (3), ONNX numbering, one per node.
 */
#ifndef INGOT_K_QLINEAR_H
#define INGOT_K_QLINEAR_H

#include "kabi.h"

enum { KQL_U8 = 2, KQL_I8 = 3 };
enum { KQL_ADD = 0, KQL_MUL = 1 };

/* Elements per work unit of the elementwise templates. */
#define KQL_BLOCK 256

/* k_ql_binary: y = QLinearAdd/Mul(a, b) over the output's |rank| dims
 * (memory order, size-1 dims dropped, mergeable neighbours fused; the
 * same geometry as k_ew_binary, from cg_broadcast_geometry), y
 * contiguous; str[0][d] / str[1][d] are the element strides of a and b
 * (0 where they broadcast).
 *   Add: v = float(a − za)·ma + float(b − zb)·mb  (products, then sum)
 *   Mul: v = float((a − za)·(b − zb))·m
 *   y = clamp(rne(v) + zy, lo, hi).
 * The n elements, in blocks of KQL_BLOCK, are split into |tasks|. */
typedef struct kql_binary {
  kbuf a, b, y;
  int32_t op, dtype;
  int32_t za, zb, zy, lo, hi, rank;
  float ma, mb, m, pad_;
  int64_t n, tasks;
  int64_t dims[KMAX_RANK];
  int64_t str[2][KMAX_RANK];
} kql_binary;

/* k_ql_table: y[i] = table[x[i] − lo] for i in [0, n): an op of the input
 * code alone (QLinearSigmoid, QLinearLeakyRelu), whose 256 outputs the
 * reference computed at build time (ref_qlinear_unary_table).  int8
 * codes index by x + 128. */
typedef struct kql_table {
  kbuf x, y;
  int32_t dtype, pad_;
  int64_t n, tasks;
  uint8_t table[256];
} kql_table;

/* k_ql_concat: one input of QLinearConcat.  The input is |outer| rows of
 * |len| contiguous elements; row o goes to y[o·ystride + yoff ...].
 * copy = 1: the input is already at the output's scale and zero point,
 * bytes are copied; otherwise y = clamp(rne(float(x − zx)·m) + zy, lo,
 * hi).  Work units: each row cut into |parts| pieces, outer·parts units
 * split into |tasks|. */
typedef struct kql_concat {
  kbuf x, y;
  int32_t dtype, copy;
  int32_t zx, zy, lo, hi;
  float m, pad_;
  int64_t outer, len, ystride, yoff, parts, tasks;
} kql_concat;

#endif /* INGOT_K_QLINEAR_H */
