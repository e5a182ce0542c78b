/* reduce.c — Reduce* (L1, L2, LogSumExp, Max, Mean, Min, Prod, Sum,
 * SumSquare) and ArgMax/ArgMin.
 *
 * Parse makes the axes one form: the 'axes' attribute (ReduceSum before
 * opset 13, every other Reduce* before opset 18) becomes the constant int64
 * input 1, so infer and eval only ever read axes from input 1.  An absent or
 * empty axes list reduces every dim, unless noop_with_empty_axes is set,
 * when the op is the identity.
 *
 * Eval walks the kept dims of the input in output order; for each output
 * element it gathers the reduced sub-tensor into a scratch buffer (double
 * for floats, int64 for integers) and folds it with the op.  Gathering first
 * keeps the per-op arithmetic in one tight loop, gives float32 a direct
 * load path, and makes two-pass reductions (LogSumExp) trivial.  Float
 * reductions accumulate in double.  Reductions over an empty set follow the
 * identities: Sum/L1/L2/SumSquare 0, Prod 1, Max -inf (the type's minimum
 * for integers), Min +inf (maximum), LogSumExp -inf, Mean NaN.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

static const ir_dtype reduce_types[] = {
    IR_F32, IR_F64, IR_F16, IR_BF16, IR_I8,  IR_U8,  IR_I16,
    IR_U16, IR_I32, IR_I64, IR_U32,  IR_U64, IR_DT_UNDEF};

static ingot_status oom(const ir_node *n) {
  return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
}

static bool value_is_empty(const ir_value *v) {
  return ir_shape_is_static(&v->shape) && ir_shape_numel(&v->shape) == 0;
}

/*===------------------------------------------------------------------===*/
/* Reduce*                                                                 */
/*===------------------------------------------------------------------===*/

ingot_status ref_parse_reduce(ir_graph *g, ir_node_id nid) {
  static const char *const attrs_old[] = {"axes", "keepdims", NULL};
  static const char *const attrs_new[] = {"keepdims", "noop_with_empty_axes",
                                          NULL};
  ir_node *n = ref_node(g, nid);
  bool axes_input =
      (n->op == IR_OP_REDUCE_SUM && n->opset >= 13) || n->opset >= 18;
  INGOT_RETURN_IF_ERROR(
      ir_attr_check_known(n, axes_input ? attrs_new : attrs_old));

  int64_t keepdims, noop = 0;
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "keepdims", 1, &keepdims));
  if (axes_input)
    INGOT_RETURN_IF_ERROR(ir_attr_int(n, "noop_with_empty_axes", 0, &noop));
  if (keepdims != 0 && keepdims != 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute 'keepdims' must be 0 or 1, not %lld",
                         (long long)keepdims);
  if (noop != 0 && noop != 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute 'noop_with_empty_axes' must be 0 or 1, "
                         "not %lld",
                         (long long)noop);

  if (!axes_input) {
    if (n->n_in > 1 && n->in[1])
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "opset %d takes axes as an attribute, not as an "
                           "input",
                           n->opset);
    int64_t axes[IR_MAX_RANK];
    int k;
    INGOT_RETURN_IF_ERROR(ir_attr_ints(n, "axes", axes, IR_MAX_RANK, &k));
    if (k > 0) { /* an empty list means "all", like no list */
      ir_value v = {.dtype = IR_I64,
                    .shape = {.rank = 1, .dims = {k}},
                    .data = axes,
                    .borrowed = true};
      INGOT_RETURN_IF_ERROR(ir_node_set_const_input(g, nid, 1, &v));
      n = ref_node(g, nid);
    }
  }

  ir_p_reduce *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return oom(n);
  p->keepdims = keepdims != 0;
  p->noop_with_empty_axes = noop != 0;
  return NULL;
}

/* Which dims a Reduce node folds, and its output shape. */
typedef struct reduce_plan {
  bool noop; /* identity: empty axes with noop_with_empty_axes */
  bool reduced[IR_MAX_RANK];
  ir_shape out;
} reduce_plan;

static ingot_status reduce_plan_make(const ir_node *n, const ir_value *in,
                                     int nin, reduce_plan *rp) {
  const ir_p_reduce *p = n->params;
  const ir_shape *x = &in[0].shape;
  memset(rp, 0, sizeof *rp);

  int64_t axes[IR_MAX_RANK];
  int k = 0;
  if (ref_has(in, nin, 1) && !value_is_empty(&in[1]))
    INGOT_RETURN_IF_ERROR(ref_read_ints(n, in, 1, axes, IR_MAX_RANK, &k));

  if (k == 0) {
    if (p->noop_with_empty_axes) {
      rp->noop = true;
      rp->out = *x;
      return NULL;
    }
    for (int d = 0; d < x->rank; d++) rp->reduced[d] = true;
  } else {
    if (x->rank == 0)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "axes given for a scalar input");
    for (int i = 0; i < k; i++) {
      int ax;
      INGOT_RETURN_IF_ERROR(ref_axis(n, axes[i], x->rank, &ax));
      if (rp->reduced[ax])
        return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                             "axis %d is listed twice in axes", ax);
      rp->reduced[ax] = true;
    }
  }

  rp->out.rank = 0;
  for (int d = 0; d < x->rank; d++) {
    if (!rp->reduced[d])
      rp->out.dims[rp->out.rank++] = x->dims[d];
    else if (p->keepdims)
      rp->out.dims[rp->out.rank++] = 1;
  }
  return NULL;
}

ingot_status ref_infer_reduce(const ir_node *n, const ir_value *in, int nin,
                              ir_value *out, int nout) {
  (void)nout;
  INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 0, reduce_types));
  reduce_plan rp;
  INGOT_RETURN_IF_ERROR(reduce_plan_make(n, in, nin, &rp));
  out[0].dtype = in[0].dtype;
  out[0].shape = rp.out;
  return NULL;
}

/* A strided walk over some dims of a tensor: the reduced dims (gather) or
 * the kept dims (one step per output element). */
typedef struct walk {
  int n;
  int64_t dims[IR_MAX_RANK];
  int64_t strides[IR_MAX_RANK];
} walk;

/* Copies the |cnt| elements of |x| that |w| visits from |base| into |buf|
 * as doubles.  |w| has at least one dim; the innermost is a plain loop. */
static void gather_f64(const ir_value *x, int64_t base, const walk *w,
                       double *buf) {
  int last = w->n - 1;
  int64_t idx[IR_MAX_RANK] = {0};
  int64_t inner = w->dims[last], istr = w->strides[last], off = base;
  size_t k = 0;
  for (;;) {
    if (x->dtype == IR_F32) {
      const float *src = (const float *)x->data + off;
      for (int64_t i = 0; i < inner; i++) buf[k++] = src[i * istr];
    } else {
      for (int64_t i = 0; i < inner; i++)
        buf[k++] = ir_load_f64(x->dtype, x->data, (size_t)(off + i * istr));
    }
    int d = last - 1;
    for (; d >= 0; d--) {
      off += w->strides[d];
      if (++idx[d] < w->dims[d]) break;
      off -= w->strides[d] * w->dims[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

/* Same, as int64; uint64 keeps its bit pattern (callers compare it as
 * unsigned). */
static void gather_i64(const ir_value *x, int64_t base, const walk *w,
                       int64_t *buf) {
  int last = w->n - 1;
  int64_t idx[IR_MAX_RANK] = {0};
  int64_t inner = w->dims[last], istr = w->strides[last], off = base;
  size_t k = 0;
  for (;;) {
    for (int64_t i = 0; i < inner; i++)
      buf[k++] = ir_load_i64(x->dtype, x->data, (size_t)(off + i * istr));
    int d = last - 1;
    for (; d >= 0; d--) {
      off += w->strides[d];
      if (++idx[d] < w->dims[d]) break;
      off -= w->strides[d] * w->dims[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

static double fold_f64(ir_op op, const double *v, size_t cnt) {
  double acc = 0;
  switch (op) {
  case IR_OP_REDUCE_L1:
    for (size_t i = 0; i < cnt; i++) acc += fabs(v[i]);
    return acc;
  case IR_OP_REDUCE_L2:
    for (size_t i = 0; i < cnt; i++) acc += v[i] * v[i];
    return sqrt(acc);
  case IR_OP_REDUCE_SUM_SQUARE:
    for (size_t i = 0; i < cnt; i++) acc += v[i] * v[i];
    return acc;
  case IR_OP_REDUCE_SUM:
    for (size_t i = 0; i < cnt; i++) acc += v[i];
    return acc;
  case IR_OP_REDUCE_MEAN:
    for (size_t i = 0; i < cnt; i++) acc += v[i];
    return cnt ? acc / (double)cnt : NAN;
  case IR_OP_REDUCE_PROD:
    acc = 1;
    for (size_t i = 0; i < cnt; i++) acc *= v[i];
    return acc;
  case IR_OP_REDUCE_MAX:
    acc = -INFINITY;
    for (size_t i = 0; i < cnt; i++) {
      if (isnan(v[i])) return v[i];
      if (v[i] > acc) acc = v[i];
    }
    return acc;
  case IR_OP_REDUCE_MIN:
    acc = INFINITY;
    for (size_t i = 0; i < cnt; i++) {
      if (isnan(v[i])) return v[i];
      if (v[i] < acc) acc = v[i];
    }
    return acc;
  case IR_OP_REDUCE_LOG_SUM_EXP: {
    /* log(sum(exp(v))) = m + log(sum(exp(v - m))), m = max(v): no
     * overflow for large inputs. */
    double m = -INFINITY;
    for (size_t i = 0; i < cnt; i++) {
      if (isnan(v[i])) return v[i];
      if (v[i] > m) m = v[i];
    }
    if (isinf(m)) return m; /* empty, all -inf, or some +inf */
    for (size_t i = 0; i < cnt; i++) acc += exp(v[i] - m);
    return m + log(acc);
  }
  default:
    return NAN;
  }
}

/* Integer reductions.  Sum and product wrap (two's complement, done in
 * uint64 so it is defined); L2 and LogSumExp go through double and are
 * truncated on store, like a Cast. */
static void fold_int(ir_op op, ir_dtype t, const int64_t *v, size_t cnt,
                     void *out, size_t oi) {
  const ir_dtype_info *info = ir_dtype_get(t);
  int bits = 8 * info->size;
  bool u64 = t == IR_U64;
  uint64_t acc = 0;
  switch (op) {
  case IR_OP_REDUCE_L1:
    for (size_t i = 0; i < cnt; i++)
      acc += (!u64 && v[i] < 0) ? 0 - (uint64_t)v[i] : (uint64_t)v[i];
    break;
  case IR_OP_REDUCE_SUM_SQUARE:
    for (size_t i = 0; i < cnt; i++) acc += (uint64_t)v[i] * (uint64_t)v[i];
    break;
  case IR_OP_REDUCE_SUM:
    for (size_t i = 0; i < cnt; i++) acc += (uint64_t)v[i];
    break;
  case IR_OP_REDUCE_MEAN: {
    if (cnt == 0) break; /* no NaN for integers: 0 */
    double s = 0; /* exact for the narrow types, close for 64-bit */
    for (size_t i = 0; i < cnt; i++)
      s += u64 ? (double)(uint64_t)v[i] : (double)v[i];
    ir_store_f64(t, out, oi, trunc(s / (double)cnt));
    return;
  }
  case IR_OP_REDUCE_PROD:
    acc = 1;
    for (size_t i = 0; i < cnt; i++) acc *= (uint64_t)v[i];
    break;
  case IR_OP_REDUCE_MAX:
  case IR_OP_REDUCE_MIN: {
    bool is_max = op == IR_OP_REDUCE_MAX;
    if (cnt == 0) { /* the identity: the type's extreme value */
      if (!info->is_signed)
        acc = is_max ? 0 : (bits == 64 ? UINT64_MAX : (1ull << bits) - 1);
      else
        acc = is_max ? (uint64_t)0 - (1ull << (bits - 1))
                     : (1ull << (bits - 1)) - 1;
      break;
    }
    acc = (uint64_t)v[0];
    for (size_t i = 1; i < cnt; i++) {
      bool greater = u64 ? (uint64_t)v[i] > acc : v[i] > (int64_t)acc;
      bool less = u64 ? (uint64_t)v[i] < acc : v[i] < (int64_t)acc;
      if (is_max ? greater : less) acc = (uint64_t)v[i];
    }
    break;
  }
  default: { /* L2, LogSumExp: through double */
    double s = 0, r;
    if (op == IR_OP_REDUCE_L2) {
      for (size_t i = 0; i < cnt; i++) {
        double x = u64 ? (double)(uint64_t)v[i] : (double)v[i];
        s += x * x;
      }
      r = sqrt(s);
    } else {
      double m = -INFINITY;
      for (size_t i = 0; i < cnt; i++) {
        double x = u64 ? (double)(uint64_t)v[i] : (double)v[i];
        if (x > m) m = x;
      }
      for (size_t i = 0; i < cnt; i++) {
        double x = u64 ? (double)(uint64_t)v[i] : (double)v[i];
        s += exp(x - m);
      }
      r = cnt ? m + log(s) : -INFINITY;
    }
    ir_store_f64(t, out, oi, r);
    return;
  }
  }
  ir_store_i64(t, out, oi, (int64_t)acc);
}

ingot_status ref_eval_reduce(const ir_node *n, const ir_value *in, int nin,
                             ir_value *out, int nout) {
  (void)nout;
  const ir_value *x = &in[0];
  reduce_plan rp;
  INGOT_RETURN_IF_ERROR(reduce_plan_make(n, in, nin, &rp));
  if (rp.noop) {
    size_t nb = ir_value_nbytes(x);
    if (nb) memcpy(out[0].data, x->data, nb);
    return NULL;
  }

  /* Split the input dims into kept (walked once per output element, in
   * output order) and reduced (gathered per output element). */
  int64_t strides[IR_MAX_RANK];
  ref_strides(&x->shape, strides);
  walk kept = {0}, red = {0};
  size_t cnt = 1;
  for (int d = 0; d < x->shape.rank; d++) {
    walk *w = rp.reduced[d] ? &red : &kept;
    w->dims[w->n] = x->shape.dims[d];
    w->strides[w->n] = strides[d];
    w->n++;
    if (rp.reduced[d]) cnt *= (size_t)x->shape.dims[d];
  }
  if (red.n == 0) { /* scalar input: reduce over a single element */
    red.n = 1;
    red.dims[0] = 1;
    red.strides[0] = 0;
  }
  size_t onum = ir_shape_numel(&out[0].shape);
  if (onum == 0) return NULL;

  bool is_float = ir_dtype_get(x->dtype)->is_float;
  void *buf = malloc((cnt ? cnt : 1) * sizeof(double));
  if (!buf) return oom(n);

  ir_shape kshape = {.rank = kept.n};
  memcpy(kshape.dims, kept.dims, sizeof kshape.dims);
  ref_iter it;
  ref_iter_init(&it, &kshape, 1, (const int64_t(*)[IR_MAX_RANK])kept.strides);
  for (size_t o = 0; o < onum; o++, ref_iter_next(&it)) {
    if (is_float) {
      if (cnt) gather_f64(x, it.off[0], &red, buf);
      double r = fold_f64(n->op, buf, cnt);
      if (out[0].dtype == IR_F32)
        ((float *)out[0].data)[o] = (float)r;
      else
        ir_store_f64(out[0].dtype, out[0].data, o, r);
    } else {
      if (cnt) gather_i64(x, it.off[0], &red, buf);
      fold_int(n->op, x->dtype, buf, cnt, out[0].data, o);
    }
  }
  free(buf);
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* ArgMax, ArgMin                                                          */
/*===------------------------------------------------------------------===*/

ingot_status ref_parse_argminmax(ir_graph *g, ir_node_id nid) {
  static const char *const attrs[] = {"axis", "keepdims",
                                      "select_last_index", NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, attrs));
  int64_t axis, keepdims, last;
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "axis", 0, &axis));
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "keepdims", 1, &keepdims));
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "select_last_index", 0, &last));
  if (keepdims != 0 && keepdims != 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute 'keepdims' must be 0 or 1, not %lld",
                         (long long)keepdims);
  if (last != 0 && last != 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute 'select_last_index' must be 0 or 1, "
                         "not %lld",
                         (long long)last);
  ir_p_argminmax *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return oom(n);
  p->axis = axis;
  p->keepdims = keepdims != 0;
  p->select_last_index = last != 0;
  return NULL;
}

ingot_status ref_infer_argminmax(const ir_node *n, const ir_value *in,
                                 int nin, ir_value *out, int nout) {
  (void)nin;
  (void)nout;
  const ir_p_argminmax *p = n->params;
  INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 0, reduce_types));
  const ir_shape *x = &in[0].shape;
  if (x->rank == 0)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input must have rank >= 1");
  int ax;
  INGOT_RETURN_IF_ERROR(ref_axis(n, p->axis, x->rank, &ax));
  if (x->dims[ax] == 0)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "cannot take the arg-extreme of an empty axis %d",
                         ax);
  out[0].dtype = IR_I64;
  out[0].shape.rank = 0;
  for (int d = 0; d < x->rank; d++) {
    if (d != ax)
      out[0].shape.dims[out[0].shape.rank++] = x->dims[d];
    else if (p->keepdims)
      out[0].shape.dims[out[0].shape.rank++] = 1;
  }
  return NULL;
}

/* Integer keys that order like the values: uint64 has its top bit flipped
 * so signed comparison sorts it. */
static int64_t int_key(ir_dtype t, const void *data, size_t i) {
  if (t == IR_U64)
    return (int64_t)(ir_load_u64(t, data, i) ^ (UINT64_C(1) << 63));
  return ir_load_i64(t, data, i);
}

ingot_status ref_eval_argminmax(const ir_node *n, const ir_value *in,
                                int nin, ir_value *out, int nout) {
  (void)nin;
  (void)nout;
  const ir_p_argminmax *p = n->params;
  const ir_value *x = &in[0];
  int ax;
  INGOT_RETURN_IF_ERROR(ref_axis(n, p->axis, x->shape.rank, &ax));
  int64_t outer = 1, len = x->shape.dims[ax], inner = 1;
  for (int d = 0; d < ax; d++) outer *= x->shape.dims[d];
  for (int d = ax + 1; d < x->shape.rank; d++) inner *= x->shape.dims[d];
  bool is_max = n->op == IR_OP_ARGMAX, last = p->select_last_index;
  bool is_float = ir_dtype_get(x->dtype)->is_float;
  int64_t *dst = out[0].data;

  /* NaN counts as the extreme for both ops, as numpy's argmax/argmin:
   * the first (or last) NaN wins. */
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t i = 0; i < inner; i++) {
      size_t base = (size_t)(o * len * inner + i);
      int64_t best = 0;
      if (is_float) {
        double bv = ir_load_f64(x->dtype, x->data, base);
        for (int64_t j = 1; j < len; j++) {
          double v = ir_load_f64(x->dtype, x->data, base + (size_t)(j * inner));
          bool take;
          if (isnan(bv))
            take = last && isnan(v);
          else if (isnan(v))
            take = true;
          else if (is_max)
            take = last ? v >= bv : v > bv;
          else
            take = last ? v <= bv : v < bv;
          if (take) {
            bv = v;
            best = j;
          }
        }
      } else {
        int64_t bv = int_key(x->dtype, x->data, base);
        for (int64_t j = 1; j < len; j++) {
          int64_t v = int_key(x->dtype, x->data, base + (size_t)(j * inner));
          bool take = is_max ? (last ? v >= bv : v > bv)
                             : (last ? v <= bv : v < bv);
          if (take) {
            bv = v;
            best = j;
          }
        }
      }
      dst[o * inner + i] = best;
    }
  }
  return NULL;
}
