/* quant.c — QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear in
 * the reference interpreter.
 *
 * These define Ingot's int8 conversion (DESIGN.md §5) and follow ONNX
 * bit for bit: quantisation computes x / scale in float32, rounds half to
 * even and saturates, q = clamp(rne(x / s) + zp, qmin, qmax); dequantisation
 * computes float32(x − zp) · s.  Each float step is its own expression, so
 * no FMA contraction can change a result.  Scale and zero point are either
 * per tensor (one element) or per axis (a vector along |axis|), so a tensor
 * is walked as [outer, channels, inner].
 */
#include <math.h>
#include <string.h>

#include "ref.h"

ingot_status ref_parse_quant_axis(ir_graph *g, ir_node_id nid) {
  static const char *const known[] = {"axis", NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, known));
  int64_t axis;
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "axis", 1, &axis));
  ir_p_quant_axis *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  p->axis = axis;
  return NULL;
}

static void qrange(ir_dtype t, int64_t *lo, int64_t *hi) {
  *lo = t == IR_I8 ? -128 : 0;
  *hi = t == IR_I8 ? 127 : 255;
}

/* How scale/zero point map onto the tensor: |outer| x |ch| x |inner|, with
 * channel c using element c of the parameters (ch == 1: per tensor). */
typedef struct q_layout {
  size_t outer, ch, inner;
} q_layout;

/* Checks the scale (input 1) and optional zero point (input 2) against X
 * (input 0).  When |lay| is non-NULL (evaluation) the layout is filled. */
static ingot_status q_check(const ir_node *n, const ir_value *in, int nin,
                            q_layout *lay) {
  const ir_p_quant_axis *p = n->params;
  const ir_shape *x = &in[0].shape, *s = &in[1].shape;
  char a[96], b[96];
  if (!ir_dtype_get(in[1].dtype) || !ir_dtype_get(in[1].dtype)->is_float)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "scale must be a float tensor, not %s",
                         ir_dtype_name(in[1].dtype));
  bool has_zp = ref_has(in, nin, 2);
  /* A scalar and a 1-element vector are both per tensor: ONNX Runtime's
   * quantize_static writes bias DequantizeLinear nodes with a scalar zero
   * point beside a [1] scale. */
  bool one_each = has_zp && ir_shape_is_static(s) &&
                  ir_shape_is_static(&in[2].shape) &&
                  (s->rank == 0 || ir_shape_numel(s) == 1) &&
                  (in[2].shape.rank == 0 || ir_shape_numel(&in[2].shape) == 1);
  if (has_zp && in[2].shape.rank != s->rank && !one_each)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "zero point of shape %s does not match scale of "
                         "shape %s",
                         ir_shape_str(&in[2].shape, a, sizeof a),
                         ir_shape_str(s, b, sizeof b));
  if (has_zp && !one_each && s->rank == 1 && in[2].shape.dims[0] >= 0 &&
      s->dims[0] >= 0 && in[2].shape.dims[0] != s->dims[0])
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "zero point has %lld elements, scale %lld",
                         (long long)in[2].shape.dims[0],
                         (long long)s->dims[0]);
  if (s->rank > 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "scale must be a scalar or a 1-D vector; got shape "
                         "%s",
                         ir_shape_str(s, a, sizeof a));
  bool per_tensor = s->rank == 0 || s->dims[0] == 1;
  int axis = 0;
  if (!per_tensor) {
    INGOT_RETURN_IF_ERROR(ref_axis(n, p->axis, x->rank, &axis));
    if (axis >= x->rank)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "a per-axis scale needs an input of rank >= 1");
    int64_t want = x->dims[axis];
    if (s->dims[0] >= 0 && want >= 0 && s->dims[0] != want)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "scale has %lld elements but axis %d of the input "
                           "%s has %lld",
                           (long long)s->dims[0], axis,
                           ir_shape_str(x, a, sizeof a), (long long)want);
  }
  /* Values, when known (constants: checked at import and build time). */
  const char *sname = n->op == IR_OP_QUANTIZE_LINEAR ? "y_scale" : "x_scale";
  size_t ns = ir_shape_is_static(s) ? ir_shape_numel(s) : 0;
  if (s->rank == 0) ns = 1;
  for (size_t i = 0; in[1].data && i < ns; i++) {
    double v = ir_load_f64(in[1].dtype, in[1].data, i);
    float f = (float)v;
    if (!(f > 0.0f) || !isfinite(f))
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "%s (input 1) element %zu is %g; a scale must be "
                           "positive and finite",
                           sname, i, v);
  }
  if (!lay) return NULL;
  size_t total = ir_shape_numel(x);
  if (per_tensor) {
    lay->outer = 1;
    lay->ch = 1;
    lay->inner = total;
    return NULL;
  }
  lay->outer = 1;
  lay->inner = 1;
  for (int d = 0; d < axis; d++) lay->outer *= (size_t)x->dims[d];
  for (int d = axis + 1; d < x->rank; d++) lay->inner *= (size_t)x->dims[d];
  lay->ch = (size_t)x->dims[axis];
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* QuantizeLinear                                                          */
/*===------------------------------------------------------------------===*/


ingot_status ref_infer_quantize(const ir_node *n, const ir_value *in, int nin,
                                ir_value *out, int nout) {
  static const ir_dtype x_types[] = {IR_F32, IR_I32, IR_F16, IR_BF16,
                                     IR_DT_UNDEF};
  INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 0, x_types));
  if (ref_has(in, nin, 2) && in[2].dtype != IR_U8 && in[2].dtype != IR_I8)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "y_zero_point (input 2) is %s; it must be uint8 or "
                         "int8 (it sets the output type)",
                         ir_dtype_name(in[2].dtype));
  INGOT_RETURN_IF_ERROR(q_check(n, in, nin, NULL));
  out[0].dtype = ref_has(in, nin, 2) ? in[2].dtype : IR_U8;
  out[0].shape = in[0].shape;
  return NULL;
}

/* Quantises x (float32, or int32 converted to float32) with the layout. */
static void quantize(const ir_value *x, const ir_value *scale,
                     const ir_value *zp, const q_layout *lay, ir_value *y) {
  int64_t lo, hi;
  qrange(y->dtype, &lo, &hi);
  for (size_t c = 0; c < lay->ch; c++) {
    float sc = (float)ir_load_f64(scale->dtype, scale->data, c);
    int64_t z = zp ? ir_load_i64(zp->dtype, zp->data, c) : 0;
    for (size_t o = 0; o < lay->outer; o++) {
      size_t base = (o * lay->ch + c) * lay->inner;
      for (size_t i = 0; i < lay->inner; i++) {
        float xv = x->dtype == IR_I32
                       ? (float)((const int32_t *)x->data)[base + i]
                       : (float)ir_load_f64(x->dtype, x->data, base + i);
        float q = xv / sc;
        ir_store_i64(y->dtype, y->data, base + i, ref_saturate_rne(q, z, lo, hi));
      }
    }
  }
}

ingot_status ref_eval_quantize(const ir_node *n, const ir_value *in, int nin,
                               ir_value *out, int nout) {
  q_layout lay;
  INGOT_RETURN_IF_ERROR(q_check(n, in, nin, &lay));
  quantize(&in[0], &in[1], ref_has(in, nin, 2) ? &in[2] : NULL, &lay,
           &out[0]);
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* DequantizeLinear                                                        */
/*===------------------------------------------------------------------===*/

ingot_status ref_infer_dequantize(const ir_node *n, const ir_value *in,
                                  int nin, ir_value *out, int nout) {
  static const ir_dtype x_types[] = {IR_U8, IR_I8, IR_I32, IR_DT_UNDEF};
  INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 0, x_types));
  if (ref_has(in, nin, 2) && in[2].dtype != in[0].dtype)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "x_zero_point (input 2) is %s; it must have x's "
                         "type, %s",
                         ir_dtype_name(in[2].dtype),
                         ir_dtype_name(in[0].dtype));
  INGOT_RETURN_IF_ERROR(q_check(n, in, nin, NULL));
  out[0].dtype = IR_F32;
  out[0].shape = in[0].shape;
  return NULL;
}

ingot_status ref_eval_dequantize(const ir_node *n, const ir_value *in, int nin,
                                 ir_value *out, int nout) {
  q_layout lay;
  INGOT_RETURN_IF_ERROR(q_check(n, in, nin, &lay));
  const ir_value *x = &in[0], *zp = ref_has(in, nin, 2) ? &in[2] : NULL;
  float *y = out[0].data;
  for (size_t c = 0; c < lay.ch; c++) {
    float sc = (float)ir_load_f64(in[1].dtype, in[1].data, c);
    int64_t z = zp ? ir_load_i64(zp->dtype, zp->data, c) : 0;
    for (size_t o = 0; o < lay.outer; o++) {
      size_t base = (o * lay.ch + c) * lay.inner;
      for (size_t i = 0; i < lay.inner; i++) {
        float d = (float)(ir_load_i64(x->dtype, x->data, base + i) - z);
        y[base + i] = d * sc;
      }
    }
  }
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* DynamicQuantizeLinear                                                   */
/*===------------------------------------------------------------------===*/

ingot_status ref_infer_dynamic_quantize(const ir_node *n, const ir_value *in,
                                        int nin, ir_value *out, int nout) {
  static const ir_dtype x_types[] = {IR_F32, IR_DT_UNDEF};
  INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 0, x_types));
  static const ir_dtype types[3] = {IR_U8, IR_F32, IR_U8};
  for (int i = 0; i < nout && i < 3; i++) {
    out[i].dtype = types[i];
    memset(&out[i].shape, 0, sizeof out[i].shape);
  }
  out[0].shape = in[0].shape;
  return NULL;
}

/* uint8 over [min(0, min x), max(0, max x)]: scale = (max − min) / 255 and
 * zero point = saturate(rne(−min / scale)), all in float32.  A tensor of
 * zeros gives scale 0, zero point 0 and y = 0. */
ingot_status ref_eval_dynamic_quantize(const ir_node *n, const ir_value *in,
                                       int nin, ir_value *out, int nout) {
  const float *x = in[0].data;
  size_t cnt = ir_shape_numel(&in[0].shape);
  float mn = 0, mx = 0;
  for (size_t i = 0; i < cnt; i++) {
    if (x[i] < mn) mn = x[i];
    if (x[i] > mx) mx = x[i];
  }
  float range = mx - mn;
  float scale = range / 255.0f;
  int64_t zp = 0;
  if (scale != 0) {
    float zf = (0.0f - mn) / scale;
    zp = ref_saturate_rne(zf, 0, 0, 255);
  }
  if (nout > 1 && out[1].data) *(float *)out[1].data = scale;
  if (nout > 2 && out[2].data) *(uint8_t *)out[2].data = (uint8_t)zp;
  uint8_t *y = out[0].data;
  for (size_t i = 0; i < cnt; i++) {
    float q = scale != 0 ? x[i] / scale : 0.0f;
    y[i] = (uint8_t)ref_saturate_rne(q, zp, 0, 255);
  }
  return NULL;
}
