/* pool.c — reference AveragePool, MaxPool, GlobalAveragePool,
 * GlobalMaxPool and LRN.
 *
 * Pooling converts its input to double once (a direct cast for float32),
 * runs one loop nest for every dtype, and stores back: max is exact in
 * double for every supported type (float16/32/64, int8, uint8) and the
 * average is computed more accurately than the output needs.  As in
 * conv.c, the spatial part is normalised to three dims (missing leading
 * dims have size 1), so 1-D, 2-D and 3-D pooling share the loops.
 *
 * Output sizes follow the ONNX spec; with ceil_mode, a last window that
 * would start inside the end padding is dropped (the rule the spec adopted
 * later and PyTorch and ONNX Runtime apply), so no window is empty.
 * count_include_pad counts the taps inside the explicit (or auto) pads but
 * not those of the extension ceil_mode adds, as ONNX Runtime does.
 * MaxPool ignores NaN taps unless the first valid tap is NaN; ties keep the
 * first tap, whose flattened index (row-major, or column-major over the
 * spatial dims with storage_order 1, plus (n*C + c) * spatial size) goes to
 * the optional Indices output.  Pads as wide as the dilated window are
 * rejected; a window whose dilated taps still all miss the input (a tiny
 * input under a large dilation) yields -inf (the type's minimum for
 * integers) with index -1, or NaN for an average that excludes padding.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

#define POOL_ATTR_MAX ((int64_t)1 << 20) /* kernel, stride, dilation */
#define POOL_DIM_MAX ((int64_t)1 << 40)  /* pads, dims */

/*===------------------------------------------------------------------===*/
/* Attributes                                                              */
/*===------------------------------------------------------------------===*/

static ingot_status bool_attr(const ir_node *n, const char *name, bool *out) {
  int64_t v;
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, name, 0, &v));
  if (v != 0 && v != 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute %s = %lld must be 0 or 1", name,
                         (long long)v);
  *out = v != 0;
  return NULL;
}

ingot_status ref_parse_pool(ir_graph *g, ir_node_id nid) {
  /* AveragePool's dilations arrive in opset 19; accepting them early is
   * harmless and lets newer exporters' models in. */
  static const char *const avg_attrs[] = {
      "auto_pad", "ceil_mode", "count_include_pad", "dilations",
      "kernel_shape", "pads", "strides", NULL};
  static const char *const max_attrs[] = {
      "auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads",
      "storage_order", "strides", NULL};
  const ir_node *n = ref_node(g, nid);
  bool is_max = n->op == IR_OP_MAX_POOL;
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, is_max ? max_attrs : avg_attrs));

  ir_p_pool p;
  memset(&p, 0, sizeof p);
  p.group = 1;
  for (int i = 0; i < IR_MAX_RANK; i++) p.strides[i] = p.dilations[i] = 1;
  int rank = 0;
  INGOT_RETURN_IF_ERROR(ref_spatial_list(n, "kernel_shape", 1, 1, POOL_ATTR_MAX,
                                     p.kernel, &rank, &p.has_kernel));
  if (!p.has_kernel)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute kernel_shape is required");
  INGOT_RETURN_IF_ERROR(ref_spatial_list(n, "strides", 1, 1, POOL_ATTR_MAX,
                                     p.strides, &rank, &p.has_strides));
  INGOT_RETURN_IF_ERROR(ref_spatial_list(n, "dilations", 1, 1, POOL_ATTR_MAX,
                                     p.dilations, &rank, &p.has_dilations));
  INGOT_RETURN_IF_ERROR(ref_spatial_list(n, "pads", 2, 0, POOL_DIM_MAX, p.pads,
                                     &rank, &p.has_pads));
  p.n_spatial = p.n_given = rank;

  const char *s;
  INGOT_RETURN_IF_ERROR(ir_attr_string(n, "auto_pad", "NOTSET", &s));
  if (!strcmp(s, "NOTSET") || !*s)
    p.auto_pad = IR_PAD_NOTSET;
  else if (!strcmp(s, "VALID"))
    p.auto_pad = IR_PAD_VALID;
  else if (!strcmp(s, "SAME_UPPER"))
    p.auto_pad = IR_PAD_SAME_UPPER;
  else if (!strcmp(s, "SAME_LOWER"))
    p.auto_pad = IR_PAD_SAME_LOWER;
  else
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute auto_pad has unknown value '%s'", s);
  INGOT_RETURN_IF_ERROR(bool_attr(n, "ceil_mode", &p.ceil_mode));
  if (!is_max)
    INGOT_RETURN_IF_ERROR(
        bool_attr(n, "count_include_pad", &p.count_include_pad));
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "storage_order", 0, &p.storage_order));
  if (p.storage_order != 0 && p.storage_order != 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute storage_order = %lld must be 0 or 1",
                         (long long)p.storage_order);

  ir_p_pool *dst = ref_params_new(g, nid, sizeof *dst);
  if (!dst)
    return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED,
                         "out of memory for attributes");
  *dst = p;
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Geometry                                                                */
/*===------------------------------------------------------------------===*/

typedef struct pool_geom {
  int64_t planes; /* N * C; set by eval_pool */
  int64_t in[3], k[3], s[3], d[3], pb[3], pe[3], out[3];
} pool_geom;

/* Output shape |ys| (unknown dims propagate as -1) and, when all dims are
 * known, the geometry |g| of a pooling node with input shape |xs|. */
static ingot_status pool_shape(const ir_node *n, const ir_shape *xs,
                               pool_geom *g, ir_shape *ys) {
  const ir_p_pool *p = n->params;
  char buf[96];
  if (!p)
    return ir_node_error(n, INGOT_INTERNAL, "attributes were not parsed");
  int nsp = xs->rank - 2;
  if (nsp != p->n_spatial)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input of shape %s does not have N, C and the %d "
                         "spatial dims kernel_shape describes",
                         ir_shape_str(xs, buf, sizeof buf), p->n_spatial);
  if (nsp > 3)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "%d spatial dims are not supported (at most 3)",
                         nsp);
  *ys = *xs;
  *g = (pool_geom){.planes = 0};
  for (int j = 0; j < 3; j++)
    g->in[j] = g->k[j] = g->s[j] = g->d[j] = g->out[j] = 1;
  for (int i = 0; i < nsp; i++) {
    int j = 3 - nsp + i;
    int64_t in = xs->dims[2 + i], k = p->kernel[i];
    int64_t s = p->strides[i], d = p->dilations[i];
    int64_t pb = p->pads[i], pe = p->pads[nsp + i], out, span;
    if (in < 0) continue; /* ys keeps the unknown dim */
    if (in > POOL_DIM_MAX)
      return ir_node_error(n, INGOT_OUT_OF_RANGE, "dimension too large");
    int64_t ek = (k - 1) * d + 1; /* extent of the dilated window */
    switch (p->auto_pad) {
    case IR_PAD_SAME_UPPER:
    case IR_PAD_SAME_LOWER: {
      out = ref_ceil_div(in, s);
      int64_t total = (out - 1) * s + ek - in;
      if (total < 0) total = 0;
      pb = p->auto_pad == IR_PAD_SAME_UPPER ? total / 2 : total - total / 2;
      pe = total - pb;
      break;
    }
    case IR_PAD_VALID:
      pb = pe = 0;
      span = in - ek;
      out = span < 0 ? 0 : span / s + 1;
      break;
    default:
      /* A pad as wide as the window would make windows that hold only
       * padding (no value to pool); reject it as ONNX Runtime does. */
      if (pb >= ek || pe >= ek)
        return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                             "pads (%lld, %lld) of spatial dim %d must be "
                             "smaller than the %lld-wide window",
                             (long long)pb, (long long)pe, i, (long long)ek);
      span = in + pb + pe - ek;
      if (span < 0) {
        out = 0;
      } else if (p->ceil_mode) {
        out = ref_ceil_div(span, s) + 1;
        if ((out - 1) * s >= in + pb) out--; /* starts in the end pad */
      } else {
        out = span / s + 1;
      }
      break;
    }
    if (out < 1)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "the %lld-wide window does not fit spatial dim "
                           "%d of input %s",
                           (long long)ek, i,
                           ir_shape_str(xs, buf, sizeof buf));
    ys->dims[2 + i] = out;
    g->in[j] = in;
    g->k[j] = k;
    g->s[j] = s;
    g->d[j] = d;
    g->pb[j] = pb;
    g->pe[j] = pe;
    g->out[j] = out;
  }
  return NULL;
}

/* Taps t in [0, k) with t*d + start in [0, n): [*lo, *hi). */
static void tap_range(int64_t k, int64_t n, int64_t d, int64_t start,
                      int64_t *lo, int64_t *hi) {
  int64_t a = ref_ceil_div(-start, d), b = ref_floor_div(n - 1 - start, d) + 1;
  if (a < 0) a = 0;
  if (b > k) b = k;
  if (b < a) b = a;
  *lo = a;
  *hi = b;
}

/*===------------------------------------------------------------------===*/
/* Loading and storing                                                     */
/*===------------------------------------------------------------------===*/

/* A malloc'd double copy of |v| (NULL when out of memory). */
static double *load_all(const ir_value *v) {
  size_t count = ir_shape_numel(&v->shape);
  double *d = malloc((count ? count : 1) * sizeof *d);
  if (!d) return NULL;
  const ir_dtype_info *t = ir_dtype_get(v->dtype);
  if (v->dtype == IR_F32) {
    const float *f = v->data;
    for (size_t i = 0; i < count; i++) d[i] = f[i];
  } else if (t && t->is_float) {
    for (size_t i = 0; i < count; i++) d[i] = ir_load_f64(v->dtype, v->data, i);
  } else {
    for (size_t i = 0; i < count; i++)
      d[i] = (double)ir_load_i64(v->dtype, v->data, i);
  }
  return d;
}

/* Stores |y| into |out|; integer outputs (MaxPool int8/uint8) are clamped
 * to the type's range, which only matters for an empty window's -inf. */
static void store_all(ir_value *out, const double *y) {
  size_t count = ir_shape_numel(&out->shape);
  const ir_dtype_info *t = ir_dtype_get(out->dtype);
  if (out->dtype == IR_F32) {
    float *f = out->data;
    for (size_t i = 0; i < count; i++) f[i] = (float)y[i];
  } else if (t && t->is_float) {
    for (size_t i = 0; i < count; i++)
      ir_store_f64(out->dtype, out->data, i, y[i]);
  } else {
    double lo = out->dtype == IR_I8 ? -128.0 : 0.0;
    double hi = out->dtype == IR_I8 ? 127.0 : 255.0;
    for (size_t i = 0; i < count; i++) {
      double v = y[i] >= lo ? y[i] : lo;
      ir_store_i64(out->dtype, out->data, i, (int64_t)(v <= hi ? v : hi));
    }
  }
}

static ingot_status oom(const ir_node *n) {
  return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED,
                       "out of memory for the pooling buffers");
}

/*===------------------------------------------------------------------===*/
/* AveragePool and MaxPool                                                 */
/*===------------------------------------------------------------------===*/

static const ir_dtype pool_float_types[] = {IR_F32, IR_F64, IR_F16, IR_BF16,
                                            IR_DT_UNDEF};
static const ir_dtype pool_max_types[] = {IR_F32, IR_F64, IR_F16, IR_BF16,
                                          IR_I8,  IR_U8,  IR_DT_UNDEF};

ingot_status ref_infer_pool(const ir_node *n, const ir_value *in, int nin,
                            ir_value *out, int nout) {
  (void)nin;
  pool_geom g;
  ir_shape ys;
  bool is_max = n->op == IR_OP_MAX_POOL;
  INGOT_RETURN_IF_ERROR(
      ref_check_dtype(n, in, 0, is_max ? pool_max_types : pool_float_types));
  INGOT_RETURN_IF_ERROR(pool_shape(n, &in[0].shape, &g, &ys));
  out[0].dtype = in[0].dtype;
  out[0].shape = ys;
  if (nout > 1) {
    out[1].dtype = IR_I64;
    out[1].shape = ys;
  }
  return NULL;
}

/* Pools one output position of one plane |x|; returns the value and, for
 * max, the winning tap's spatial offset in *arg (-1 when none). */
static double pool_window(const ir_p_pool *p, const pool_geom *g,
                          const double *x, const int64_t *o, bool is_max,
                          int64_t *arg) {
  int64_t lo[3], hi[3], start[3], padded = 1;
  for (int j = 0; j < 3; j++) {
    start[j] = o[j] * g->s[j] - g->pb[j];
    tap_range(g->k[j], g->in[j], g->d[j], start[j], &lo[j], &hi[j]);
    if (!is_max && p->count_include_pad) {
      int64_t a, b; /* taps inside the pads, not ceil_mode's extension */
      tap_range(g->k[j], g->in[j] + g->pb[j] + g->pe[j], g->d[j],
                start[j] + g->pb[j], &a, &b);
      padded *= b - a;
    }
  }
  double acc = is_max ? -INFINITY : 0.0;
  int64_t best = -1, count = 0;
  for (int64_t t0 = lo[0]; t0 < hi[0]; t0++) {
    int64_t i0 = start[0] + t0 * g->d[0];
    for (int64_t t1 = lo[1]; t1 < hi[1]; t1++) {
      int64_t i1 = start[1] + t1 * g->d[1];
      const double *row = x + (i0 * g->in[1] + i1) * g->in[2];
      for (int64_t t2 = lo[2]; t2 < hi[2]; t2++) {
        int64_t i2 = start[2] + t2 * g->d[2];
        double v = row[i2];
        count++;
        if (!is_max) {
          acc += v;
        } else if (best < 0 || (!isnan(acc) && (v > acc || isnan(v)))) {
          acc = v;
          best = p->storage_order
                     ? i0 + (i1 + i2 * g->in[1]) * g->in[0]
                     : (i0 * g->in[1] + i1) * g->in[2] + i2;
        }
      }
    }
  }
  *arg = best;
  if (is_max) return acc;
  return acc / (double)(p->count_include_pad ? padded : count);
}

static ingot_status eval_pool(const ir_node *n, const ir_value *in,
                              ir_value *out, int nout, bool is_max) {
  pool_geom g;
  ir_shape ys;
  INGOT_RETURN_IF_ERROR(pool_shape(n, &in[0].shape, &g, &ys));
  double *x = load_all(&in[0]);
  double *y = malloc((ir_shape_numel(&ys) ? ir_shape_numel(&ys) : 1) *
                     sizeof *y);
  if (!x || !y) {
    free(x);
    free(y);
    return oom(n);
  }
  int64_t *idx = nout > 1 && out[1].data ? out[1].data : NULL;
  int64_t isz = g.in[0] * g.in[1] * g.in[2], k = 0, o[3];
  g.planes = isz ? (int64_t)ir_shape_numel(&in[0].shape) / isz : 0;
  for (int64_t pl = 0; pl < g.planes; pl++)
    for (o[0] = 0; o[0] < g.out[0]; o[0]++)
      for (o[1] = 0; o[1] < g.out[1]; o[1]++)
        for (o[2] = 0; o[2] < g.out[2]; o[2]++, k++) {
          int64_t arg;
          y[k] = pool_window(n->params, &g, x + pl * isz, o, is_max, &arg);
          if (idx) idx[k] = arg < 0 ? -1 : pl * isz + arg;
        }
  store_all(&out[0], y);
  free(x);
  free(y);
  return NULL;
}

ingot_status ref_eval_avgpool(const ir_node *n, const ir_value *in, int nin,
                              ir_value *out, int nout) {
  (void)nin;
  return eval_pool(n, in, out, nout, false);
}

ingot_status ref_eval_maxpool(const ir_node *n, const ir_value *in, int nin,
                              ir_value *out, int nout) {
  (void)nin;
  return eval_pool(n, in, out, nout, true);
}

/*===------------------------------------------------------------------===*/
/* GlobalAveragePool and GlobalMaxPool                                     */
/*===------------------------------------------------------------------===*/

ingot_status ref_infer_global_pool(const ir_node *n, const ir_value *in,
                                   int nin, ir_value *out, int nout) {
  (void)nin;
  (void)nout;
  INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 0, pool_float_types));
  if (in[0].shape.rank < 2) {
    char buf[96];
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input must be N x C x spatial dims, got shape %s",
                         ir_shape_str(&in[0].shape, buf, sizeof buf));
  }
  out[0].dtype = in[0].dtype;
  out[0].shape = in[0].shape;
  for (int i = 2; i < in[0].shape.rank; i++) out[0].shape.dims[i] = 1;
  return NULL;
}

ingot_status ref_eval_global_pool(const ir_node *n, const ir_value *in,
                                  int nin, ir_value *out, int nout) {
  (void)nin;
  (void)nout;
  bool is_max = n->op == IR_OP_GLOBAL_MAX_POOL;
  const ir_shape *xs = &in[0].shape;
  size_t planes = (size_t)(xs->dims[0] * xs->dims[1]);
  size_t size = 1;
  for (int i = 2; i < xs->rank; i++) size *= (size_t)xs->dims[i];
  double *x = load_all(&in[0]);
  double *y = malloc((planes ? planes : 1) * sizeof *y);
  if (!x || !y) {
    free(x);
    free(y);
    return oom(n);
  }
  for (size_t pl = 0; pl < planes; pl++) {
    const double *xp = x + pl * size;
    double acc = is_max ? -INFINITY : 0.0;
    for (size_t i = 0; i < size; i++) {
      if (!is_max)
        acc += xp[i];
      else if (!isnan(acc) && (xp[i] > acc || isnan(xp[i])))
        acc = xp[i];
    }
    y[pl] = is_max ? acc : acc / (double)size;
  }
  store_all(&out[0], y);
  free(x);
  free(y);
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* LRN                                                                     */
/*===------------------------------------------------------------------===*/

ingot_status ref_parse_lrn(ir_graph *g, ir_node_id nid) {
  static const char *const attrs[] = {"alpha", "beta", "bias", "size", NULL};
  const ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, attrs));
  ir_p_lrn p;
  INGOT_RETURN_IF_ERROR(ir_attr_float(n, "alpha", 1e-4f, &p.alpha));
  INGOT_RETURN_IF_ERROR(ir_attr_float(n, "beta", 0.75f, &p.beta));
  INGOT_RETURN_IF_ERROR(ir_attr_float(n, "bias", 1.0f, &p.bias));
  if (!ir_attr_find(n, "size"))
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute size is required");
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "size", 1, &p.size));
  if (p.size < 1 || p.size > POOL_DIM_MAX)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute size = %lld must be positive",
                         (long long)p.size);
  ir_p_lrn *dst = ref_params_new(g, nid, sizeof *dst);
  if (!dst)
    return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED,
                         "out of memory for attributes");
  *dst = p;
  return NULL;
}

/* y = x / (bias + alpha/size * Σ x²)^beta, the sum over the channels
 * [c - floor((size-1)/2), c + ceil((size-1)/2)] clipped to [0, C). */
ingot_status ref_eval_lrn(const ir_node *n, const ir_value *in, int nin,
                          ir_value *out, int nout) {
  (void)nin;
  (void)nout;
  const ir_p_lrn *p = n->params;
  const ir_shape *xs = &in[0].shape;
  const ir_dtype_info *t = ir_dtype_get(in[0].dtype);
  if (!p)
    return ir_node_error(n, INGOT_INTERNAL, "attributes were not parsed");
  if (!t || !t->is_float || xs->rank < 2)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input must be a float N x C x ... tensor, not %s "
                         "of rank %d",
                         ir_dtype_name(in[0].dtype), xs->rank);
  int64_t batch = xs->dims[0], c = xs->dims[1], size = 1;
  for (int i = 2; i < xs->rank; i++) size *= xs->dims[i];
  double *x = load_all(&in[0]);
  double *y = malloc((ir_shape_numel(xs) ? ir_shape_numel(xs) : 1) *
                     sizeof *y);
  if (!x || !y) {
    free(x);
    free(y);
    return oom(n);
  }
  double scale = (double)p->alpha / (double)p->size;
  for (int64_t b = 0; b < batch; b++)
    for (int64_t ch = 0; ch < c; ch++) {
      int64_t lo = ch - (p->size - 1) / 2, hi = ch + p->size / 2;
      if (lo < 0) lo = 0;
      if (hi > c - 1) hi = c - 1;
      double *yp = y + (b * c + ch) * size;
      for (int64_t i = 0; i < size; i++) yp[i] = 0.0;
      for (int64_t k = lo; k <= hi; k++) {
        const double *xp = x + (b * c + k) * size;
        for (int64_t i = 0; i < size; i++) yp[i] += xp[i] * xp[i];
      }
      const double *xc = x + (b * c + ch) * size;
      for (int64_t i = 0; i < size; i++)
        yp[i] = xc[i] / pow((double)p->bias + scale * yp[i], (double)p->beta);
    }
  store_all(&out[0], y);
  free(x);
  free(y);
  return NULL;
}
