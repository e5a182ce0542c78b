/* lower_elementwise.c — lowering of the elementwise ops (templates in
 * kernels/generic/elementwise.c): every unary op of lower.def, Clip,
 * Cast, Identity and Dropout to k_ew_unary; the broadcasting binary ops,
 * Where and the variadic Max/Min/Sum/Mean to k_ew_binary.
 *
 * Layouts.  The planner gives all operands of an elementwise op one layout
 * (passes/layout.c: constant operands of an NHWC op are permuted copies
 * whose shapes are already in memory order), so broadcasting is numpy's,
 * applied to the views' dims in memory order.  A unary op reads and writes
 * the same element order and is a flat loop.
 *
 * Broadcasting is resolved here, at build time: every operand gets an
 * element stride per output dim (0 where it broadcasts), size-1 dims are
 * dropped and neighbouring dims every operand walks linearly are merged,
 * so the template's innermost loop is as long as possible (a whole tensor
 * for same-shape operands, H*W for a per-channel NCHW bias, C for a
 * per-channel NHWC one).
 *
 * Max, Min, Sum and Mean over N inputs become a chain of binary steps
 * (y = in0 op in1, then y = y op in_k), the reference's order of
 * evaluation; Mean's last step divides by N.  Dropout is inference only:
 * a copy plus, when asked for, a mask of ones; training mode with a
 * non-zero ratio is UNIMPLEMENTED, as in the reference, when the constants
 * say so, and poisons the output with NaN when a run-time training_mode
 * and ratio do (kernels cannot fail).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine_format.h"
#include "generic/elementwise.h"
#include "lower.h"

/*===------------------------------------------------------------------===*/
/* Helpers                                                                 */
/*===------------------------------------------------------------------===*/

static int64_t view_numel(const cg_view *v) {
  int64_t n = 1;
  for (int d = 0; d < v->rank; d++) n *= v->dims[d];
  return n;
}

static const char *dims_str(const cg_view *v, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = '\0';
  if (v->rank == 0) snprintf(buf, cap, "scalar");
  for (int d = 0; d < v->rank && len + 1 < cap; d++) {
    int k = snprintf(buf + len, cap - len, "%s%lld", d ? "x" : "",
                     (long long)v->dims[d]);
    if (k < 0) break;
    len += (size_t)k;
  }
  return buf;
}

/* Tasks for |n| elements costing |cost| each: at least ~16K element-costs
 * per task, at most 64 tasks, at most one per KEW_BLOCK. */
static int64_t ew_tasks(int64_t n, int64_t cost) {
  int64_t blocks = (n + KEW_BLOCK - 1) / KEW_BLOCK;
  int64_t t = n * cost / 16384;
  if (t > 64) t = 64;
  if (t > blocks) t = blocks;
  return t < 1 ? 1 : t;
}

static bool dt_float(ir_dtype t) {
  const ir_dtype_info *i = ir_dtype_get(t);
  return i && i->size && i->is_float;
}
static bool dt_int(ir_dtype t) {
  const ir_dtype_info *i = ir_dtype_get(t);
  return i && i->size && i->is_int && !i->is_bool;
}
static bool dt_numeric(ir_dtype t) { return dt_float(t) || dt_int(t); }
static bool dt_any(ir_dtype t) { return ir_dtype_supported(t); }

static ingot_status bad_dtype(const ir_node *n, int idx, ir_dtype t,
                              const char *want) {
  return ir_node_error(n, INGOT_UNIMPLEMENTED,
                       "input %d has dtype %s; the engine kernel takes %s",
                       idx, ir_dtype_name(t), want);
}

static const ir_tensor *const_input(const ir_graph *g, const ir_node *n,
                                    int idx) {
  if (idx >= n->n_in || !n->in[idx]) return NULL;
  const ir_tensor *t = &g->tensors[n->in[idx]];
  return t->role == IR_ROLE_CONSTANT && t->data ? t : NULL;
}

static bool has_input(const ir_node *n, int idx) {
  return idx < n->n_in && n->in[idx];
}

/*===------------------------------------------------------------------===*/
/* Unary                                                                   */
/*===------------------------------------------------------------------===*/

/* The template op of a math/activation node, and its cost per element. */
static int unary_op(ir_op op, int *cost) {
  *cost = 1;
  switch (op) {
  case IR_OP_ABS: return KEW_ABS;
  case IR_OP_NEG: return KEW_NEG;
  case IR_OP_CEIL: return KEW_CEIL;
  case IR_OP_FLOOR: return KEW_FLOOR;
  case IR_OP_ROUND: return KEW_ROUND;
  case IR_OP_SIGN: return KEW_SIGN;
  case IR_OP_SQRT: return KEW_SQRT;
  case IR_OP_RELU: return KEW_RELU;
  case IR_OP_RECIPROCAL: return KEW_RECIPROCAL;
  case IR_OP_SOFTSIGN: return KEW_SOFTSIGN;
  case IR_OP_LEAKY_RELU: return KEW_LEAKY_RELU;
  case IR_OP_HARD_SIGMOID: return KEW_HARD_SIGMOID;
  case IR_OP_HARD_SWISH: return KEW_HARD_SWISH;
  case IR_OP_NOT: return KEW_NOT;
  default: break;
  }
  *cost = 16;
  switch (op) {
  case IR_OP_EXP: return KEW_EXP;
  case IR_OP_LOG: return KEW_LOG;
  case IR_OP_SIN: return KEW_SIN;
  case IR_OP_COS: return KEW_COS;
  case IR_OP_TANH: return KEW_TANH;
  case IR_OP_ERF: return KEW_ERF;
  case IR_OP_SIGMOID: return KEW_SIGMOID;
  case IR_OP_SOFTPLUS: return KEW_SOFTPLUS;
  case IR_OP_ELU: return KEW_ELU;
  case IR_OP_SELU: return KEW_SELU;
  case IR_OP_GELU: return KEW_GELU; /* KEW_GELU_TANH: cg_lower_unary */
  default: return -1;
  }
}

static ingot_status emit_unary(cg_lower_ctx *ctx, const ir_node *n,
                               kew_unary *d, int cost, const cg_view *y) {
  char shape[96], summary[192];
  const char *what = n->op == IR_OP_DROPOUT && d->op == KEW_ONES
                         ? "Dropout mask"
                         : ir_op_get(n->op)->name;
  if (d->op == KEW_CAST)
    snprintf(summary, sizeof summary, "%s %s %s->%s", what,
             dims_str(y, shape, sizeof shape), ir_dtype_name(d->xdt),
             ir_dtype_name(d->ydt));
  else
    snprintf(summary, sizeof summary, "%s %s %s", what,
             dims_str(y, shape, sizeof shape), ir_dtype_name(d->ydt));
  d->tasks = ew_tasks(d->n, cost);
  if (d->ydt == IR_F32) d->epi = *cg_epilogue(ctx); /* plan_fuse.c */
  uint64_t esz = (d->op == KEW_ONES ? 0 : ir_dtype_traits[d->xdt].size) +
                 ir_dtype_traits[d->ydt].size;
  cg_step st = {.kernel = "k_ew_unary",
                .desc = d,
                .desc_size = sizeof *d,
                .tasks = d->tasks,
                .ops = (uint64_t)d->n * (uint64_t)cost,
                .bytes = (uint64_t)d->n * esz,
                .precision = (ir_dtype)d->ydt,
                .summary = summary};
  return cg_emit(ctx, &st);
}

/* Clip bound |idx| (1: min, 2: max) of a node whose X has dtype |t|. */
static ingot_status clip_bound(cg_lower_ctx *ctx, const ir_node *n, int idx,
                               ir_dtype t, kew_unary *d) {
  int32_t *src = idx == 1 ? &d->lo_src : &d->hi_src;
  if (!has_input(n, idx)) {
    *src = KEW_BOUND_NONE;
    return NULL;
  }
  const ir_graph *g = cg_graph(ctx);
  const ir_tensor *b = &g->tensors[n->in[idx]];
  const char *name = idx == 1 ? "min" : "max";
  if (ir_shape_numel(&b->shape) != 1 || b->shape.rank > 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input %d (%s) must be a scalar", idx, name);
  if (!dt_numeric(b->dtype) || (dt_float(t) != dt_float(b->dtype)))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "input %d (%s) has dtype %s, X has %s", idx, name,
                         ir_dtype_name(b->dtype), ir_dtype_name(t));
  if (b->role == IR_ROLE_CONSTANT && b->data) {
    *src = KEW_BOUND_CONST;
    if (dt_float(t)) {
      double v = ir_load_f64(b->dtype, b->data, 0);
      *(idx == 1 ? &d->flo : &d->fhi) = v;
    } else {
      int64_t v = t == IR_U64 ? (int64_t)ir_load_u64(b->dtype, b->data, 0)
                              : ir_load_i64(b->dtype, b->data, 0);
      *(idx == 1 ? &d->ilo : &d->ihi) = v;
    }
    return NULL;
  }
  if (b->dtype != t)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "input %d (%s) has dtype %s, X has %s", idx, name,
                         ir_dtype_name(b->dtype), ir_dtype_name(t));
  cg_view v;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[idx], &v));
  *src = KEW_BOUND_BUF;
  *(idx == 1 ? &d->lo : &d->hi) = v.buf;
  return NULL;
}

/* Dropout: a copy (inference).  Training mode with a ratio that is not 0
 * draws a random mask no kernel can reproduce, so the engine needs
 * training_mode as a constant: UNIMPLEMENTED when it is true (ratio not 0)
 * or a run-time input (freeze it with --const-input).  A kernel cannot
 * report an error, and a NaN-filled output would be an answer. */
static ingot_status dropout_setup(cg_lower_ctx *ctx, const ir_node *n,
                                  kew_unary *d) {
  const ir_graph *g = cg_graph(ctx);
  d->op = KEW_COPY;
  if (!has_input(n, 2)) return NULL;
  const ir_tensor *tm = const_input(g, n, 2);
  const ir_tensor *r = const_input(g, n, 1);
  if (tm) {
    if (!ir_load_i64(tm->dtype, tm->data, 0)) return NULL;
    if (has_input(n, 1) && r && ir_load_f64(r->dtype, r->data, 0) == 0.0)
      return NULL;
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "training_mode=true with a non-zero (or run-time) "
                         "ratio draws a random mask; only inference is "
                         "supported");
  }
  return ir_node_error(n, INGOT_UNIMPLEMENTED,
                       "training_mode (input 2) must be a constant in an "
                       "engine; freeze it with --const-input");
}

ingot_status cg_lower_unary(cg_lower_ctx *ctx, ir_node_id nid) {
  const ir_graph *g = cg_graph(ctx);
  const ir_node *n = &g->nodes[nid];
  cg_view x, y;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], &x));
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &y));
  if (x.rank == 4 && x.layout != y.layout)
    return ir_node_error(n, INGOT_INTERNAL,
                         "input and output have different layouts");
  kew_unary d;
  memset(&d, 0, sizeof d);
  d.x = x.buf;
  d.y = y.buf;
  d.xdt = (int32_t)x.dtype;
  d.ydt = (int32_t)y.dtype;
  d.n = view_numel(&y);
  if (view_numel(&x) != d.n)
    return ir_node_error(n, INGOT_INTERNAL,
                         "input and output sizes differ");
  int cost = 1;
  ir_dtype t = x.dtype;
  switch (n->op) {
  case IR_OP_IDENTITY:
    if (!dt_any(t)) return bad_dtype(n, 0, t, "numeric or bool tensors");
    d.op = KEW_COPY;
    break;
  case IR_OP_DROPOUT:
    if (!dt_float(t)) return bad_dtype(n, 0, t, "a float type");
    INGOT_RETURN_IF_ERROR(dropout_setup(ctx, n, &d));
    break;
  case IR_OP_CAST:
    if (!dt_any(t)) return bad_dtype(n, 0, t, "numeric or bool tensors");
    if (!dt_any(y.dtype))
      return ir_node_error(n, INGOT_UNIMPLEMENTED,
                           "Cast to %s is not supported",
                           ir_dtype_name(y.dtype));
    d.op = KEW_CAST;
    cost = 2;
    break;
  case IR_OP_CLIP:
    if (!dt_numeric(t)) return bad_dtype(n, 0, t, "a numeric type");
    if (!dt_float(t) && n->opset < 11)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "Clip-%d supports float inputs only, not %s",
                           n->opset, ir_dtype_name(t));
    d.op = KEW_CLIP;
    d.flo = -INFINITY;
    d.fhi = INFINITY;
    d.ilo = t == IR_U64 ? 0 : INT64_MIN;
    d.ihi = t == IR_U64 ? -1 /* UINT64_MAX */ : INT64_MAX;
    INGOT_RETURN_IF_ERROR(clip_bound(ctx, n, 1, t, &d));
    INGOT_RETURN_IF_ERROR(clip_bound(ctx, n, 2, t, &d));
    break;
  default: {
    int op = unary_op(n->op, &cost);
    if (op < 0)
      return ir_node_error(n, INGOT_INTERNAL,
                           "cg_lower_unary has no template op for %s",
                           ir_op_get(n->op)->name);
    d.op = op;
    bool ints = n->op == IR_OP_ABS || n->op == IR_OP_NEG ||
                n->op == IR_OP_SIGN || n->op == IR_OP_RELU ||
                n->op == IR_OP_ERF;
    if (n->op == IR_OP_NOT) {
      if (t != IR_BOOL) return bad_dtype(n, 0, t, "bool");
    } else if (!dt_float(t) && !(ints && dt_int(t))) {
      return bad_dtype(n, 0, t, ints ? "a numeric type" : "a float type");
    }
    if (y.dtype != t)
      return ir_node_error(n, INGOT_INTERNAL, "output dtype %s != input %s",
                           ir_dtype_name(y.dtype), ir_dtype_name(t));
    const ir_p_activation *p = n->params;
    if (n->op == IR_OP_ELU || n->op == IR_OP_SELU ||
        n->op == IR_OP_LEAKY_RELU || n->op == IR_OP_HARD_SIGMOID ||
        n->op == IR_OP_GELU) {
      if (!p) return ir_node_error(n, INGOT_INTERNAL, "node was not parsed");
      if (n->op == IR_OP_GELU && p->alpha != 0) d.op = KEW_GELU_TANH;
      d.alpha = p->alpha;
      d.beta = p->beta;
      d.gamma = p->gamma;
    }
    if (!dt_float(t)) cost = n->op == IR_OP_ERF ? 16 : 1;
    break;
  }
  }
  if (d.n == 0) return NULL;
  INGOT_RETURN_IF_ERROR(emit_unary(ctx, n, &d, cost, &y));

  /* Dropout's mask: all true (of X's type before opset 10). */
  if (n->op == IR_OP_DROPOUT && n->n_out > 1 && n->out[1]) {
    cg_view m;
    INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[1], &m));
    kew_unary dm;
    memset(&dm, 0, sizeof dm);
    dm.op = KEW_ONES;
    dm.x = m.buf;
    dm.y = m.buf;
    dm.xdt = dm.ydt = (int32_t)m.dtype;
    dm.n = view_numel(&m);
    if (dm.n) INGOT_RETURN_IF_ERROR(emit_unary(ctx, n, &dm, 1, &m));
  }
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Binary, Where, variadic                                                 */
/*===------------------------------------------------------------------===*/

/* Fills *rank, dims, str from the output view and the |nin| operand
 * views: numpy broadcasting on memory-order dims, then size-1 dims dropped
 * and mergeable neighbours fused (lower.h). */
ingot_status cg_broadcast_geometry(const ir_node *n, const cg_view *y,
                                   const cg_view *in, int nin, int *rank,
                                   int64_t *dims,
                                   int64_t (*dstr)[KMAX_RANK]) {
  int64_t str[KEW_MAX_IN][IR_MAX_RANK];
  if (nin > KEW_MAX_IN)
    return ir_node_error(n, INGOT_INTERNAL, "%d operands to broadcast", nin);
  for (int k = 0; k < nin; k++) {
    const cg_view *v = &in[k];
    if (v->rank > y->rank)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "input %d has rank %d, the output %d", k, v->rank,
                           y->rank);
    int64_t s = 1;
    for (int dd = y->rank - 1; dd >= 0; dd--) {
      int dk = dd - (y->rank - v->rank);
      if (dk < 0) {
        str[k][dd] = 0;
        continue;
      }
      if (v->dims[dk] == y->dims[dd])
        str[k][dd] = s;
      else if (v->dims[dk] == 1)
        str[k][dd] = 0;
      else {
        char a[96], b[96];
        return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                             "input %d of shape %s does not broadcast to %s",
                             k, dims_str(v, a, sizeof a),
                             dims_str(y, b, sizeof b));
      }
      s *= v->dims[dk];
    }
  }
  int r = 0;
  for (int dd = 0; dd < y->rank; dd++) {
    if (y->dims[dd] == 1) continue;
    bool merge = r > 0;
    for (int k = 0; k < nin && merge; k++)
      merge = dstr[k][r - 1] == str[k][dd] * y->dims[dd];
    if (merge) {
      dims[r - 1] *= y->dims[dd];
      for (int k = 0; k < nin; k++) dstr[k][r - 1] = str[k][dd];
      continue;
    }
    dims[r] = y->dims[dd];
    for (int k = 0; k < nin; k++) dstr[k][r] = str[k][dd];
    r++;
  }
  if (r == 0) { /* a single element */
    dims[0] = 1;
    for (int k = 0; k < nin; k++) dstr[k][0] = 0;
    r = 1;
  }
  *rank = r;
  return NULL;
}

static ingot_status bin_shape(const ir_node *n, const cg_view *y,
                              const cg_view *in, int nin, kew_binary *d) {
  return cg_broadcast_geometry(n, y, in, nin, &d->rank, d->dims, d->str);
}

static int binary_op(ir_op op) {
  switch (op) {
  case IR_OP_ADD: case IR_OP_SUM: case IR_OP_MEAN: return KEW_ADD;
  case IR_OP_SUB: return KEW_SUB;
  case IR_OP_MUL: return KEW_MUL;
  case IR_OP_DIV: return KEW_DIV;
  case IR_OP_POW: return KEW_POW;
  case IR_OP_PRELU: return KEW_PRELU;
  case IR_OP_MAX: return KEW_MAX;
  case IR_OP_MIN: return KEW_MIN;
  case IR_OP_AND: return KEW_AND;
  case IR_OP_OR: return KEW_OR;
  case IR_OP_XOR: return KEW_XOR;
  case IR_OP_EQUAL: return KEW_EQUAL;
  case IR_OP_GREATER: return KEW_GREATER;
  case IR_OP_GREATER_OR_EQUAL: return KEW_GREATER_EQUAL;
  case IR_OP_LESS: return KEW_LESS;
  case IR_OP_LESS_OR_EQUAL: return KEW_LESS_EQUAL;
  case IR_OP_WHERE: return KEW_WHERE;
  default: return -1;
  }
}

/* Emits one k_ew_binary step: y = op(in[0..nin)). */
static ingot_status emit_binary(cg_lower_ctx *ctx, const ir_node *n, int op,
                                const cg_view *in, int nin, const cg_view *y,
                                int post_div) {
  kew_binary d;
  memset(&d, 0, sizeof d);
  d.op = op;
  d.nin = nin;
  d.y = y->buf;
  d.ydt = (int32_t)y->dtype;
  d.post_div = post_div;
  d.n = view_numel(y);
  uint64_t bytes = (uint64_t)d.n * ir_dtype_traits[y->dtype].size;
  for (int k = 0; k < nin; k++) {
    d.in[k] = in[k].buf;
    d.dt[k] = (int32_t)in[k].dtype;
    bytes += (uint64_t)view_numel(&in[k]) * ir_dtype_traits[in[k].dtype].size;
  }
  INGOT_RETURN_IF_ERROR(bin_shape(n, y, in, nin, &d));
  int64_t cost = op == KEW_POW ? 16 : 1;
  d.tasks = ew_tasks(d.n, cost);
  if (d.ydt == IR_F32) d.epi = *cg_epilogue(ctx); /* plan_fuse.c */
  bool bcast = false;
  for (int k = 0; k < nin; k++) bcast |= view_numel(&in[k]) != d.n;
  char shape[96], summary[192];
  snprintf(summary, sizeof summary, "%s %s %s%s%s", ir_op_get(n->op)->name,
           dims_str(y, shape, sizeof shape), ir_dtype_name(in[0].dtype),
           bcast ? " bcast" : "", post_div ? " /n" : "");
  cg_step st = {.kernel = "k_ew_binary",
                .desc = &d,
                .desc_size = sizeof d,
                .tasks = d.tasks,
                .ops = (uint64_t)d.n * (uint64_t)cost,
                .bytes = bytes,
                .precision = in[0].dtype,
                .summary = summary};
  return cg_emit(ctx, &st);
}

/* Dtype rules of the reference (ir/ref/binary.c). */
static ingot_status binary_dtypes(const ir_node *n, const cg_view *in,
                                  int nin) {
  ir_dtype ta = in[0].dtype;
  switch (n->op) {
  case IR_OP_AND: case IR_OP_OR: case IR_OP_XOR:
    for (int k = 0; k < nin; k++)
      if (in[k].dtype != IR_BOOL) return bad_dtype(n, k, in[k].dtype, "bool");
    return NULL;
  case IR_OP_EQUAL: case IR_OP_GREATER: case IR_OP_GREATER_OR_EQUAL:
  case IR_OP_LESS: case IR_OP_LESS_OR_EQUAL:
    if (!dt_numeric(ta) && !(n->op == IR_OP_EQUAL && ta == IR_BOOL))
      return bad_dtype(n, 0, ta, "a numeric type");
    break;
  case IR_OP_WHERE:
    if (ta != IR_BOOL) return bad_dtype(n, 0, ta, "bool");
    if (!dt_any(in[1].dtype))
      return bad_dtype(n, 1, in[1].dtype, "numeric or bool tensors");
    if (in[2].dtype != in[1].dtype)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "inputs 1 and 2 have dtypes %s and %s",
                           ir_dtype_name(in[1].dtype),
                           ir_dtype_name(in[2].dtype));
    return NULL;
  case IR_OP_MEAN:
    if (!dt_float(ta)) return bad_dtype(n, 0, ta, "a float type");
    break;
  case IR_OP_POW:
    if (!dt_numeric(ta)) return bad_dtype(n, 0, ta, "a numeric type");
    if (!dt_numeric(in[1].dtype))
      return bad_dtype(n, 1, in[1].dtype, "a numeric type");
    return NULL;
  default:
    if (!dt_numeric(ta)) return bad_dtype(n, 0, ta, "a numeric type");
    break;
  }
  for (int k = 1; k < nin; k++)
    if (in[k].dtype != ta)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "inputs 0 and %d have dtypes %s and %s", k,
                           ir_dtype_name(ta), ir_dtype_name(in[k].dtype));
  return NULL;
}

ingot_status cg_lower_binary(cg_lower_ctx *ctx, ir_node_id nid) {
  const ir_graph *g = cg_graph(ctx);
  const ir_node *n = &g->nodes[nid];
  int nin = n->n_in;
  cg_view y;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &y));
  bool variadic = n->op == IR_OP_MAX || n->op == IR_OP_MIN ||
                  n->op == IR_OP_SUM || n->op == IR_OP_MEAN;
  if (nin > 32)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "%d inputs; the engine takes at most 32", nin);
  cg_view in[32];
  for (int k = 0; k < nin; k++) {
    if (!n->in[k])
      return ir_node_error(n, INGOT_INVALID_ARGUMENT, "input %d is absent",
                           k);
    INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[k], &in[k]));
    /* Constants of an NHWC op are permuted copies whose dims are already
     * in memory order (layout AS_MODEL): only activations must match. */
    if (in[k].rank == 4 && y.rank == 4 && in[k].layout != y.layout &&
        g->tensors[n->in[k]].role != IR_ROLE_CONSTANT)
      return ir_node_error(n, INGOT_INTERNAL,
                           "input %d and the output have different layouts",
                           k);
  }
  INGOT_RETURN_IF_ERROR(binary_dtypes(n, in, nin));
  if (view_numel(&y) == 0) return NULL;

  if (n->op == IR_OP_PRELU && n->opset < 7) {
    /* Before opset 7 a 1-D slope of C values applies along axis 1:
     * viewed as [C, 1, ..., 1] numpy broadcasting gives that
     * (ir/ref/binary.c). */
    cg_view *w = &in[1];
    if (w->rank == 1 && y.rank >= 2 && w->dims[0] > 1) {
      if (y.layout != INGOT_LAYOUT_AS_MODEL)
        return ir_node_error(n, INGOT_UNIMPLEMENTED,
                             "PRelu-%d's channel slope on an NHWC tensor",
                             n->opset);
      if (w->dims[0] == y.dims[1]) {
        w->rank = y.rank - 1;
        for (int d = 1; d < w->rank; d++) w->dims[d] = 1;
      }
    }
  }
  if (n->op == IR_OP_POW && dt_float(in[0].dtype)) {
    /* x^2, frequent in exported normalisations: x * x is the same value
     * (the exact square rounded once) and much cheaper. */
    const ir_tensor *e = const_input(g, n, 1);
    if (e && ir_shape_numel(&e->shape) == 1 &&
        ir_load_f64(e->dtype, e->data, 0) == 2.0) {
      cg_view sq[2] = {in[0], in[0]};
      return emit_binary(ctx, n, KEW_MUL, sq, 2, &y, 0);
    }
  }
  if (!variadic)
    return emit_binary(ctx, n, binary_op(n->op), in, nin, &y, 0);

  int op = binary_op(n->op);
  int post = n->op == IR_OP_MEAN ? nin : 0;
  if (nin == 1) return emit_binary(ctx, n, KEW_BCOPY, in, 1, &y, 0);
  INGOT_RETURN_IF_ERROR(
      emit_binary(ctx, n, op, in, 2, &y, nin == 2 ? post : 0));
  for (int k = 2; k < nin; k++) {
    cg_view pair[2] = {y, in[k]};
    INGOT_RETURN_IF_ERROR(
        emit_binary(ctx, n, op, pair, 2, &y, k == nin - 1 ? post : 0));
  }
  return NULL;
}
