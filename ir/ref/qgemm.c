/* qgemm.c — com.microsoft QGemm in the reference interpreter.
 *
 * ONNX Runtime's contrib QGemm: inputs A, a_scale, a_zero_point, B,
 * b_scale, b_zero_point, C (optional int32 bias), y_scale (optional),
 * y_zero_point (optional); attributes alpha, transA, transB.  Without
 * y_scale the output is float32, otherwise the quantised type of
 * y_zero_point (uint8 when that is absent).  ONNX Runtime leaves the float
 * arithmetic open; Ingot defines it as DESIGN.md §5 does for every product:
 *
 *   acc[i,j] = Σ_k (a[i,k] − za)·(b[k,j] − zb[j]) + C[i,j]   (int32, wraps)
 *   m[j]     = float32(alpha · sa), then m[j] = float32(m[j] · sb[j])
 *   float output:     y = float32(acc) · m[j]
 *   quantised output: M[j] = m[j] / sy;  y = sat(rne(float32(acc)·M[j]) + zy)
 *
 * each float step its own statement (no FMA contraction).  For alpha = 1
 * this is QLinearMatMul's order exactly (sa·sb, then / sy), so the qdq-fold
 * pass can use either op for a product and get the same bits.  C has scale
 * sa·sb[j] and zero point 0 (it is added before alpha applies, as in ONNX
 * Runtime, which adds the bias to the int32 accumulator).  A and a_scale,
 * a_zero_point are per tensor; b_scale and b_zero_point are per tensor or
 * one per output column (N).  Scales must be positive and finite.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

enum { QG_A, QG_AS, QG_AZ, QG_B, QG_BS, QG_BZ, QG_C, QG_YS, QG_YZ };

ingot_status ref_parse_qgemm(ir_graph *g, ir_node_id nid) {
  static const char *const known[] = {"alpha", "transA", "transB", NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, known));
  float alpha;
  int64_t ta, tb;
  INGOT_RETURN_IF_ERROR(ir_attr_float(n, "alpha", 1.0f, &alpha));
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "transA", 0, &ta));
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "transB", 0, &tb));
  if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1))
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "transA and transB must be 0 or 1 (got %lld, %lld)",
                         (long long)ta, (long long)tb);
  if (!isfinite(alpha) || alpha == 0.0f)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "alpha is %g; it must be finite and non-zero",
                         (double)alpha);
  ir_p_gemm *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  p->alpha = alpha;
  p->beta = 1.0f;
  p->trans_a = ta != 0;
  p->trans_b = tb != 0;
  return NULL;
}

static const char *const qg_names[] = {
    "A", "a_scale", "a_zero_point", "B", "b_scale", "b_zero_point",
    "C", "y_scale", "y_zero_point"};

/* A scale or zero point: one value, or (|per_col|) |cols| values. */
static ingot_status check_param(const ir_node *n, const ir_value *in, int idx,
                                int64_t cols) {
  const ir_shape *s = &in[idx].shape;
  if (!ir_shape_is_static(s)) return NULL;
  size_t cnt = ir_shape_numel(s);
  bool ok = cnt == 1 || (cols >= 0 && s->rank == 1 && s->dims[0] == cols);
  if (ok) return NULL;
  char b[96];
  if (cols < 0)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "%s (input %d) has shape %s; it must hold one value "
                         "(per tensor)",
                         qg_names[idx], idx, ir_shape_str(s, b, sizeof b));
  return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                       "%s (input %d) has shape %s; it must hold one value or "
                       "one per output column (%lld)",
                       qg_names[idx], idx, ir_shape_str(s, b, sizeof b),
                       (long long)cols);
}

ingot_status ref_infer_qgemm(const ir_node *n, const ir_value *in, int nin,
                             ir_value *out, int nout) {
  (void)nout;
  static const ir_dtype q8[] = {IR_U8, IR_I8, IR_DT_UNDEF};
  static const ir_dtype f32[] = {IR_F32, IR_DT_UNDEF};
  static const ir_dtype i32[] = {IR_I32, IR_DT_UNDEF};
  INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, QG_A, q8));
  INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, QG_B, q8));
  INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, QG_AS, f32));
  INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, QG_BS, f32));
  INGOT_RETURN_IF_ERROR(ref_same_dtype(n, in, QG_A, QG_AZ));
  INGOT_RETURN_IF_ERROR(ref_same_dtype(n, in, QG_B, QG_BZ));
  int64_t m, k, nn;
  INGOT_RETURN_IF_ERROR(
      ref_gemm_dims(n, &in[QG_A].shape, &in[QG_B].shape, &m, &k, &nn));
  INGOT_RETURN_IF_ERROR(check_param(n, in, QG_AS, -1));
  INGOT_RETURN_IF_ERROR(check_param(n, in, QG_AZ, -1));
  INGOT_RETURN_IF_ERROR(check_param(n, in, QG_BS, nn));
  INGOT_RETURN_IF_ERROR(check_param(n, in, QG_BZ, nn));
  out[0].shape.rank = 2;
  out[0].shape.dims[0] = m;
  out[0].shape.dims[1] = nn;
  if (ref_has(in, nin, QG_C)) {
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, QG_C, i32));
    const ir_shape *c = &in[QG_C].shape;
    bool ok = c->rank <= 2;
    for (int d = 0; ok && d < c->rank; d++) {
      int64_t cd = c->dims[d], yd = out[0].shape.dims[2 - c->rank + d];
      if (cd >= 0 && yd >= 0 && cd != 1 && cd != yd) ok = false;
    }
    if (!ok) {
      char sc[96], sy[96];
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "C of shape %s does not broadcast to the %s result",
                           ir_shape_str(c, sc, sizeof sc),
                           ir_shape_str(&out[0].shape, sy, sizeof sy));
    }
  }
  bool ys = ref_has(in, nin, QG_YS), yz = ref_has(in, nin, QG_YZ);
  if (yz && !ys)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "y_zero_point is given without y_scale");
  if (ys) {
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, QG_YS, f32));
    INGOT_RETURN_IF_ERROR(check_param(n, in, QG_YS, -1));
  }
  if (yz) {
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, QG_YZ, q8));
    INGOT_RETURN_IF_ERROR(check_param(n, in, QG_YZ, -1));
  }
  out[0].dtype = !ys ? IR_F32 : yz ? in[QG_YZ].dtype : IR_U8;
  return NULL;
}

static ingot_status scale_at(const ir_node *n, const ir_value *in, int idx,
                             size_t i, float *out) {
  float s = ((const float *)in[idx].data)[ir_shape_numel(&in[idx].shape) == 1
                                              ? 0
                                              : i];
  if (!(s > 0.0f) || !isfinite(s))
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "%s (input %d) holds %g; a scale must be positive "
                         "and finite",
                         qg_names[idx], idx, (double)s);
  *out = s;
  return NULL;
}

ingot_status ref_eval_qgemm(const ir_node *n, const ir_value *in, int nin,
                            ir_value *out, int nout) {
  (void)nout;
  const ir_p_gemm *p = n->params;
  int64_t m, k, nn;
  INGOT_RETURN_IF_ERROR(
      ref_gemm_dims(n, &in[QG_A].shape, &in[QG_B].shape, &m, &k, &nn));
  if (m == 0 || nn == 0) return NULL;
  ir_value *y = &out[0];
  bool quant_out = ref_has(in, nin, QG_YS);
  float sa, sy = 1.0f;
  INGOT_RETURN_IF_ERROR(scale_at(n, in, QG_AS, 0, &sa));
  if (quant_out) INGOT_RETURN_IF_ERROR(scale_at(n, in, QG_YS, 0, &sy));
  /* Per-column multipliers, in the order the header gives. */
  float *mul = malloc((size_t)nn * sizeof *mul);
  if (!mul) return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  ingot_status s = NULL;
  for (int64_t j = 0; !s && j < nn; j++) {
    float sb;
    s = scale_at(n, in, QG_BS, (size_t)j, &sb);
    float mj = p->alpha * sa;
    mj = mj * sb;
    if (quant_out) mj = mj / sy;
    mul[j] = mj;
  }
  if (s) {
    free(mul);
    return s;
  }
  const ir_value *a = &in[QG_A], *b = &in[QG_B];
  int64_t za = ir_load_i64(in[QG_AZ].dtype, in[QG_AZ].data, 0);
  bool zb_per_col = ir_shape_numel(&in[QG_BZ].shape) != 1;
  const ir_value *c = ref_has(in, nin, QG_C) ? &in[QG_C] : NULL;
  int64_t cs[IR_MAX_RANK] = {0};
  if (c) ref_bcast_strides(&c->shape, &y->shape, cs);
  int64_t zy = 0, lo = 0, hi = 0;
  if (quant_out) {
    zy = ref_has(in, nin, QG_YZ)
             ? ir_load_i64(in[QG_YZ].dtype, in[QG_YZ].data, 0)
             : 0;
    lo = y->dtype == IR_I8 ? -128 : 0;
    hi = y->dtype == IR_I8 ? 127 : 255;
  }
  /* Stored A is [M,K] or [K,M]; B is [K,N] or [N,K]. */
  int64_t ars = p->trans_a ? 1 : k, acs = p->trans_a ? m : 1;
  int64_t brs = p->trans_b ? 1 : nn, bcs = p->trans_b ? k : 1;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < nn; j++) {
      int64_t zb = ir_load_i64(in[QG_BZ].dtype, in[QG_BZ].data,
                               zb_per_col ? (size_t)j : 0);
      uint32_t acc = 0; /* int32 arithmetic that wraps */
      for (int64_t kk = 0; kk < k; kk++) {
        int64_t av = ir_load_i64(a->dtype, a->data, (size_t)(i * ars + kk * acs));
        int64_t bv = ir_load_i64(b->dtype, b->data, (size_t)(kk * brs + j * bcs));
        acc += (uint32_t)((av - za) * (bv - zb));
      }
      if (c)
        acc += (uint32_t)((const int32_t *)c->data)[i * cs[0] + j * cs[1]];
      float v = (float)(int32_t)acc * mul[j];
      size_t o = (size_t)(i * nn + j);
      if (quant_out)
        ir_store_i64(y->dtype, y->data, o, ref_saturate_rne(v, zy, lo, hi));
      else
        ((float *)y->data)[o] = v;
    }
  free(mul);
  return NULL;
}
