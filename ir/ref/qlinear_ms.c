/* qlinear_ms.c — the quantised contrib ops ONNX Runtime's quantizer writes
 * into QOperator models, domain "com.microsoft" (opset 1): QLinearAdd,
 * QLinearMul, QLinearGlobalAveragePool, QLinearAveragePool, QLinearConcat,
 * QLinearSigmoid and QLinearLeakyRelu.
 *
 * ONNX Runtime documents each as "dequantise, compute in float, quantise"
 * but leaves the float arithmetic open (its kernels use fixed-point tricks
 * or lookup tables that differ between CPUs).  Ingot defines them the way
 * DESIGN.md §5 defines every int8 op: integer work is exact, then one
 * requantisation y = sat(rne(float(acc) · M) + zy) with the multiplier M
 * precomputed in float32 from the scales, every float step a statement of
 * its own (so no FMA contraction can merge two of them), and the rounding
 * and saturation of ref_saturate_rne, shared with QuantizeLinear,
 * QLinearConv and QLinearMatMul.  The exact order, per op:
 *
 *   QLinearAdd     Ma = sa / sy, Mb = sb / sy;
 *                  y = sat(rne(float(a−za)·Ma + float(b−zb)·Mb) + zy)
 *                  (DESIGN §5's residual Add: the two products, then +).
 *   QLinearMul     M = float(sa·sb) / sy (as QLinearMatMul);
 *                  y = sat(rne(float((a−za)·(b−zb)) · M) + zy).
 *   QLinear(Global)AveragePool
 *                  acc = Σ (x−zx) over the window (exact integer),
 *                  M = sx / (sy · float(count)) (ONNX Runtime's order);
 *                  y = sat(rne(float(acc) · M) + zy).  count follows
 *                  AveragePool (count_include_pad counts the pads, not
 *                  ceil_mode's extension); the global pool's is H·W·...
 *   QLinearConcat  per input i: Mi = si / sy;
 *                  y = sat(rne(float(x−zi) · Mi) + zy); an input already
 *                  at (sy, zy) has Mi = 1 and is copied unchanged.
 *   QLinearLeakyRelu  M+ = sx / sy, M− = float(alpha·sx) / sy;
 *                  y = sat(rne(float(x−zx) · (x ≥ zx ? M+ : M−)) + zy).
 *   QLinearSigmoid v = float(x−zx) · sx; s = float32(σ(v)) with σ
 *                  evaluated in double (as the float Sigmoid is);
 *                  y = sat(rne(s / sy) + zy), the division QuantizeLinear
 *                  uses.
 * Sigmoid and LeakyRelu depend on the input code alone, so they are
 * evaluated as a 256-entry table (what an engine bakes in at build time).
 *
 * Every scale and zero point is per tensor (one element), as the contrib
 * spec says; zero points are optional (0) except where the spec marks them
 * required, and have the data's type (uint8 or int8).  Scales must be
 * positive and finite.  Add and Mul broadcast like numpy.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

static const ir_dtype q8_types[] = {IR_U8, IR_I8, IR_DT_UNDEF};

static void qrange(ir_dtype t, int64_t *lo, int64_t *hi) {
  *lo = t == IR_I8 ? -128 : 0;
  *hi = t == IR_I8 ? 127 : 255;
}

/*===------------------------------------------------------------------===*/
/* Scale and zero-point inputs                                             */
/*===------------------------------------------------------------------===*/

static ingot_status check_one(const ir_node *n, const ir_value *in, int idx,
                              const char *what) {
  const ir_shape *s = &in[idx].shape;
  char buf[96];
  if (ir_shape_is_static(s) && ir_shape_numel(s) != 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "%s (input %d) must hold one value (per-tensor "
                         "quantisation); it has shape %s",
                         what, idx, ir_shape_str(s, buf, sizeof buf));
  return NULL;
}

/* Input |idx| is a per-tensor float32 scale. */
static ingot_status get_scale(const ir_node *n, const ir_value *in, int idx,
                              const char *what, float *out);

/* Input |idx| is a per-tensor float32 scale; when its value is known (a
 * constant, during static shape inference) it must be positive and
 * finite, so a bad model fails at import and at build, not only when the
 * reference runs it. */
static ingot_status check_scale(const ir_node *n, const ir_value *in, int idx,
                                const char *what) {
  if (in[idx].dtype != IR_F32)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "%s (input %d) must be float32, not %s", what, idx,
                         ir_dtype_name(in[idx].dtype));
  INGOT_RETURN_IF_ERROR(check_one(n, in, idx, what));
  if (in[idx].data && ir_shape_is_static(&in[idx].shape)) {
    float s;
    INGOT_RETURN_IF_ERROR(get_scale(n, in, idx, what, &s));
  }
  return NULL;
}

/* Optional input |idx| is a per-tensor zero point of dtype |t|. */
static ingot_status check_zp(const ir_node *n, const ir_value *in, int nin,
                             int idx, ir_dtype t, const char *what) {
  if (!ref_has(in, nin, idx)) return NULL;
  if (in[idx].dtype != t)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "%s (input %d) is %s; it must be %s like the data "
                         "it describes",
                         what, idx, ir_dtype_name(in[idx].dtype),
                         ir_dtype_name(t));
  return check_one(n, in, idx, what);
}

/* Inputs |req| (a -1-terminated list) must be present; the op's inputs in
 * order are named by |sig| for the message. */
static ingot_status need(const ir_node *n, const ir_value *in, int nin,
                         const int *req, const char *sig) {
  for (const int *r = req; *r >= 0; r++)
    if (!ref_has(in, nin, *r))
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "input %d is required (inputs: %s)", *r, sig);
  return NULL;
}

static ingot_status get_scale(const ir_node *n, const ir_value *in, int idx,
                              const char *what, float *out) {
  if (!in[idx].data || ir_shape_numel(&in[idx].shape) != 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "%s (input %d) must hold one value", what, idx);
  float s = ((const float *)in[idx].data)[0];
  if (!(s > 0.0f) || !isfinite(s))
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "%s (input %d) is %g; a scale must be positive and "
                         "finite",
                         what, idx, (double)s);
  *out = s;
  return NULL;
}

static int64_t get_zp(const ir_value *in, int nin, int idx) {
  if (!ref_has(in, nin, idx) || !in[idx].data) return 0;
  return ir_load_i64(in[idx].dtype, in[idx].data, 0);
}

/*===------------------------------------------------------------------===*/
/* QLinearAdd, QLinearMul: A, A_scale, A_zp?, B, B_scale, B_zp?, C_scale,   */
/* C_zp?                                                                   */
/*===------------------------------------------------------------------===*/

ingot_status ref_infer_qlinear_binary(const ir_node *n, const ir_value *in,
                                      int nin, ir_value *out, int nout) {
  (void)nout;
  static const int req[] = {0, 1, 3, 4, 6, -1};
  INGOT_RETURN_IF_ERROR(need(n, in, nin, req,
                             "A, A_scale, A_zero_point?, B, B_scale, "
                             "B_zero_point?, C_scale, C_zero_point?"));
  INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 0, q8_types));
  INGOT_RETURN_IF_ERROR(ref_same_dtype(n, in, 0, 3));
  ir_dtype t = in[0].dtype;
  INGOT_RETURN_IF_ERROR(check_scale(n, in, 1, "A_scale"));
  INGOT_RETURN_IF_ERROR(check_zp(n, in, nin, 2, t, "A_zero_point"));
  INGOT_RETURN_IF_ERROR(check_scale(n, in, 4, "B_scale"));
  INGOT_RETURN_IF_ERROR(check_zp(n, in, nin, 5, t, "B_zero_point"));
  INGOT_RETURN_IF_ERROR(check_scale(n, in, 6, "C_scale"));
  INGOT_RETURN_IF_ERROR(check_zp(n, in, nin, 7, t, "C_zero_point"));
  const ir_shape *sh[2] = {&in[0].shape, &in[3].shape};
  INGOT_RETURN_IF_ERROR(ref_broadcast(n, sh, 2, &out[0].shape));
  out[0].dtype = t;
  return NULL;
}

ingot_status ref_qlinear_binary_q_make(const ir_node *n, const ir_value *in,
                                       int nin, ref_qlinear_binary_q *q) {
  float sa, sb, sy;
  INGOT_RETURN_IF_ERROR(get_scale(n, in, 1, "A_scale", &sa));
  INGOT_RETURN_IF_ERROR(get_scale(n, in, 4, "B_scale", &sb));
  INGOT_RETURN_IF_ERROR(get_scale(n, in, 6, "C_scale", &sy));
  q->za = get_zp(in, nin, 2);
  q->zb = get_zp(in, nin, 5);
  q->zy = get_zp(in, nin, 7);
  qrange(in[0].dtype, &q->lo, &q->hi);
  q->ma = sa / sy; /* Add */
  q->mb = sb / sy;
  float m = sa * sb; /* Mul */
  q->m = m / sy;
  return NULL;
}

ingot_status ref_eval_qlinear_binary(const ir_node *n, const ir_value *in,
                                     int nin, ir_value *out, int nout) {
  (void)nout;
  ref_qlinear_binary_q q;
  INGOT_RETURN_IF_ERROR(ref_qlinear_binary_q_make(n, in, nin, &q));
  int64_t za = q.za, zb = q.zb, zy = q.zy, lo = q.lo, hi = q.hi;
  float ma = q.ma, mb = q.mb, m = q.m;
  bool add = n->op == IR_OP_QLINEAR_ADD;

  const ir_value *a = &in[0], *b = &in[3];
  int64_t str[2][IR_MAX_RANK];
  ref_bcast_strides(&a->shape, &out[0].shape, str[0]);
  ref_bcast_strides(&b->shape, &out[0].shape, str[1]);
  ref_iter it;
  ref_iter_init(&it, &out[0].shape, 2, (const int64_t(*)[IR_MAX_RANK])str);
  size_t count = ir_shape_numel(&out[0].shape);
  for (size_t i = 0; i < count; i++, ref_iter_next(&it)) {
    int64_t da = ir_load_i64(a->dtype, a->data, (size_t)it.off[0]) - za;
    int64_t db = ir_load_i64(b->dtype, b->data, (size_t)it.off[1]) - zb;
    float v;
    if (add) {
      float fa = (float)da * ma;
      float fb = (float)db * mb;
      v = fa + fb;
    } else {
      v = (float)(da * db) * m; /* |da·db| <= 255² : exact */
    }
    ir_store_i64(out[0].dtype, out[0].data, i,
                 ref_saturate_rne(v, zy, lo, hi));
  }
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* QLinearSigmoid, QLinearLeakyRelu: X, X_scale, X_zp?, Y_scale, Y_zp?     */
/*===------------------------------------------------------------------===*/

ingot_status ref_parse_qlinear_leaky_relu(ir_graph *g, ir_node_id nid) {
  static const char *const known[] = {"alpha", NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, known));
  float alpha;
  /* ONNX Runtime's default, as for the float LeakyRelu. */
  INGOT_RETURN_IF_ERROR(ir_attr_float(n, "alpha", 0.01f, &alpha));
  ir_p_activation *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  p->alpha = alpha;
  return NULL;
}

ingot_status ref_infer_qlinear_unary(const ir_node *n, const ir_value *in,
                                     int nin, ir_value *out, int nout) {
  (void)nout;
  static const int req[] = {0, 1, 3, -1};
  INGOT_RETURN_IF_ERROR(need(n, in, nin, req,
                             "X, X_scale, X_zero_point?, Y_scale, "
                             "Y_zero_point?"));
  INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 0, q8_types));
  ir_dtype t = in[0].dtype;
  INGOT_RETURN_IF_ERROR(check_scale(n, in, 1, "X_scale"));
  INGOT_RETURN_IF_ERROR(check_zp(n, in, nin, 2, t, "X_zero_point"));
  INGOT_RETURN_IF_ERROR(check_scale(n, in, 3, "Y_scale"));
  INGOT_RETURN_IF_ERROR(check_zp(n, in, nin, 4, t, "Y_zero_point"));
  out[0].dtype = t;
  out[0].shape = in[0].shape;
  return NULL;
}

/* σ(v) in double, as ir/ref/unary.c evaluates the float Sigmoid. */
static double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + exp(-x));
  return exp(x) / (1.0 + exp(x));
}

ingot_status ref_qlinear_unary_table(const ir_node *n, const ir_value *in,
                                     int nin, int64_t table[256]) {
  float sx, sy;
  INGOT_RETURN_IF_ERROR(get_scale(n, in, 1, "X_scale", &sx));
  INGOT_RETURN_IF_ERROR(get_scale(n, in, 3, "Y_scale", &sy));
  int64_t zx = get_zp(in, nin, 2), zy = get_zp(in, nin, 4), lo, hi;
  qrange(in[0].dtype, &lo, &hi);
  if (n->op == IR_OP_QLINEAR_LEAKY_RELU) {
    const ir_p_activation *p = n->params;
    if (!p)
      return ir_node_error(n, INGOT_INTERNAL, "attributes were not parsed");
    float mpos = sx / sy;
    float mneg = p->alpha * sx;
    mneg = mneg / sy;
    for (int64_t x = lo; x <= hi; x++) {
      float v = (float)(x - zx) * (x >= zx ? mpos : mneg);
      table[x - lo] = ref_saturate_rne(v, zy, lo, hi);
    }
  } else {
    for (int64_t x = lo; x <= hi; x++) {
      float v = (float)(x - zx) * sx;
      float s = (float)sigmoid((double)v);
      float q = s / sy;
      table[x - lo] = ref_saturate_rne(q, zy, lo, hi);
    }
  }
  return NULL;
}

ingot_status ref_eval_qlinear_unary(const ir_node *n, const ir_value *in,
                                    int nin, ir_value *out, int nout) {
  (void)nout;
  ir_dtype t = in[0].dtype;
  int64_t lo, hi;
  qrange(t, &lo, &hi);
  /* The output of every input code, indexed by code − lo. */
  int64_t table[256];
  INGOT_RETURN_IF_ERROR(ref_qlinear_unary_table(n, in, nin, table));
  size_t count = ir_shape_numel(&in[0].shape);
  for (size_t i = 0; i < count; i++)
    ir_store_i64(t, out[0].data, i,
                 table[ir_load_i64(t, in[0].data, i) - lo]);
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Pools: X, x_scale, x_zp, y_scale, y_zp (zero points optional for        */
/* QLinearAveragePool)                                                     */
/*===------------------------------------------------------------------===*/

#define QPOOL_ATTR_MAX ((int64_t)1 << 20) /* kernel, stride */
#define QPOOL_DIM_MAX ((int64_t)1 << 40)  /* pads */

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

/* QLinearAveragePool has AveragePool's attributes (without dilations) plus
 * channels_last; QLinearGlobalAveragePool only channels_last. */
ingot_status ref_parse_qlinear_pool(ir_graph *g, ir_node_id nid) {
  static const char *const avg_attrs[] = {
      "auto_pad", "ceil_mode", "channels_last", "count_include_pad",
      "kernel_shape", "pads", "strides", NULL};
  static const char *const global_attrs[] = {"channels_last", NULL};
  const ir_node *n = ref_node(g, nid);
  bool global = n->op == IR_OP_QLINEAR_GLOBAL_AVERAGE_POOL;
  INGOT_RETURN_IF_ERROR(
      ir_attr_check_known(n, global ? global_attrs : avg_attrs));
  ir_p_qlinear_pool q;
  memset(&q, 0, sizeof q);
  INGOT_RETURN_IF_ERROR(bool_attr(n, "channels_last", &q.channels_last));
  ir_p_pool *p = &q.pool;
  p->group = 1;
  for (int i = 0; i < IR_MAX_RANK; i++) p->strides[i] = p->dilations[i] = 1;
  if (!global) {
    int rank = 0;
    INGOT_RETURN_IF_ERROR(ref_spatial_list(n, "kernel_shape", 1, 1,
                                           QPOOL_ATTR_MAX, p->kernel, &rank,
                                           &p->has_kernel));
    if (!p->has_kernel)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "attribute kernel_shape is required");
    INGOT_RETURN_IF_ERROR(ref_spatial_list(n, "strides", 1, 1,
                                           QPOOL_ATTR_MAX, p->strides, &rank,
                                           &p->has_strides));
    INGOT_RETURN_IF_ERROR(ref_spatial_list(n, "pads", 2, 0, QPOOL_DIM_MAX,
                                           p->pads, &rank, &p->has_pads));
    p->n_spatial = p->n_given = rank;
    const char *s;
    INGOT_RETURN_IF_ERROR(ir_attr_string(n, "auto_pad", "NOTSET", &s));
    if (!strcmp(s, "NOTSET") || !*s)
      p->auto_pad = IR_PAD_NOTSET;
    else if (!strcmp(s, "VALID"))
      p->auto_pad = IR_PAD_VALID;
    else if (!strcmp(s, "SAME_UPPER"))
      p->auto_pad = IR_PAD_SAME_UPPER;
    else if (!strcmp(s, "SAME_LOWER"))
      p->auto_pad = IR_PAD_SAME_LOWER;
    else
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "attribute auto_pad has unknown value '%s'", s);
    INGOT_RETURN_IF_ERROR(bool_attr(n, "ceil_mode", &p->ceil_mode));
    INGOT_RETURN_IF_ERROR(
        bool_attr(n, "count_include_pad", &p->count_include_pad));
  }
  ir_p_qlinear_pool *dst = ref_params_new(g, nid, sizeof *dst);
  if (!dst)
    return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  *dst = q;
  return NULL;
}

static ingot_status check_pool_io(const ir_node *n, const ir_value *in,
                                  int nin) {
  static const int req[] = {0, 1, 3, -1};
  INGOT_RETURN_IF_ERROR(need(n, in, nin, req,
                             "X, x_scale, x_zero_point, y_scale, "
                             "y_zero_point"));
  INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 0, q8_types));
  ir_dtype t = in[0].dtype;
  INGOT_RETURN_IF_ERROR(check_scale(n, in, 1, "x_scale"));
  INGOT_RETURN_IF_ERROR(check_zp(n, in, nin, 2, t, "x_zero_point"));
  INGOT_RETURN_IF_ERROR(check_scale(n, in, 3, "y_scale"));
  INGOT_RETURN_IF_ERROR(check_zp(n, in, nin, 4, t, "y_zero_point"));
  if (in[0].shape.rank < 2) {
    char buf[96];
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input must have a batch, a channel and spatial "
                         "dims; got shape %s",
                         ir_shape_str(&in[0].shape, buf, sizeof buf));
  }
  return NULL;
}

/* N x C x spatial... view of a channels-last shape, and back. */
static ir_shape to_nchw(const ir_shape *s) {
  ir_shape v = *s;
  v.dims[1] = s->dims[s->rank - 1];
  for (int d = 2; d < s->rank; d++) v.dims[d] = s->dims[d - 1];
  return v;
}
static ir_shape from_nchw(const ir_shape *v) {
  ir_shape s = *v;
  for (int d = 1; d < v->rank - 1; d++) s.dims[d] = v->dims[d + 1];
  s.dims[v->rank - 1] = v->dims[1];
  return s;
}

ingot_status ref_qlinear_pool_q_make(const ir_node *n, const ir_value *in,
                                     int nin, ref_qlinear_pool_q *q) {
  INGOT_RETURN_IF_ERROR(get_scale(n, in, 1, "x_scale", &q->sx));
  INGOT_RETURN_IF_ERROR(get_scale(n, in, 3, "y_scale", &q->sy));
  q->zx = get_zp(in, nin, 2);
  q->zy = get_zp(in, nin, 4);
  qrange(in[0].dtype, &q->lo, &q->hi);
  return NULL;
}

/* The requantisation of an average: M = sx / (sy · count). */
static int64_t requant_avg(int64_t acc, int64_t count, float sx, float sy,
                           int64_t zy, int64_t lo, int64_t hi) {
  float t = sy * (float)count;
  float m = sx / t;
  float v = (float)acc * m;
  return ref_saturate_rne(v, zy, lo, hi);
}

ingot_status ref_infer_qlinear_global_pool(const ir_node *n,
                                           const ir_value *in, int nin,
                                           ir_value *out, int nout) {
  (void)nout;
  const ir_p_qlinear_pool *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "attributes were not parsed");
  INGOT_RETURN_IF_ERROR(check_pool_io(n, in, nin));
  ir_shape v = p->channels_last ? to_nchw(&in[0].shape) : in[0].shape;
  for (int d = 2; d < v.rank; d++) v.dims[d] = 1;
  out[0].dtype = in[0].dtype;
  out[0].shape = p->channels_last ? from_nchw(&v) : v;
  return NULL;
}

ingot_status ref_eval_qlinear_global_pool(const ir_node *n,
                                          const ir_value *in, int nin,
                                          ir_value *out, int nout) {
  (void)nout;
  const ir_p_qlinear_pool *p = n->params;
  ref_qlinear_pool_q q;
  INGOT_RETURN_IF_ERROR(ref_qlinear_pool_q_make(n, in, nin, &q));
  float sx = q.sx, sy = q.sy;
  int64_t zx = q.zx, zy = q.zy, lo = q.lo, hi = q.hi;
  ir_dtype t = in[0].dtype;
  ir_shape v = p->channels_last ? to_nchw(&in[0].shape) : in[0].shape;
  int64_t batch = v.dims[0], ch = v.dims[1], size = 1;
  for (int d = 2; d < v.rank; d++) size *= v.dims[d];
  /* element (b, c, s) of the view: NCHW (b·C + c)·S + s, NHWC
   * (b·S + s)·C + c; the output is (b, c) in both layouts. */
  int64_t cstride = p->channels_last ? 1 : size;
  int64_t sstride = p->channels_last ? ch : 1;
  for (int64_t b = 0; b < batch; b++)
    for (int64_t c = 0; c < ch; c++) {
      size_t base = (size_t)(b * ch * size + c * cstride);
      int64_t acc = 0;
      for (int64_t s = 0; s < size; s++)
        acc += ir_load_i64(t, in[0].data, base + (size_t)(s * sstride)) - zx;
      ir_store_i64(t, out[0].data, (size_t)(b * ch + c),
                   requant_avg(acc, size, sx, sy, zy, lo, hi));
    }
  return NULL;
}

ingot_status ref_infer_qlinear_avgpool(const ir_node *n, const ir_value *in,
                                       int nin, ir_value *out, int nout) {
  (void)nout;
  const ir_p_qlinear_pool *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "attributes were not parsed");
  INGOT_RETURN_IF_ERROR(check_pool_io(n, in, nin));
  /* AveragePool's own shape rules (pool.c), on a float N x C x ... view. */
  ir_value x = {.dtype = IR_F32,
                .shape = p->channels_last ? to_nchw(&in[0].shape)
                                          : in[0].shape};
  ir_value y;
  memset(&y, 0, sizeof y);
  INGOT_RETURN_IF_ERROR(ref_infer_pool(n, &x, 1, &y, 1));
  out[0].dtype = in[0].dtype;
  out[0].shape = p->channels_last ? from_nchw(&y.shape) : y.shape;
  return NULL;
}

/* One spatial axis of a pooling window (normalised to 3 axes). */
typedef struct qaxis {
  int64_t in, out, k, s, pb, pe;
} qaxis;

/* Σ (x − zx) over the window at output position |o| of the plane whose
 * element at spatial offset s is x[base + s·step], and the window's count:
 * the taps inside the input, or with |include_pad| those inside input and
 * pads (not ceil_mode's extension), as pool.c counts them. */
static int64_t window_sum(const ir_value *x, int64_t base, int64_t step,
                          const qaxis *ax, const int64_t *o, int64_t zx,
                          bool include_pad, int64_t *count) {
  int64_t lo[3], hi[3], padded = 1;
  for (int j = 0; j < 3; j++) {
    int64_t start = o[j] * ax[j].s - ax[j].pb, end = start + ax[j].k;
    int64_t plo = start > -ax[j].pb ? start : -ax[j].pb;
    int64_t phi = end < ax[j].in + ax[j].pe ? end : ax[j].in + ax[j].pe;
    padded *= phi > plo ? phi - plo : 0;
    lo[j] = start > 0 ? start : 0;
    hi[j] = end < ax[j].in ? end : ax[j].in;
  }
  int64_t acc = 0, taps = 0;
  for (int64_t i0 = lo[0]; i0 < hi[0]; i0++)
    for (int64_t i1 = lo[1]; i1 < hi[1]; i1++)
      for (int64_t i2 = lo[2]; i2 < hi[2]; i2++, taps++) {
        int64_t s = (i0 * ax[1].in + i1) * ax[2].in + i2;
        acc += ir_load_i64(x->dtype, x->data, (size_t)(base + s * step)) - zx;
      }
  *count = include_pad ? padded : taps;
  return acc;
}

ingot_status ref_eval_qlinear_avgpool(const ir_node *n, const ir_value *in,
                                      int nin, ir_value *out, int nout) {
  (void)nout;
  const ir_p_qlinear_pool *q = n->params;
  const ir_p_pool *p = &q->pool;
  ref_qlinear_pool_q qp;
  INGOT_RETURN_IF_ERROR(ref_qlinear_pool_q_make(n, in, nin, &qp));
  float sx = qp.sx, sy = qp.sy;
  int64_t zx = qp.zx, zy = qp.zy, lo = qp.lo, hi = qp.hi;
  ir_dtype t = in[0].dtype;
  bool cl = q->channels_last;
  ir_shape xv = cl ? to_nchw(&in[0].shape) : in[0].shape;
  ir_shape yv = cl ? to_nchw(&out[0].shape) : out[0].shape;
  int nsp = xv.rank - 2; /* 1..3: ref_infer_pool checked */
  qaxis ax[3];
  for (int j = 0; j < 3; j++) ax[j] = (qaxis){1, 1, 1, 1, 0, 0};
  for (int i = 0; i < nsp; i++) {
    qaxis *a = &ax[3 - nsp + i];
    a->in = xv.dims[2 + i];
    a->out = yv.dims[2 + i];
    a->k = p->kernel[i];
    a->s = p->strides[i];
    if (p->auto_pad == IR_PAD_NOTSET) {
      a->pb = p->pads[i];
      a->pe = p->pads[nsp + i];
    } else if (p->auto_pad != IR_PAD_VALID) { /* SAME_*, as pool.c */
      int64_t total = (a->out - 1) * a->s + a->k - a->in;
      if (total < 0) total = 0;
      a->pb = p->auto_pad == IR_PAD_SAME_UPPER ? total / 2
                                               : total - total / 2;
      a->pe = total - a->pb;
    }
  }
  int64_t batch = xv.dims[0], ch = xv.dims[1];
  int64_t isize = ax[0].in * ax[1].in * ax[2].in;
  int64_t osize = ax[0].out * ax[1].out * ax[2].out;
  /* element (b, c, spatial s) at b·C·S + c·cs + s·ss, as the global pool */
  int64_t ics = cl ? 1 : isize, ocs = cl ? 1 : osize, ss = cl ? ch : 1;
  for (int64_t b = 0; b < batch; b++)
    for (int64_t c = 0; c < ch; c++) {
      int64_t ib = b * ch * isize + c * ics, ob = b * ch * osize + c * ocs;
      int64_t o[3], k = 0, count;
      for (o[0] = 0; o[0] < ax[0].out; o[0]++)
        for (o[1] = 0; o[1] < ax[1].out; o[1]++)
          for (o[2] = 0; o[2] < ax[2].out; o[2]++, k++) {
            int64_t acc = window_sum(&in[0], ib, ss, ax, o, zx,
                                     p->count_include_pad, &count);
            ir_store_i64(t, out[0].data, (size_t)(ob + k * ss),
                         requant_avg(acc, count, sx, sy, zy, lo, hi));
          }
    }
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* QLinearConcat: Y_scale, Y_zp, then (X, X_scale, X_zp?) per input        */
/*===------------------------------------------------------------------===*/

ingot_status ref_parse_qlinear_concat(ir_graph *g, ir_node_id nid) {
  static const char *const known[] = {"axis", NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, known));
  if (!ir_attr_find(n, "axis"))
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute axis is required");
  int64_t axis;
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "axis", 0, &axis));
  ir_p_axis *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  p->axis = axis;
  return NULL;
}

ingot_status ref_infer_qlinear_concat(const ir_node *n, const ir_value *in,
                                      int nin, ir_value *out, int nout) {
  (void)nout;
  const ir_p_axis *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "attributes were not parsed");
  /* The last triple's zero point may be left out. */
  if (nin < 4 || (nin - 2) % 3 == 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "inputs must be Y_scale, Y_zero_point and then "
                         "(X, X_scale, X_zero_point?) triples; got %d inputs",
                         nin);
  for (int i = 2; i < nin; i += 3) {
    int req[] = {i, i + 1, -1};
    INGOT_RETURN_IF_ERROR(need(n, in, nin, req,
                               "Y_scale, Y_zero_point, then (X, X_scale, "
                               "X_zero_point?) per input"));
  }
  INGOT_RETURN_IF_ERROR(check_scale(n, in, 0, "Y_scale"));
  INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 1, q8_types));
  INGOT_RETURN_IF_ERROR(check_one(n, in, 1, "Y_zero_point"));
  ir_dtype t = in[1].dtype;
  const ir_shape *s0 = &in[2].shape;
  char a[96], b[96];
  if (s0->rank < 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "inputs to concatenate must have rank >= 1");
  int axis;
  INGOT_RETURN_IF_ERROR(ref_axis(n, p->axis, s0->rank, &axis));
  ir_shape ys = *s0;
  for (int i = 2; i < nin; i += 3) {
    const ir_shape *s = &in[i].shape;
    if (in[i].dtype != t)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "input %d is %s but Y_zero_point is %s: every "
                           "input must have the output's type",
                           i, ir_dtype_name(in[i].dtype), ir_dtype_name(t));
    INGOT_RETURN_IF_ERROR(check_scale(n, in, i + 1, "X_scale"));
    INGOT_RETURN_IF_ERROR(check_zp(n, in, nin, i + 2, t, "X_zero_point"));
    if (i == 2) continue;
    if (s->rank != s0->rank)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "input %d of shape %s and input 2 of shape %s "
                           "differ in rank",
                           i, ir_shape_str(s, a, sizeof a),
                           ir_shape_str(s0, b, sizeof b));
    for (int d = 0; d < s->rank; d++) {
      int64_t v = s->dims[d];
      if (d == axis) {
        ys.dims[d] = ys.dims[d] < 0 || v < 0 ? -1 : ys.dims[d] + v;
      } else if (v >= 0 && ys.dims[d] >= 0 && v != ys.dims[d]) {
        return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                             "input %d of shape %s does not match input 2 "
                             "of shape %s outside axis %d",
                             i, ir_shape_str(s, a, sizeof a),
                             ir_shape_str(s0, b, sizeof b), axis);
      } else if (ys.dims[d] < 0) {
        ys.dims[d] = v;
      }
    }
  }
  out[0].dtype = t;
  out[0].shape = ys;
  return NULL;
}

ingot_status ref_qlinear_concat_q(const ir_node *n, const ir_value *in,
                                  int nin, int i, float *m, int64_t *zi) {
  float sy, si;
  INGOT_RETURN_IF_ERROR(get_scale(n, in, 0, "Y_scale", &sy));
  INGOT_RETURN_IF_ERROR(get_scale(n, in, i + 1, "X_scale", &si));
  *zi = get_zp(in, nin, i + 2);
  *m = si / sy;
  return NULL;
}

ingot_status ref_eval_qlinear_concat(const ir_node *n, const ir_value *in,
                                     int nin, ir_value *out, int nout) {
  (void)nout;
  const ir_p_axis *p = n->params;
  int64_t zy = get_zp(in, nin, 1), lo, hi;
  ir_dtype t = out[0].dtype;
  qrange(t, &lo, &hi);
  const ir_shape *ys = &out[0].shape;
  int axis;
  INGOT_RETURN_IF_ERROR(ref_axis(n, p->axis, ys->rank, &axis));
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; d++) outer *= ys->dims[d];
  for (int d = axis + 1; d < ys->rank; d++) inner *= ys->dims[d];
  int64_t ychunk = ys->dims[axis] * inner, yoff = 0;
  for (int i = 2; i < nin; i += 3) {
    float m;
    int64_t zi;
    INGOT_RETURN_IF_ERROR(ref_qlinear_concat_q(n, in, nin, i, &m, &zi));
    int64_t chunk = in[i].shape.dims[axis] * inner;
    for (int64_t o = 0; o < outer; o++)
      for (int64_t j = 0; j < chunk; j++) {
        int64_t x = ir_load_i64(t, in[i].data, (size_t)(o * chunk + j));
        float v = (float)(x - zi) * m;
        ir_store_i64(t, out[0].data, (size_t)(o * ychunk + yoff + j),
                     ref_saturate_rne(v, zy, lo, hi));
      }
    yoff += chunk;
  }
  return NULL;
}
