/* norm.c — normalisation and softmax in the reference interpreter:
 * BatchNormalization, InstanceNormalization, LayerNormalization, Softmax and
 * LogSoftmax.
 *
 * All five reduce along "rows": a tensor is viewed as [outer, len, inner]
 * and every (outer, inner) pair names one row of |len| elements spaced
 * |inner| apart.  A row is gathered into double scratch, normalised there
 * (two-pass mean and variance, max-subtracted exponentials) and scattered
 * back, so each kernel is written once for every float dtype and float32
 * rows are copied without per-element dispatch.  Results are computed in
 * double, which is at least as accurate as the float32 numpy arithmetic
 * that produced the ONNX test data.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

static const ir_dtype float_types[] = {IR_F32, IR_F64, IR_F16, IR_BF16,
                                       IR_DT_UNDEF};

/* dst[i] = base[off + i*stride] for i < len. */
static void gather(ir_dtype t, const void *base, size_t off, size_t stride,
                   size_t len, double *dst) {
  if (t == IR_F32) {
    const float *p = (const float *)base + off;
    for (size_t i = 0; i < len; i++) dst[i] = p[i * stride];
    return;
  }
  for (size_t i = 0; i < len; i++)
    dst[i] = ir_load_f64(t, base, off + i * stride);
}

static void scatter(ir_dtype t, void *base, size_t off, size_t stride,
                    size_t len, const double *src) {
  if (t == IR_F32) {
    float *p = (float *)base + off;
    for (size_t i = 0; i < len; i++) p[i * stride] = (float)src[i];
    return;
  }
  for (size_t i = 0; i < len; i++)
    ir_store_f64(t, base, off + i * stride, src[i]);
}

/* Product of dims[from, to). */
static size_t dims_prod(const ir_shape *s, int from, int to) {
  size_t p = 1;
  for (int d = from; d < to; d++) p *= (size_t)s->dims[d];
  return p;
}

static double *row_alloc(size_t len) {
  return malloc((len ? len : 1) * sizeof(double));
}

static ingot_status oom(const ir_node *n) {
  return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED,
                       "out of memory for a normalisation row");
}

/* Mean and population variance of r[0..len). */
static void row_stats(const double *r, size_t len, double *mean,
                      double *var) {
  double s = 0;
  for (size_t i = 0; i < len; i++) s += r[i];
  double mu = len ? s / (double)len : 0;
  double q = 0;
  for (size_t i = 0; i < len; i++) q += (r[i] - mu) * (r[i] - mu);
  *mean = mu;
  *var = len ? q / (double)len : 0;
}

/* Per-channel parameter |idx| (1-D, |c| elements) loaded as doubles. */
static ingot_status load_channel_param(const ir_node *n, const ir_value *in,
                                       int idx, const char *what, size_t c,
                                       double **out) {
  *out = NULL;
  if (ir_shape_numel(&in[idx].shape) != c || in[idx].shape.rank != 1) {
    char b[96];
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "%s has shape %s; it must be a vector of the %zu "
                         "channels",
                         what, ir_shape_str(&in[idx].shape, b, sizeof b), c);
  }
  double *p = row_alloc(c);
  if (!p) return oom(n);
  gather(in[idx].dtype, in[idx].data, 0, 1, c, p);
  *out = p;
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* BatchNormalization                                                      */
/*===------------------------------------------------------------------===*/

ingot_status ref_parse_batchnorm(ir_graph *g, ir_node_id nid) {
  /* spatial: opset < 9; is_test: opset < 7; consumed_inputs: opset < 6. */
  static const char *const known[] = {"epsilon", "momentum", "training_mode",
                                      "spatial", "is_test", "consumed_inputs",
                                      NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, known));
  float eps, momentum;
  int64_t training, spatial, is_test;
  INGOT_RETURN_IF_ERROR(ir_attr_float(n, "epsilon", 1e-5f, &eps));
  INGOT_RETURN_IF_ERROR(ir_attr_float(n, "momentum", 0.9f, &momentum));
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "training_mode", 0, &training));
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "spatial", 1, &spatial));
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "is_test", 0, &is_test));
  if (spatial != 1)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "attribute spatial=%lld (per-activation statistics) "
                         "is not supported; only spatial=1 is",
                         (long long)spatial);
  if (training != 0 && training != 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute training_mode must be 0 or 1, not %lld",
                         (long long)training);
  if (n->opset < 14) {
    /* Before opset 14 training mode is implied by asking for the running
     * statistics (and, before opset 7, by is_test=0). */
    bool stats = false;
    for (int i = 1; i < n->n_out; i++)
      if (n->out[i]) stats = true;
    training = stats && !is_test;
  }
  ir_p_norm *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  p->epsilon = eps;
  p->momentum = momentum;
  p->training_mode = training != 0;
  return NULL;
}

ingot_status ref_infer_batchnorm(const ir_node *n, const ir_value *in, int nin,
                                 ir_value *out, int nout) {
  for (int i = 0; i < 5; i++)
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, i, float_types));
  const ir_shape *x = &in[0].shape;
  char b[96];
  if (x->rank < 2)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "X must be N x C x ...; got shape %s",
                         ir_shape_str(x, b, sizeof b));
  int64_t c = x->dims[1];
  static const char *const names[] = {"X", "scale", "B", "input_mean",
                                      "input_var"};
  for (int i = 1; i < 5; i++) {
    const ir_shape *s = &in[i].shape;
    if (s->rank != 1 || (c >= 0 && s->dims[0] >= 0 && s->dims[0] != c))
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "%s has shape %s; it must be a vector of the %lld "
                           "channels of X",
                           names[i], ir_shape_str(s, b, sizeof b),
                           (long long)c);
  }
  out[0].dtype = in[0].dtype;
  out[0].shape = *x;
  for (int i = 1; i < nout; i++) {
    out[i].dtype = in[3].dtype;
    out[i].shape.rank = 1;
    out[i].shape.dims[0] = c;
  }
  return NULL;
}

ingot_status ref_eval_batchnorm(const ir_node *n, const ir_value *in, int nin,
                                ir_value *out, int nout) {
  const ir_p_norm *p = n->params;
  const ir_shape *x = &in[0].shape;
  size_t nb = (size_t)x->dims[0], c = (size_t)x->dims[1];
  size_t sp = dims_prod(x, 2, x->rank);
  double *prm[4] = {NULL, NULL, NULL, NULL}; /* scale, B, mean, var */
  static const char *const names[] = {"scale", "B", "input_mean",
                                      "input_var"};
  ingot_status s = NULL;
  for (int i = 0; i < 4 && !s; i++)
    s = load_channel_param(n, in, i + 1, names[i], c, &prm[i]);
  double *row = s ? NULL : row_alloc(sp);
  if (!s && !row) s = oom(n);
  for (size_t ch = 0; !s && ch < c; ch++) {
    double mean = prm[2][ch], var = prm[3][ch];
    if (p->training_mode) { /* batch statistics over N and spatial dims */
      double sum = 0, sq = 0;
      for (size_t b = 0; b < nb; b++) {
        gather(in[0].dtype, in[0].data, (b * c + ch) * sp, 1, sp, row);
        for (size_t i = 0; i < sp; i++) sum += row[i];
      }
      size_t cnt = nb * sp;
      mean = cnt ? sum / (double)cnt : 0;
      for (size_t b = 0; b < nb; b++) {
        gather(in[0].dtype, in[0].data, (b * c + ch) * sp, 1, sp, row);
        for (size_t i = 0; i < sp; i++) sq += (row[i] - mean) * (row[i] - mean);
      }
      var = cnt ? sq / (double)cnt : 0;
    }
    double a = prm[0][ch] / sqrt(var + (double)p->epsilon);
    for (size_t b = 0; b < nb; b++) {
      size_t off = (b * c + ch) * sp;
      gather(in[0].dtype, in[0].data, off, 1, sp, row);
      for (size_t i = 0; i < sp; i++) row[i] = (row[i] - mean) * a + prm[1][ch];
      scatter(out[0].dtype, out[0].data, off, 1, sp, row);
    }
    /* running_mean / running_var: momentum-weighted in training mode, the
     * inputs unchanged otherwise. */
    double mom = p->momentum;
    double rm = p->training_mode ? prm[2][ch] * mom + mean * (1 - mom)
                                 : prm[2][ch];
    double rv = p->training_mode ? prm[3][ch] * mom + var * (1 - mom)
                                 : prm[3][ch];
    if (nout > 1 && out[1].data) ir_store_f64(out[1].dtype, out[1].data, ch, rm);
    if (nout > 2 && out[2].data) ir_store_f64(out[2].dtype, out[2].data, ch, rv);
  }
  free(row);
  for (int i = 0; i < 4; i++) free(prm[i]);
  return s;
}

/*===------------------------------------------------------------------===*/
/* InstanceNormalization                                                   */
/*===------------------------------------------------------------------===*/

ingot_status ref_parse_norm_eps(ir_graph *g, ir_node_id nid) {
  static const char *const known[] = {"epsilon", NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, known));
  float eps;
  INGOT_RETURN_IF_ERROR(ir_attr_float(n, "epsilon", 1e-5f, &eps));
  ir_p_norm *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  p->epsilon = eps;
  return NULL;
}

ingot_status ref_eval_instancenorm(const ir_node *n, const ir_value *in,
                                   int nin, ir_value *out, int nout) {
  const ir_p_norm *p = n->params;
  for (int i = 0; i < 3; i++)
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, i, float_types));
  const ir_shape *x = &in[0].shape;
  char b[96];
  if (x->rank < 2)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input must be N x C x ...; got shape %s",
                         ir_shape_str(x, b, sizeof b));
  size_t nb = (size_t)x->dims[0], c = (size_t)x->dims[1];
  size_t sp = dims_prod(x, 2, x->rank);
  double *scale = NULL, *bias = NULL, *row = NULL;
  ingot_status s = load_channel_param(n, in, 1, "scale", c, &scale);
  if (!s) s = load_channel_param(n, in, 2, "B", c, &bias);
  if (!s && !(row = row_alloc(sp))) s = oom(n);
  for (size_t pl = 0; !s && pl < nb * c; pl++) {
    size_t ch = pl % c;
    gather(in[0].dtype, in[0].data, pl * sp, 1, sp, row);
    double mean, var;
    row_stats(row, sp, &mean, &var);
    double a = scale[ch] / sqrt(var + (double)p->epsilon);
    for (size_t i = 0; i < sp; i++) row[i] = (row[i] - mean) * a + bias[ch];
    scatter(out[0].dtype, out[0].data, pl * sp, 1, sp, row);
  }
  free(scale);
  free(bias);
  free(row);
  return s;
}

/*===------------------------------------------------------------------===*/
/* LayerNormalization                                                      */
/*===------------------------------------------------------------------===*/

ingot_status ref_parse_layernorm(ir_graph *g, ir_node_id nid) {
  static const char *const known[] = {"axis", "epsilon", "stash_type", NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, known));
  int64_t axis, stash;
  float eps;
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "axis", -1, &axis));
  INGOT_RETURN_IF_ERROR(ir_attr_float(n, "epsilon", 1e-5f, &eps));
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "stash_type", IR_F32, &stash));
  if (stash != IR_F32 && stash != IR_F64 && stash != IR_F16 &&
      stash != IR_BF16)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute stash_type=%lld is not a float type",
                         (long long)stash);
  ir_p_layernorm *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  p->axis = axis;
  p->epsilon = eps;
  p->stash_type = stash;
  return NULL;
}

/* Checks that Scale / B (input |idx|) broadcast unidirectionally to X. */
static ingot_status ln_check_param(const ir_node *n, const ir_value *in,
                                   int idx, const char *what) {
  const ir_shape *x = &in[0].shape, *s = &in[idx].shape;
  bool ok = s->rank <= x->rank;
  for (int d = 0; ok && d < s->rank; d++) {
    int64_t sd = s->dims[d], xd = x->dims[x->rank - s->rank + d];
    if (sd >= 0 && xd >= 0 && sd != 1 && sd != xd) ok = false;
  }
  if (ok) return ref_same_dtype(n, in, 0, idx);
  char a[96], b[96];
  return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                       "%s of shape %s does not broadcast to X of shape %s",
                       what, ir_shape_str(s, a, sizeof a),
                       ir_shape_str(x, b, sizeof b));
}

ingot_status ref_infer_layernorm(const ir_node *n, const ir_value *in, int nin,
                                 ir_value *out, int nout) {
  const ir_p_layernorm *p = n->params;
  INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 0, float_types));
  INGOT_RETURN_IF_ERROR(ln_check_param(n, in, 1, "Scale"));
  if (ref_has(in, nin, 2)) INGOT_RETURN_IF_ERROR(ln_check_param(n, in, 2, "B"));
  const ir_shape *x = &in[0].shape;
  int axis;
  INGOT_RETURN_IF_ERROR(ref_axis(n, p->axis, x->rank, &axis));
  out[0].dtype = in[0].dtype;
  out[0].shape = *x;
  /* Mean and InvStdDev: X's shape with the normalised dims set to 1. */
  for (int i = 1; i < nout; i++) {
    out[i].dtype = (ir_dtype)p->stash_type;
    out[i].shape = *x;
    for (int d = axis; d < x->rank; d++) out[i].shape.dims[d] = 1;
  }
  return NULL;
}

/* Scale or B expanded to the broadcast strides over X, as doubles. */
static ingot_status ln_param(const ir_node *n, const ir_value *v,
                             const ir_shape *x, double **vals,
                             int64_t *strides) {
  size_t cnt = ir_shape_numel(&v->shape);
  *vals = row_alloc(cnt);
  if (!*vals) return oom(n);
  gather(v->dtype, v->data, 0, 1, cnt, *vals);
  ref_bcast_strides(&v->shape, x, strides);
  return NULL;
}

ingot_status ref_eval_layernorm(const ir_node *n, const ir_value *in, int nin,
                                ir_value *out, int nout) {
  const ir_p_layernorm *p = n->params;
  const ir_shape *x = &in[0].shape;
  int axis;
  INGOT_RETURN_IF_ERROR(ref_axis(n, p->axis, x->rank, &axis));
  size_t outer = dims_prod(x, 0, axis), len = dims_prod(x, axis, x->rank);
  int64_t st[2][IR_MAX_RANK] = {{0}};
  double *scale = NULL, *bias = NULL, *row = NULL;
  ingot_status s = ln_param(n, &in[1], x, &scale, st[0]);
  if (!s && ref_has(in, nin, 2)) s = ln_param(n, &in[2], x, &bias, st[1]);
  if (!s && !(row = row_alloc(len))) s = oom(n);
  ir_value *mean_out = nout > 1 && out[1].data ? &out[1] : NULL;
  ir_value *inv_out = nout > 2 && out[2].data ? &out[2] : NULL;
  /* The odometer walks X in row-major order, giving each element's offset
   * into Scale and B; rows are consecutive runs of |len| elements. */
  ref_iter it;
  ref_iter_init(&it, x, 2, st);
  for (size_t r = 0; !s && r < outer; r++) {
    gather(in[0].dtype, in[0].data, r * len, 1, len, row);
    double mean, var;
    row_stats(row, len, &mean, &var);
    double inv = 1.0 / sqrt(var + (double)p->epsilon);
    for (size_t j = 0; j < len; j++, ref_iter_next(&it)) {
      double v = (row[j] - mean) * inv * scale[it.off[0]];
      row[j] = bias ? v + bias[it.off[1]] : v;
    }
    scatter(out[0].dtype, out[0].data, r * len, 1, len, row);
    if (mean_out) ir_store_f64(mean_out->dtype, mean_out->data, r, mean);
    if (inv_out) ir_store_f64(inv_out->dtype, inv_out->data, r, inv);
  }
  free(scale);
  free(bias);
  free(row);
  return s;
}

/*===------------------------------------------------------------------===*/
/* Softmax and LogSoftmax                                                  */
/*===------------------------------------------------------------------===*/

ingot_status ref_parse_softmax(ir_graph *g, ir_node_id nid) {
  static const char *const known[] = {"axis", NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, known));
  bool legacy = n->opset < 13;
  int64_t axis;
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "axis", legacy ? 1 : -1, &axis));
  ir_p_softmax *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  p->axis = axis;
  p->legacy = legacy;
  return NULL;
}

/* Softmax over r[0..len): exp(x - max) / Σ, or x - max - log Σ. */
static void softmax_row(double *r, size_t len, bool log_form) {
  double mx = -INFINITY;
  for (size_t i = 0; i < len; i++)
    if (r[i] > mx) mx = r[i];
  double sum = 0;
  for (size_t i = 0; i < len; i++) {
    r[i] -= mx;
    sum += exp(r[i]);
  }
  if (log_form) {
    double ls = log(sum);
    for (size_t i = 0; i < len; i++) r[i] -= ls;
  } else {
    for (size_t i = 0; i < len; i++) r[i] = exp(r[i]) / sum;
  }
}

ingot_status ref_eval_softmax(const ir_node *n, const ir_value *in, int nin,
                              ir_value *out, int nout) {
  const ir_p_softmax *p = n->params;
  INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 0, float_types));
  const ir_shape *x = &in[0].shape;
  int axis;
  INGOT_RETURN_IF_ERROR(ref_axis(n, p->axis, x->rank, &axis));
  /* Opset >= 13: one axis.  Before: X coerced to 2-D at |axis|, i.e. the
   * whole trailing block is one row. */
  size_t outer = dims_prod(x, 0, axis < x->rank ? axis : x->rank);
  size_t len = p->legacy ? dims_prod(x, axis, x->rank)
                         : (axis < x->rank ? (size_t)x->dims[axis] : 1);
  size_t inner = p->legacy ? 1 : dims_prod(x, axis + 1, x->rank);
  if (outer * len * inner == 0) return NULL;
  double *row = row_alloc(len);
  if (!row) return oom(n);
  bool log_form = n->op == IR_OP_LOG_SOFTMAX;
  for (size_t o = 0; o < outer; o++)
    for (size_t i = 0; i < inner; i++) {
      size_t off = o * len * inner + i;
      gather(in[0].dtype, in[0].data, off, inner, len, row);
      softmax_row(row, len, log_form);
      scatter(out[0].dtype, out[0].data, off, inner, len, row);
    }
  free(row);
  return NULL;
}
