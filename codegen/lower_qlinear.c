/* lower_qlinear.c — lowering of the com.microsoft quantised ops that
 * ONNX Runtime's quantizer writes (templates in kernels/generic/qlinear.c):
 * QLinearAdd and QLinearMul (k_ql_binary), QLinearSigmoid and
 * QLinearLeakyRelu (k_ql_table), QLinearConcat (k_ql_concat, one step per
 * input that fold-concat left to it, plan_fuse_concat.c).  QLinearAveragePool and QLinearGlobalAveragePool lower with the
 * other pools (lower_pool.c).
 *
 * Scales and zero points must be constants (they are in every real
 * QOperator model); the engine specialises on them.  The multipliers and
 * tables come from the reference's own code (ref_qlinear_*_make and
 * ref_qlinear_unary_table in ir/ref/qlinear_ms.c), which also checks the
 * values (a scale that is 0, negative, NaN or infinite is an error naming
 * the node and input), so the engine computes exactly what the reference
 * computes.
 *
 * Layouts: the binary ops take any layout their operands share (the
 * layout pass makes them NHWC inside conv regions; constants broadcast
 * against an NHWC output arrive permuted); the table ops are layout-free;
 * QLinearConcat works in any layout by mapping its axis to memory order.
 */
#include <stdio.h>
#include <string.h>

#include "engine_format.h"
#include "generic/qlinear.h"
#include "lower.h"
#include "ref/ref.h"

#define QL_MAX_TASKS 64

static int64_t view_numel(const cg_view *v) {
  int64_t n = 1;
  for (int d = 0; d < v->rank; d++) n *= v->dims[d];
  return n;
}

static int64_t pick_tasks(int64_t units, uint64_t bytes) {
  int64_t t = (int64_t)(bytes / (64u * 1024u));
  if (t > QL_MAX_TASKS) t = QL_MAX_TASKS;
  if (t > units) t = units;
  return t < 1 ? 1 : t;
}

/* Which inputs carry data (the rest are scales and zero points). */
static bool data_binary(int i) { return i == 0 || i == 3; }
static bool data_unary(int i) { return i == 0; }
static bool data_concat(int i) { return i >= 2 && (i - 2) % 3 == 0; }

/* The node's inputs as values for the reference's parameter code; every
 * input that is not data must be a constant. */
static ingot_status const_inputs(const ir_graph *g, const ir_node *n,
                                 bool (*is_data)(int), ir_value *in,
                                 int cap) {
  if (n->n_in > cap)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "%d inputs; the engine takes at most %d", n->n_in,
                         cap);
  memset(in, 0, sizeof *in * (size_t)cap);
  for (int i = 0; i < n->n_in; i++) {
    if (!n->in[i]) continue;
    const ir_tensor *t = &g->tensors[n->in[i]];
    if (!is_data(i) && (t->role != IR_ROLE_CONSTANT || !t->data))
      return ir_node_error(n, INGOT_UNIMPLEMENTED,
                           "input %d (a scale or zero point) is computed at "
                           "run time; an engine needs it constant",
                           i);
    ir_tensor_as_value(t, &in[i]);
  }
  return NULL;
}

static ingot_status check_q8(const ir_node *n, const cg_view *v, int idx) {
  if (v->dtype == IR_U8 || v->dtype == IR_I8) return NULL;
  return ir_node_error(n, INGOT_UNIMPLEMENTED,
                       "input %d is %s; the engine takes uint8 or int8", idx,
                       ir_dtype_name(v->dtype));
}

/*===------------------------------------------------------------------===*/
/* QLinearAdd, QLinearMul                                                  */
/*===------------------------------------------------------------------===*/

static ingot_status lower_binary(cg_lower_ctx *ctx, const ir_node *n) {
  const ir_graph *g = cg_graph(ctx);
  ir_value in[8];
  INGOT_RETURN_IF_ERROR(const_inputs(g, n, data_binary, in, 8));
  ref_qlinear_binary_q q;
  INGOT_RETURN_IF_ERROR(ref_qlinear_binary_q_make(n, in, n->n_in, &q));
  cg_view ops[2], y;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], &ops[0]));
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[3], &ops[1]));
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &y));
  for (int k = 0; k < 2; k++) {
    INGOT_RETURN_IF_ERROR(check_q8(n, &ops[k], k * 3));
    /* Constants of an NHWC op are permuted copies already in memory
     * order (layout AS_MODEL): only activations must match. */
    if (ops[k].rank == 4 && y.rank == 4 && ops[k].layout != y.layout &&
        g->tensors[n->in[k * 3]].role != IR_ROLE_CONSTANT)
      return ir_node_error(n, INGOT_INTERNAL,
                           "input %d and the output have different layouts",
                           k * 3);
  }
  kql_binary d;
  memset(&d, 0, sizeof d);
  d.op = n->op == IR_OP_QLINEAR_ADD ? KQL_ADD : KQL_MUL;
  d.dtype = (int32_t)y.dtype;
  d.a = ops[0].buf;
  d.b = ops[1].buf;
  d.y = y.buf;
  d.za = (int32_t)q.za;
  d.zb = (int32_t)q.zb;
  d.zy = (int32_t)q.zy;
  d.lo = (int32_t)q.lo;
  d.hi = (int32_t)q.hi;
  d.ma = q.ma;
  d.mb = q.mb;
  d.m = q.m;
  d.n = view_numel(&y);
  if (d.n == 0) return NULL;
  int rank;
  INGOT_RETURN_IF_ERROR(
      cg_broadcast_geometry(n, &y, ops, 2, &rank, d.dims, d.str));
  d.rank = rank;
  uint64_t bytes = (uint64_t)(d.n + view_numel(&ops[0]) + view_numel(&ops[1]));
  d.tasks = pick_tasks((d.n + KQL_BLOCK - 1) / KQL_BLOCK, bytes * 4u);
  bool bcast = view_numel(&ops[0]) != d.n || view_numel(&ops[1]) != d.n;
  char summary[128];
  snprintf(summary, sizeof summary, "%s %lld %s%s%s", ir_op_get(n->op)->name,
           (long long)d.n, ir_dtype_name(y.dtype), bcast ? " bcast" : "",
           y.layout == INGOT_LAYOUT_NHWC ? " NHWC" : "");
  cg_step st = {.kernel = "k_ql_binary", .desc = &d, .desc_size = sizeof d,
                .tasks = d.tasks, .ops = (uint64_t)d.n * 4u, .bytes = bytes,
                .precision = y.dtype, .summary = summary};
  return cg_emit(ctx, &st);
}

/*===------------------------------------------------------------------===*/
/* QLinearSigmoid, QLinearLeakyRelu: a 256-entry table                     */
/*===------------------------------------------------------------------===*/

static ingot_status lower_table(cg_lower_ctx *ctx, const ir_node *n) {
  const ir_graph *g = cg_graph(ctx);
  ir_value in[5];
  INGOT_RETURN_IF_ERROR(const_inputs(g, n, data_unary, in, 5));
  cg_view x, y;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], &x));
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &y));
  INGOT_RETURN_IF_ERROR(check_q8(n, &x, 0));
  if (x.layout != y.layout)
    return ir_node_error(n, INGOT_INTERNAL,
                         "input and output have different layouts");
  int64_t table[256];
  INGOT_RETURN_IF_ERROR(ref_qlinear_unary_table(n, in, n->n_in, table));
  kql_table d;
  memset(&d, 0, sizeof d);
  d.x = x.buf;
  d.y = y.buf;
  d.dtype = (int32_t)x.dtype;
  for (int i = 0; i < 256; i++) d.table[i] = (uint8_t)table[i];
  d.n = view_numel(&y);
  if (d.n == 0) return NULL;
  d.tasks = pick_tasks((d.n + KQL_BLOCK - 1) / KQL_BLOCK, (uint64_t)d.n * 2u);
  char summary[128];
  snprintf(summary, sizeof summary, "%s %lld %s table",
           ir_op_get(n->op)->name, (long long)d.n, ir_dtype_name(x.dtype));
  cg_step st = {.kernel = "k_ql_table", .desc = &d, .desc_size = sizeof d,
                .tasks = d.tasks, .ops = (uint64_t)d.n,
                .bytes = (uint64_t)d.n * 2u, .precision = x.dtype,
                .summary = summary};
  return cg_emit(ctx, &st);
}

/*===------------------------------------------------------------------===*/
/* QLinearConcat: Y_scale, Y_zp, then (X, X_scale, X_zp?) per input       */
/*===------------------------------------------------------------------===*/

/* The memory-order position of model axis |axis| of a tensor stored in
 * |layout| with rank |rank| (NHWC: N,C,H,W -> N,H,W,C). */
static int memory_axis(int axis, int layout, int rank) {
  if (layout != INGOT_LAYOUT_NHWC || rank != 4) return axis;
  static const int pos[4] = {0, 3, 1, 2};
  return pos[axis];
}

static ingot_status lower_concat(cg_lower_ctx *ctx, const ir_node *n) {
  const ir_graph *g = cg_graph(ctx);
  const ir_p_axis *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "attributes were not parsed");
  int nin = n->n_in;
  enum { QCAT_MAX_IN = 3 * 64 + 2 };
  ir_value in[QCAT_MAX_IN];
  INGOT_RETURN_IF_ERROR(const_inputs(g, n, data_concat, in, QCAT_MAX_IN));
  cg_view y;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &y));
  const ir_tensor *ty = &g->tensors[n->out[0]];
  int rank = ty->shape.rank, axis;
  INGOT_RETURN_IF_ERROR(ref_axis(n, p->axis, rank, &axis));
  int ax = memory_axis(axis, y.layout, y.rank);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < ax; d++) outer *= y.dims[d];
  for (int d = ax + 1; d < y.rank; d++) inner *= y.dims[d];
  int64_t ystride = y.dims[ax] * inner, yoff = 0;
  if (ystride == 0 || outer == 0) return NULL;
  int64_t zy = in[1].data ? ir_load_i64(in[1].dtype, in[1].data, 0) : 0;
  int64_t lo = y.dtype == IR_I8 ? -128 : 0, hi = y.dtype == IR_I8 ? 127 : 255;
  for (int i = 2; i < nin; i += 3) {
    cg_view x;
    INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[i], &x));
    INGOT_RETURN_IF_ERROR(check_q8(n, &x, i));
    /* A constant of an NHWC concat is a permuted copy whose dims are
     * already in memory order (layout AS_MODEL). */
    if (x.layout != y.layout && g->tensors[n->in[i]].role != IR_ROLE_CONSTANT)
      return ir_node_error(n, INGOT_INTERNAL,
                           "input %d and the output have different layouts",
                           i);
    kql_concat d;
    memset(&d, 0, sizeof d);
    float m;
    int64_t zi;
    INGOT_RETURN_IF_ERROR(ref_qlinear_concat_q(n, in, nin, i, &m, &zi));
    d.x = x.buf;
    d.y = y.buf;
    d.dtype = (int32_t)y.dtype;
    /* Mi = 1 and the same zero point: every code maps to itself (the
     * reference's rne(float(x − z)·1) + z = x). */
    d.copy = m == 1.0f && zi == zy;
    d.m = m;
    d.zx = (int32_t)zi;
    d.zy = (int32_t)zy;
    d.lo = (int32_t)lo;
    d.hi = (int32_t)hi;
    d.outer = outer;
    d.len = x.dims[ax] * inner;
    d.ystride = ystride;
    d.yoff = yoff;
    yoff += d.len;
    /* fold-concat: the producer already wrote this input in its slice. */
    if (d.len == 0 || cg_sliced(ctx, n->in[i])) continue;
    uint64_t bytes = (uint64_t)(outer * d.len) * 2u;
    int64_t want = pick_tasks(QL_MAX_TASKS, bytes);
    d.parts = outer >= want ? 1 : (want + outer - 1) / outer;
    if (d.parts > d.len) d.parts = d.len;
    d.tasks = pick_tasks(outer * d.parts, bytes);
    char summary[128];
    snprintf(summary, sizeof summary, "QLinearConcat input %d: %lldx%lld %s%s",
             (i - 2) / 3, (long long)outer, (long long)d.len,
             d.copy ? "copy" : "requantise",
             y.layout == INGOT_LAYOUT_NHWC ? " NHWC" : "");
    cg_step st = {.kernel = "k_ql_concat", .desc = &d, .desc_size = sizeof d,
                  .tasks = d.tasks,
                  .ops = d.copy ? 0 : (uint64_t)(outer * d.len) * 3u,
                  .bytes = bytes, .precision = y.dtype, .summary = summary};
    INGOT_RETURN_IF_ERROR(cg_emit(ctx, &st));
  }
  return NULL;
}

ingot_status cg_lower_qlinear(cg_lower_ctx *ctx, ir_node_id nid) {
  const ir_node *n = &cg_graph(ctx)->nodes[nid];
  switch (n->op) {
  case IR_OP_QLINEAR_ADD: case IR_OP_QLINEAR_MUL:
    return lower_binary(ctx, n);
  case IR_OP_QLINEAR_SIGMOID: case IR_OP_QLINEAR_LEAKY_RELU:
    return lower_table(ctx, n);
  case IR_OP_QLINEAR_CONCAT:
    return lower_concat(ctx, n);
  default:
    return ir_node_error(n, INGOT_INTERNAL, "not a QLinear op");
  }
}
