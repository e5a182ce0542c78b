/* lower_reduce.c — lowering of ReduceL1/L2/LogSumExp/Max/Mean/Min/Prod/
 * Sum/SumSquare and ArgMax/ArgMin (templates in kernels/generic/reduce.c).
 *
 * The axes (input 1, a constant in an engine) split the input's dims into
 * kept and reduced ones; each list drops unit dims and merges neighbours
 * whose strides chain, so the template walks as few dims as possible.
 * When the innermost kept dim is contiguous in the input it becomes the
 * template's |inner| (column mode); otherwise the innermost reduced dim is
 * folded with several accumulators (row mode).  The input may be any view
 * the planner gives (NHWC is read through permuted strides); the output
 * must hold the kept dims in row-major model order.  A reduction over an
 * empty set is a constant (the op's identity, as the reference defines
 * it) and becomes a fill; an empty axes list with noop_with_empty_axes is
 * a copy.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine_format.h"
#include "generic/movement.h"
#include "generic/plan.h"
#include "generic/reduce.h"
#include "lower.h"

/* The input in model axis order: dims and element strides. */
typedef struct rview {
  int rank;
  int64_t dims[IR_MAX_RANK], str[IR_MAX_RANK];
} rview;

static ingot_status rview_of(const ir_node *n, const cg_view *v,
                             const char *what, rview *out) {
  out->rank = v->rank;
  if (v->layout == INGOT_LAYOUT_AS_MODEL) {
    int64_t s = 1;
    for (int d = v->rank - 1; d >= 0; d--) {
      out->dims[d] = v->dims[d];
      out->str[d] = s;
      s *= v->dims[d];
    }
    return NULL;
  }
  if (v->layout == INGOT_LAYOUT_NHWC && v->rank == 4) {
    int64_t N = v->dims[0], H = v->dims[1], W = v->dims[2], C = v->dims[3];
    int64_t dims[4] = {N, C, H, W}, str[4] = {H * W * C, 1, W * C, C};
    memcpy(out->dims, dims, sizeof dims);
    memcpy(out->str, str, sizeof str);
    return NULL;
  }
  return ir_node_error(n, INGOT_UNIMPLEMENTED,
                       "%s has layout %d at rank %d, which this lowering "
                       "does not support",
                       what, v->layout, v->rank);
}

static bool rview_row_major(const rview *v) {
  int64_t s = 1;
  for (int d = v->rank - 1; d >= 0; d--) {
    if (v->dims[d] != 1 && v->str[d] != s) return false;
    s *= v->dims[d];
  }
  return true;
}

static int64_t pick_tasks(int64_t units, uint64_t bytes) {
  int64_t t = (int64_t)(bytes / (64u * 1024u));
  if (t > 64) t = 64;
  if (t > units) t = units;
  return t < 1 ? 1 : t;
}

static int64_t numel(int rank, const int64_t *dims) {
  int64_t p = 1;
  for (int d = 0; d < rank; d++) p *= dims[d];
  return p;
}

static int kr_op_of(ir_op op) {
  switch (op) {
  case IR_OP_REDUCE_L1: return KR_L1;
  case IR_OP_REDUCE_L2: return KR_L2;
  case IR_OP_REDUCE_LOG_SUM_EXP: return KR_LOG_SUM_EXP;
  case IR_OP_REDUCE_MAX: return KR_MAX;
  case IR_OP_REDUCE_MEAN: return KR_MEAN;
  case IR_OP_REDUCE_MIN: return KR_MIN;
  case IR_OP_REDUCE_PROD: return KR_PROD;
  case IR_OP_REDUCE_SUM_SQUARE: return KR_SUM_SQUARE;
  default: return KR_SUM;
  }
}

static bool dtype_ok(ir_dtype t) {
  switch (t) {
  case IR_F32: case IR_F64: case IR_F16: case IR_BF16: case IR_I8:
  case IR_U8: case IR_I16:
  case IR_U16: case IR_I32: case IR_U32: case IR_I64: case IR_U64:
    return true;
  default:
    return false;
  }
}

/* The reference's value of a reduction over nothing, as |dt| bytes. */
static void empty_value(int op, ir_dtype dt, unsigned char *out) {
  const ir_dtype_info *ti = ir_dtype_get(dt);
  if (ti->is_float || op == KR_LOG_SUM_EXP) {
    double v = 0;
    switch (op) {
    case KR_PROD: v = 1; break;
    case KR_MAX: case KR_LOG_SUM_EXP: v = -INFINITY; break;
    case KR_MIN: v = INFINITY; break;
    case KR_MEAN: v = NAN; break;
    default: break;
    }
    ir_store_f64(dt, out, 0, v);
    return;
  }
  int bits = 8 * ti->size;
  uint64_t v = op == KR_PROD ? 1 : 0;
  if (op == KR_MAX || op == KR_MIN) {
    bool mx = op == KR_MAX;
    if (!ti->is_signed)
      v = mx ? 0 : (bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1);
    else
      v = mx ? (uint64_t)0 - (UINT64_C(1) << (bits - 1))
             : (UINT64_C(1) << (bits - 1)) - 1;
  }
  ir_store_u64(dt, out, 0, v);
}

static ingot_status emit_copy(cg_lower_ctx *ctx, kbuf src, kbuf dst,
                              int64_t bytes, const char *summary) {
  if (src.space == dst.space && src.off == dst.off) return NULL;
  k_copy_desc c = {.src = src, .dst = dst, .bytes = bytes};
  c.tasks = pick_tasks(bytes / 4096 + 1, 2u * (uint64_t)bytes);
  cg_step st = {.kernel = "k_plan_copy", .desc = &c, .desc_size = sizeof c,
                .tasks = c.tasks, .bytes = 2u * (uint64_t)bytes,
                .summary = summary};
  return cg_emit(ctx, &st);
}

static ingot_status lower_arg(cg_lower_ctx *ctx, const ir_node *n,
                              const cg_view *xv, const rview *x,
                              const cg_view *yv, const char *summary) {
  const ir_p_argminmax *p = n->params;
  if (!rview_row_major(x))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "%s needs a row-major input",
                         ir_op_get(n->op)->name);
  if (x->rank == 0 || p->axis < -x->rank || p->axis >= x->rank)
    return ir_node_error(n, INGOT_OUT_OF_RANGE,
                         "axis %lld is out of range for rank %d",
                         (long long)p->axis, x->rank);
  int ax = (int)(p->axis < 0 ? p->axis + x->rank : p->axis);
  kred_arg d;
  memset(&d, 0, sizeof d);
  d.src = xv->buf;
  d.dst = yv->buf;
  d.dtype = xv->dtype;
  d.is_max = n->op == IR_OP_ARGMAX;
  d.last = p->select_last_index;
  d.outer = numel(ax, x->dims);
  d.len = x->dims[ax];
  d.inner = numel(x->rank - ax - 1, x->dims + ax + 1);
  if (d.len == 0)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "cannot take the arg-extreme of an empty axis");
  if (d.outer * d.inner == 0) return NULL;
  d.units = d.outer * ((d.inner + KR_BLOCK - 1) / KR_BLOCK);
  uint64_t bytes = (uint64_t)(d.outer * d.len * d.inner) *
                       ir_dtype_get(xv->dtype)->size +
                   (uint64_t)(d.outer * d.inner) * 8u;
  d.tasks = pick_tasks(d.units, bytes);
  cg_step st = {.kernel = "k_red_arg", .desc = &d, .desc_size = sizeof d,
                .tasks = d.tasks, .bytes = bytes,
                .ops = (uint64_t)(d.outer * d.len * d.inner),
                .precision = xv->dtype, .summary = summary};
  return cg_emit(ctx, &st);
}

ingot_status cg_lower_reduce(cg_lower_ctx *ctx, ir_node_id nid) {
  const ir_graph *g = cg_graph(ctx);
  const ir_node *n = &g->nodes[nid];
  const char *opname = ir_op_get(n->op)->name;
  cg_view xv, yv;
  rview x, y;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], &xv));
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &yv));
  if (!dtype_ok(xv.dtype))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "%s of dtype %s has no engine kernel", opname,
                         ir_dtype_name(xv.dtype));
  INGOT_RETURN_IF_ERROR(rview_of(n, &xv, "input 0", &x));
  INGOT_RETURN_IF_ERROR(rview_of(n, &yv, "output 0", &y));
  if (!rview_row_major(&y))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "the output of %s must be row-major", opname);
  char summary[160];
  int len = snprintf(summary, sizeof summary, "%s ", opname);
  for (int d = 0; d < x.rank && len < 100; d++)
    len += snprintf(summary + len, sizeof summary - (size_t)len, "%s%lld",
                    d ? "x" : "", (long long)x.dims[d]);
  if (n->op == IR_OP_ARGMAX || n->op == IR_OP_ARGMIN) {
    snprintf(summary + len, sizeof summary - (size_t)len, " axis %lld",
             (long long)((const ir_p_argminmax *)n->params)->axis);
    return lower_arg(ctx, n, &xv, &x, &yv, summary);
  }

  /* Which dims fold (the same rules as the reference's reduce_plan). */
  const ir_p_reduce *p = n->params;
  bool reduced[IR_MAX_RANK] = {false};
  int k = 0;
  if (n->n_in > 1 && n->in[1] &&
      ir_shape_numel(&g->tensors[n->in[1]].shape) > 0) {
    const ir_tensor *at = &g->tensors[n->in[1]];
    if (at->role != IR_ROLE_CONSTANT || !at->data)
      return ir_node_error(n, INGOT_FAILED_PRECONDITION,
                           "input 1 (axes) depends on run-time data; an "
                           "engine needs it constant");
    if (at->dtype != IR_I64 && at->dtype != IR_I32)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "axes must be int64, not %s",
                           ir_dtype_name(at->dtype));
    size_t cnt = ir_shape_numel(&at->shape);
    if (cnt > IR_MAX_RANK)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT, "%zu axes given", cnt);
    k = (int)cnt;
    for (int i = 0; i < k; i++) {
      int64_t a = ir_load_i64(at->dtype, at->data, (size_t)i);
      if (a < -x.rank || a >= x.rank)
        return ir_node_error(n, INGOT_OUT_OF_RANGE,
                             "axis %lld is out of range for rank %d",
                             (long long)a, x.rank);
      reduced[a < 0 ? a + x.rank : a] = true;
    }
  }
  int64_t bytes_in = numel(x.rank, x.dims) * ir_dtype_get(xv.dtype)->size;
  if (k == 0 && p->noop_with_empty_axes) {
    if (!rview_row_major(&x))
      return ir_node_error(n, INGOT_UNIMPLEMENTED,
                           "an identity %s needs a row-major input", opname);
    return emit_copy(ctx, xv.buf, yv.buf, bytes_in, summary);
  }
  if (k == 0)
    for (int d = 0; d < x.rank; d++) reduced[d] = true;

  kred r;
  memset(&r, 0, sizeof r);
  r.src = xv.buf;
  r.dst = yv.buf;
  r.op = kr_op_of(n->op);
  r.dtype = xv.dtype;
  r.count = 1;
  int64_t outputs = 1;
  for (int d = 0; d < x.rank; d++) {
    if (reduced[d])
      r.count *= x.dims[d];
    else
      outputs *= x.dims[d];
  }
  if (outputs == 0) return NULL;
  if (r.count == 0) { /* every output is the identity */
    unsigned char v[16] = {0};
    empty_value(r.op, xv.dtype, v);
    kmv_fill f = {.dst = yv.buf, .esize = ir_dtype_get(xv.dtype)->size,
                  .count = outputs};
    INGOT_RETURN_IF_ERROR(cg_add_weights(ctx, v, sizeof v, &f.value));
    f.tasks = pick_tasks(outputs, (uint64_t)(outputs * f.esize));
    cg_step st = {.kernel = "k_mv_fill", .desc = &f, .desc_size = sizeof f,
                  .tasks = f.tasks, .bytes = (uint64_t)(outputs * f.esize),
                  .precision = xv.dtype, .summary = summary};
    return cg_emit(ctx, &st);
  }

  /* Kept and reduced lists without unit dims, neighbours merged. */
  for (int d = 0; d < x.rank; d++) {
    if (x.dims[d] == 1) continue;
    int32_t *cnt = reduced[d] ? &r.nr : &r.nk;
    int64_t *dims = reduced[d] ? r.rdims : r.kdims;
    int64_t *str = reduced[d] ? r.rstr : r.kstr;
    if (*cnt > 0 && str[*cnt - 1] == x.str[d] * x.dims[d]) {
      dims[*cnt - 1] *= x.dims[d];
      str[*cnt - 1] = x.str[d];
    } else {
      dims[*cnt] = x.dims[d];
      str[*cnt] = x.str[d];
      (*cnt)++;
    }
  }
  if (r.nr == 0) { /* every reduced dim has length 1 */
    r.rdims[0] = 1;
    r.rstr[0] = 0;
    r.nr = 1;
  }
  r.inner = 1;
  if (r.nk > 0 && r.kstr[r.nk - 1] == 1) {
    r.inner = r.kdims[r.nk - 1];
    r.nk--;
  }
  r.rows = numel(r.nk, r.kdims);
  r.units = r.rows * (r.inner > 1 ? (r.inner + KR_BLOCK - 1) / KR_BLOCK : 1);
  uint64_t bytes = (uint64_t)bytes_in +
                   (uint64_t)outputs * ir_dtype_get(xv.dtype)->size;
  r.tasks = pick_tasks(r.units, bytes);
  snprintf(summary + len, sizeof summary - (size_t)len, " -> %lld of %lld",
           (long long)outputs, (long long)r.count);
  uint64_t per = r.op == KR_LOG_SUM_EXP                  ? 4
                 : r.op == KR_L2 || r.op == KR_SUM_SQUARE ? 2
                                                          : 1;
  cg_step st = {.kernel = "k_red", .desc = &r, .desc_size = sizeof r,
                .tasks = r.tasks, .bytes = bytes,
                .ops = per * (uint64_t)(outputs * r.count),
                .precision = xv.dtype, .summary = summary};
  return cg_emit(ctx, &st);
}
