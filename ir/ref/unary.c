/* unary.c — reference kernels of the unary elementwise ops: the math
 * functions (Abs ... Softsign, Not), the parameterised activations (Elu,
 * Selu, LeakyRelu, HardSigmoid, HardSwish, Gelu), Clip, Identity, Dropout and
 * Cast.
 *
 * Every kernel is written once over all dtypes: floats are computed in
 * double and stored back (ir_store_f64 rounds to the output dtype), integers
 * in int64 (uint64 where the sign matters).  float32, the dtype of real
 * models, gets a direct path over float arrays so calibration over large
 * activations stays fast; its results equal the generic path's.
 *
 * Semantics follow the ONNX numpy references where the spec is silent:
 * Round is half-to-even, Sign keeps NaN and signed zero, Relu/Clip/
 * HardSigmoid propagate NaN, Clip applies min first then max (so min > max
 * yields max, as numpy.clip does).  Integer Abs/Neg wrap like numpy
 * (abs(INT8_MIN) == INT8_MIN).
 */
#include <math.h>
#include <string.h>

#include "ref.h"

/*===------------------------------------------------------------------===*/
/* dtype helpers                                                           */
/*===------------------------------------------------------------------===*/

/* Gelu-20: approximate "none" (erf) or "tanh"; ir_p_activation.alpha is
 * 1 for tanh. */
ingot_status ref_parse_gelu(ir_graph *g, ir_node_id nid) {
  ir_node *n = ref_node(g, nid);
  static const char *const names[] = {"approximate", NULL};
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, names));
  const char *a;
  INGOT_RETURN_IF_ERROR(ir_attr_string(n, "approximate", "none", &a));
  if (strcmp(a, "none") != 0 && strcmp(a, "tanh") != 0)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "approximate is '%s'; Gelu takes 'none' or 'tanh'",
                         a);
  ir_p_activation *p = ref_params_new(g, nid, sizeof *p);
  if (!p)
    return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  p->alpha = strcmp(a, "tanh") == 0 ? 1.0f : 0.0f;
  return NULL;
}

static bool is_float_dt(ir_dtype t) {
  const ir_dtype_info *d = ir_dtype_get(t);
  return d && d->size && d->is_float;
}

static bool is_int_dt(ir_dtype t) {
  const ir_dtype_info *d = ir_dtype_get(t);
  return d && d->size && d->is_int && !d->is_bool;
}

/*===------------------------------------------------------------------===*/
/* Math functions and activations                                          */
/*===------------------------------------------------------------------===*/

/* Which dtype classes each op accepts (ONNX opsets 7..17; Relu takes
 * integers from opset 14, Erf from opset 13; Abs/Neg/Sign take them
 * always). */
enum { UC_FLOAT = 1, UC_INT = 2, UC_BOOL = 4 };

static unsigned unary_classes(ir_op op) {
  switch (op) {
  case IR_OP_NOT:
    return UC_BOOL;
  case IR_OP_ABS:
  case IR_OP_NEG:
  case IR_OP_SIGN:
  case IR_OP_RELU:
  case IR_OP_ERF:
    return UC_FLOAT | UC_INT;
  default:
    return UC_FLOAT;
  }
}

/* Half to even, independent of the floating-point environment. */
static double round_half_even(double x) {
  if (fabs(x - trunc(x)) == 0.5) return 2.0 * round(x / 2.0);
  return round(x);
}

/* Clamps to [0, 1]; NaN passes through. */
static double clamp01(double v) { return v < 0 ? 0 : (v > 1 ? 1 : v); }

/* The float semantics of every unary op but Not. */
static double unary_f(ir_op op, const ir_p_activation *p, double x) {
  switch (op) {
  case IR_OP_ABS: return fabs(x);
  case IR_OP_NEG: return -x;
  case IR_OP_CEIL: return ceil(x);
  case IR_OP_FLOOR: return floor(x);
  case IR_OP_ROUND: return round_half_even(x);
  case IR_OP_SIGN: return x > 0 ? 1.0 : (x < 0 ? -1.0 : x);
  case IR_OP_SQRT: return sqrt(x);
  case IR_OP_EXP: return exp(x);
  case IR_OP_LOG: return log(x);
  case IR_OP_SIN: return sin(x);
  case IR_OP_COS: return cos(x);
  case IR_OP_TANH: return tanh(x);
  case IR_OP_ERF: return erf(x);
  case IR_OP_SIGMOID:
    /* Split so exp never overflows into inf/inf. */
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    return exp(x) / (1.0 + exp(x));
  case IR_OP_RELU: return x < 0 ? 0.0 : x;
  case IR_OP_RECIPROCAL: return 1.0 / x;
  case IR_OP_SOFTPLUS: /* log(1 + exp(x)) without overflow */
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
  case IR_OP_SOFTSIGN: return x / (1.0 + fabs(x));
  case IR_OP_ELU: return x < 0 ? p->alpha * expm1(x) : x;
  case IR_OP_SELU:
    return x <= 0 ? (double)p->gamma * p->alpha * expm1(x) : p->gamma * x;
  case IR_OP_LEAKY_RELU: return x < 0 ? p->alpha * x : x;
  case IR_OP_HARD_SIGMOID: return clamp01(p->alpha * x + p->beta);
  case IR_OP_HARD_SWISH: return x * clamp01(x / 6.0 + 0.5);
  case IR_OP_GELU: /* alpha 1: approximate="tanh" */
    if (p->alpha != 0)
      return 0.5 * x *
             (1.0 + tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x)));
    return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
  default: return x;
  }
}

/* Integer semantics of Abs, Neg, Sign, Relu (the int-capable ops but Erf,
 * which goes through double).  Wraps like numpy: computed in uint64. */
static int64_t unary_i(ir_op op, int64_t v) {
  switch (op) {
  case IR_OP_ABS: return v < 0 ? (int64_t)(0 - (uint64_t)v) : v;
  case IR_OP_NEG: return (int64_t)(0 - (uint64_t)v);
  case IR_OP_SIGN: return (v > 0) - (v < 0);
  case IR_OP_RELU: return v < 0 ? 0 : v;
  default: return v;
  }
}

ingot_status ref_parse_activation(ir_graph *g, ir_node_id nid) {
  ir_node *n = ref_node(g, nid);
  /* consumed_inputs: an opset-1 memory hint with no effect on values. */
  static const char *const names_alpha[] = {"alpha", "consumed_inputs", NULL};
  static const char *const names_selu[] = {"alpha", "gamma",
                                           "consumed_inputs", NULL};
  static const char *const names_hs[] = {"alpha", "beta", "consumed_inputs",
                                         NULL};
  float alpha_dflt = 1.0f;
  const char *const *names = names_alpha;
  switch (n->op) {
  case IR_OP_ELU: alpha_dflt = 1.0f; break;
  case IR_OP_SELU:
    alpha_dflt = 1.67326319217681884765625f;
    names = names_selu;
    break;
  case IR_OP_LEAKY_RELU: alpha_dflt = 0.01f; break;
  case IR_OP_HARD_SIGMOID:
    alpha_dflt = 0.2f;
    names = names_hs;
    break;
  default:
    return ir_node_error(n, INGOT_INTERNAL,
                         "ref_parse_activation used for a foreign op");
  }
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, names));
  ir_p_activation *p = ref_params_new(g, nid, sizeof *p);
  if (!p)
    return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  INGOT_RETURN_IF_ERROR(ir_attr_float(n, "alpha", alpha_dflt, &p->alpha));
  INGOT_RETURN_IF_ERROR(ir_attr_float(n, "beta", 0.5f, &p->beta));
  INGOT_RETURN_IF_ERROR(
      ir_attr_float(n, "gamma", 1.05070102214813232421875f, &p->gamma));
  if (!isfinite(p->alpha) || !isfinite(p->beta) || !isfinite(p->gamma))
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attributes alpha/beta/gamma must be finite");
  return NULL;
}

static ingot_status check_unary_dtype(const ir_node *n, ir_dtype t,
                                      unsigned classes) {
  if ((classes & UC_FLOAT) && is_float_dt(t)) return NULL;
  if ((classes & UC_INT) && is_int_dt(t)) return NULL;
  if ((classes & UC_BOOL) && t == IR_BOOL) return NULL;
  const char *want = classes == UC_BOOL    ? "bool"
                     : classes == UC_FLOAT ? "a float type"
                                           : "a numeric type";
  return ir_node_error(n, INGOT_UNIMPLEMENTED,
                       "input dtype %s is not supported (needs %s)",
                       ir_dtype_name(t), want);
}

ingot_status ref_eval_unary(const ir_node *n, const ir_value *in, int nin,
                            ir_value *out, int nout) {
  const ir_value *x = &in[0];
  ir_value *y = &out[0];
  INGOT_RETURN_IF_ERROR(check_unary_dtype(n, x->dtype, unary_classes(n->op)));
  const ir_p_activation *p = n->params;
  if (!p && (n->op == IR_OP_ELU || n->op == IR_OP_SELU ||
             n->op == IR_OP_LEAKY_RELU || n->op == IR_OP_HARD_SIGMOID ||
             n->op == IR_OP_GELU))
    return ir_node_error(n, INGOT_INTERNAL, "node was not parsed");
  size_t count = ir_shape_numel(&y->shape);
  if (count == 0) return NULL;
  ir_dtype t = x->dtype;

  if (t == IR_BOOL) { /* Not */
    const uint8_t *xs = x->data;
    uint8_t *ys = y->data;
    for (size_t i = 0; i < count; i++) ys[i] = !xs[i];
    return NULL;
  }
  if (t == IR_F32) {
    const float *xs = x->data;
    float *ys = y->data;
    if (n->op == IR_OP_RELU) {
      for (size_t i = 0; i < count; i++) ys[i] = xs[i] < 0 ? 0.0f : xs[i];
    } else {
      for (size_t i = 0; i < count; i++)
        ys[i] = (float)unary_f(n->op, p, xs[i]);
    }
    return NULL;
  }
  if (is_float_dt(t) || n->op == IR_OP_ERF) {
    /* Erf on integers: erf of the value, truncated back (numpy astype). */
    for (size_t i = 0; i < count; i++) {
      double v = ir_load_f64(t, x->data, i);
      ir_store_f64(t, y->data, i, unary_f(n->op, p, v));
    }
    return NULL;
  }
  if (!ir_dtype_get(t)->is_signed && n->op != IR_OP_NEG) {
    /* Unsigned: Abs and Relu are the identity, Sign is 0 or 1. */
    for (size_t i = 0; i < count; i++) {
      uint64_t v = ir_load_u64(t, x->data, i);
      ir_store_u64(t, y->data, i, n->op == IR_OP_SIGN ? (v != 0) : v);
    }
    return NULL;
  }
  for (size_t i = 0; i < count; i++)
    ir_store_i64(t, y->data, i, unary_i(n->op, ir_load_i64(t, x->data, i)));
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Clip                                                                    */
/*===------------------------------------------------------------------===*/

/* Opset < 11 had min/max attributes; they become constant inputs 1 and 2
 * of the input's dtype (float32 when it is not known yet; eval converts
 * bounds of old-opset nodes).  An absent attribute is no bound. */
ingot_status ref_parse_clip(ir_graph *g, ir_node_id nid) {
  ir_node *n = ref_node(g, nid);
  if (n->opset >= 11) return ref_parse_none(g, nid);
  static const char *const names[] = {"min", "max", "consumed_inputs", NULL};
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, names));
  if (n->n_in > 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "Clip-%d takes one input, got %d", n->opset,
                         (int)n->n_in);
  ir_dtype t = n->in[0] ? g->tensors[n->in[0]].dtype : IR_DT_UNDEF;
  if (!is_float_dt(t)) t = IR_F32;
  static const char *const attr[2] = {"min", "max"};
  for (int k = 0; k < 2; k++) {
    if (!ir_attr_find(n, attr[k])) continue;
    float v;
    INGOT_RETURN_IF_ERROR(ir_attr_float(n, attr[k], 0.0f, &v));
    uint64_t buf = 0; /* room for any float dtype, suitably aligned */
    ir_value c = {.dtype = t, .shape = {.rank = 0}, .data = &buf};
    ir_store_f64(t, &buf, 0, v);
    INGOT_RETURN_IF_ERROR(ir_node_set_const_input(g, nid, 1 + k, &c));
    n = ref_node(g, nid);
  }
  return NULL;
}

/* Checks bound input |idx| (scalar; same dtype as X from opset 11). */
static ingot_status clip_bound_check(const ir_node *n, const ir_value *in,
                                     int idx) {
  const ir_value *b = &in[idx];
  if (ir_shape_numel(&b->shape) != 1 || b->shape.rank > 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input %d (%s) must be a scalar", idx,
                         idx == 1 ? "min" : "max");
  if (n->opset >= 11 && b->dtype != in[0].dtype)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input %d (%s) has dtype %s, input 0 has %s", idx,
                         idx == 1 ? "min" : "max", ir_dtype_name(b->dtype),
                         ir_dtype_name(in[0].dtype));
  if (!is_float_dt(b->dtype) && !is_int_dt(b->dtype))
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input %d has non-numeric dtype %s", idx,
                         ir_dtype_name(b->dtype));
  return NULL;
}

ingot_status ref_eval_clip(const ir_node *n, const ir_value *in, int nin,
                           ir_value *out, int nout) {
  const ir_value *x = &in[0];
  ir_value *y = &out[0];
  ir_dtype t = x->dtype;
  INGOT_RETURN_IF_ERROR(check_unary_dtype(n, t, UC_FLOAT | UC_INT));
  bool has_lo = ref_has(in, nin, 1), has_hi = ref_has(in, nin, 2);
  if (has_lo) INGOT_RETURN_IF_ERROR(clip_bound_check(n, in, 1));
  if (has_hi) INGOT_RETURN_IF_ERROR(clip_bound_check(n, in, 2));
  size_t count = ir_shape_numel(&y->shape);
  if (count == 0) return NULL;

  if (is_float_dt(t)) {
    double lo = has_lo ? ir_load_f64(in[1].dtype, in[1].data, 0) : -INFINITY;
    double hi = has_hi ? ir_load_f64(in[2].dtype, in[2].data, 0) : INFINITY;
    if (t == IR_F32) {
      const float *xs = x->data;
      float *ys = y->data;
      float flo = (float)lo, fhi = (float)hi;
      for (size_t i = 0; i < count; i++) {
        float v = xs[i] < flo ? flo : xs[i];
        ys[i] = v > fhi ? fhi : v;
      }
      return NULL;
    }
    for (size_t i = 0; i < count; i++) {
      double v = ir_load_f64(t, x->data, i);
      v = v < lo ? lo : v;
      ir_store_f64(t, y->data, i, v > hi ? hi : v);
    }
    return NULL;
  }
  /* Integers (opset >= 11 only, so bounds have X's dtype). */
  if (n->opset < 11)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "Clip-%d supports float inputs only, not %s",
                         n->opset, ir_dtype_name(t));
  if (t == IR_U64) {
    uint64_t lo = has_lo ? ir_load_u64(t, in[1].data, 0) : 0;
    uint64_t hi = has_hi ? ir_load_u64(t, in[2].data, 0) : UINT64_MAX;
    for (size_t i = 0; i < count; i++) {
      uint64_t v = ir_load_u64(t, x->data, i);
      v = v < lo ? lo : v;
      ir_store_u64(t, y->data, i, v > hi ? hi : v);
    }
    return NULL;
  }
  int64_t lo = has_lo ? ir_load_i64(t, in[1].data, 0) : INT64_MIN;
  int64_t hi = has_hi ? ir_load_i64(t, in[2].data, 0) : INT64_MAX;
  for (size_t i = 0; i < count; i++) {
    int64_t v = ir_load_i64(t, x->data, i);
    v = v < lo ? lo : v;
    ir_store_i64(t, y->data, i, v > hi ? hi : v);
  }
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Identity                                                                */
/*===------------------------------------------------------------------===*/

ingot_status ref_eval_identity(const ir_node *n, const ir_value *in, int nin,
                               ir_value *out, int nout) {
  size_t bytes = ir_value_nbytes(&in[0]);
  if (bytes != ir_value_nbytes(&out[0]))
    return ir_node_error(n, INGOT_INTERNAL, "output size mismatch");
  if (bytes) memcpy(out[0].data, in[0].data, bytes);
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Dropout                                                                 */
/*===------------------------------------------------------------------===*/
/* Ingot implements Dropout's inference semantics: output = input and the
 * optional mask is all true.  Training mode (opset >= 12: input 2 true;
 * opset < 7: is_test = 0) with a ratio > 0 draws a random mask that no
 * implementation reproduces bit for bit, so it is rejected; with ratio 0 it
 * is the identity as well.  Parse turns the old 'ratio'/'is_test'
 * attributes into inputs 1 and 2 so infer and eval see one form. */

ingot_status ref_parse_dropout(ir_graph *g, ir_node_id nid) {
  ir_node *n = ref_node(g, nid);
  static const char *const v12[] = {"seed", NULL};
  static const char *const v7[] = {"ratio", NULL};
  static const char *const v1[] = {"ratio", "is_test", "consumed_inputs",
                                   NULL};
  INGOT_RETURN_IF_ERROR(
      ir_attr_check_known(n, n->opset >= 12 ? v12 : n->opset >= 7 ? v7 : v1));
  ir_p_dropout *p = ref_params_new(g, nid, sizeof *p);
  if (!p)
    return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  if (n->opset >= 12) {
    p->has_seed = ir_attr_find(n, "seed") != NULL;
    return ir_attr_int(n, "seed", 0, &p->seed);
  }
  if (n->n_in > 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "Dropout-%d takes one input, got %d", n->opset,
                         (int)n->n_in);
  float ratio;
  INGOT_RETURN_IF_ERROR(ir_attr_float(n, "ratio", 0.5f, &ratio));
  ir_value r = {.dtype = IR_F32, .shape = {.rank = 0}, .data = &ratio};
  INGOT_RETURN_IF_ERROR(ir_node_set_const_input(g, nid, 1, &r));
  n = ref_node(g, nid);
  int64_t is_test = 1;
  if (n->opset < 7)
    INGOT_RETURN_IF_ERROR(ir_attr_int(n, "is_test", 1, &is_test));
  if (!is_test) {
    uint8_t training = 1;
    ir_value tv = {.dtype = IR_BOOL, .shape = {.rank = 0}, .data = &training};
    INGOT_RETURN_IF_ERROR(ir_node_set_const_input(g, nid, 2, &tv));
  }
  return NULL;
}

/* Validates ratio/training_mode and, when their values are known, rejects
 * random training-mode dropout.  Used by infer (constants) and eval. */
static ingot_status dropout_check(const ir_node *n, const ir_value *in,
                                  int nin) {
  double ratio = 0.5;
  bool ratio_known = true;
  if (ref_has(in, nin, 1)) {
    const ir_value *r = &in[1];
    if (!is_float_dt(r->dtype) || r->shape.rank > 1 ||
        (ir_shape_is_static(&r->shape) && ir_shape_numel(&r->shape) != 1))
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "input 1 (ratio) must be a float scalar, got %s "
                           "of rank %d",
                           ir_dtype_name(r->dtype), r->shape.rank);
    ratio_known = r->data != NULL;
    if (ratio_known) ratio = ir_load_f64(r->dtype, r->data, 0);
    if (ratio_known && !(ratio >= 0 && ratio < 1))
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "ratio %g is outside [0, 1)", ratio);
  }
  if (!ref_has(in, nin, 2)) return NULL;
  const ir_value *t = &in[2];
  if (t->dtype != IR_BOOL || t->shape.rank > 1 ||
      (ir_shape_is_static(&t->shape) && ir_shape_numel(&t->shape) != 1))
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input 2 (training_mode) must be a bool scalar, "
                         "got %s of rank %d",
                         ir_dtype_name(t->dtype), t->shape.rank);
  if (!t->data || !((const uint8_t *)t->data)[0]) return NULL;
  if (ratio_known && ratio == 0) return NULL;
  return ir_node_error(n, INGOT_UNIMPLEMENTED,
                       "training_mode=true with ratio %g: random dropout "
                       "masks cannot be reproduced; only inference (or "
                       "ratio 0) is supported",
                       ratio);
}

ingot_status ref_infer_dropout(const ir_node *n, const ir_value *in, int nin,
                               ir_value *out, int nout) {
  INGOT_RETURN_IF_ERROR(check_unary_dtype(n, in[0].dtype, UC_FLOAT));
  INGOT_RETURN_IF_ERROR(dropout_check(n, in, nin));
  out[0].dtype = in[0].dtype;
  out[0].shape = in[0].shape;
  if (nout > 1) {
    /* The mask was of the input's type before opset 10. */
    out[1].dtype = n->opset < 10 ? in[0].dtype : IR_BOOL;
    out[1].shape = in[0].shape;
  }
  return NULL;
}

ingot_status ref_eval_dropout(const ir_node *n, const ir_value *in, int nin,
                              ir_value *out, int nout) {
  INGOT_RETURN_IF_ERROR(dropout_check(n, in, nin));
  INGOT_RETURN_IF_ERROR(ref_eval_identity(n, in, 1, out, 1));
  if (nout > 1 && out[1].data) {
    size_t count = ir_shape_numel(&out[1].shape);
    if (out[1].dtype == IR_BOOL)
      memset(out[1].data, 1, count);
    else
      for (size_t i = 0; i < count; i++)
        ir_store_f64(out[1].dtype, out[1].data, i, 1.0);
  }
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Cast                                                                    */
/*===------------------------------------------------------------------===*/
/* Conversion between every numeric dtype Ingot supports (float32/64,
 * float16, bfloat16, all integer widths, bool).  Rules (ONNX Cast, opsets 6..17):
 *  - float -> integer truncates toward zero; NaN, infinities and values out
 *    of the target's range are unspecified by ONNX and follow
 *    ir_store_f64 (wrap).
 *  - integer -> integer keeps the low bits (two's complement wrap).
 *  - anything -> bool is "value != 0" (NaN is true); bool -> x is 0 or 1.
 *  - to float16 rounds to nearest even.
 *  - to bfloat16 TRUNCATES the float32 value (keeps its top 16 bits; NaN
 *    stays a quiet NaN).  The ONNX spec of these opsets does not fix the
 *    rounding; truncation is what the ONNX 1.12 reference and its
 *    conformance data do (onnx/backend/test/case/node/cast.py), so Ingot
 *    follows it.  Other ops producing bfloat16 round to nearest even.
 * Strings are rejected with UNIMPLEMENTED.
 */

/* Opset 1 spelled 'to' as a string. */
static const struct {
  const char *name;
  ir_dtype dtype;
} cast_names[] = {
    {"FLOAT", IR_F32},   {"UINT8", IR_U8},      {"INT8", IR_I8},
    {"UINT16", IR_U16},  {"INT16", IR_I16},     {"INT32", IR_I32},
    {"INT64", IR_I64},   {"STRING", IR_STRING}, {"BOOL", IR_BOOL},
    {"FLOAT16", IR_F16}, {"DOUBLE", IR_F64},    {"UINT32", IR_U32},
    {"UINT64", IR_U64},  {"BFLOAT16", IR_BF16},
};

static ingot_status cast_check_dtype(const ir_node *n, ir_dtype t,
                                     const char *what) {
  if (t == IR_STRING)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "Cast %s string is not supported (Ingot has no "
                         "string tensors)",
                         what);
  if (!ir_dtype_supported(t))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "Cast %s %s is not supported", what,
                         ir_dtype_name(t));
  return NULL;
}

ingot_status ref_parse_cast(ir_graph *g, ir_node_id nid) {
  ir_node *n = ref_node(g, nid);
  static const char *const names[] = {"to", NULL};
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, names));
  const ir_attr *a = ir_attr_find(n, "to");
  if (!a)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "required attribute 'to' is missing");
  ir_dtype to = IR_DT_UNDEF;
  if (a->kind == IR_ATTR_STRING) {
    for (size_t i = 0; i < sizeof cast_names / sizeof cast_names[0]; i++)
      if (a->s && strcmp(a->s, cast_names[i].name) == 0)
        to = cast_names[i].dtype;
    if (to == IR_DT_UNDEF)
      return ir_node_error(n, INGOT_UNIMPLEMENTED,
                           "attribute 'to' names unknown type '%s'",
                           a->s ? a->s : "");
  } else {
    int64_t v;
    INGOT_RETURN_IF_ERROR(ir_attr_int(n, "to", 0, &v));
    if (v <= 0 || v >= IR_DT_COUNT)
      return ir_node_error(n, INGOT_UNIMPLEMENTED,
                           "attribute 'to' = %lld is not a supported dtype",
                           (long long)v);
    to = (ir_dtype)v;
  }
  INGOT_RETURN_IF_ERROR(cast_check_dtype(n, to, "to"));
  ir_p_cast *p = ref_params_new(g, nid, sizeof *p);
  if (!p)
    return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  p->to = to;
  return NULL;
}

ingot_status ref_infer_cast(const ir_node *n, const ir_value *in, int nin,
                            ir_value *out, int nout) {
  const ir_p_cast *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "node was not parsed");
  INGOT_RETURN_IF_ERROR(cast_check_dtype(n, in[0].dtype, "from"));
  out[0].dtype = p->to;
  out[0].shape = in[0].shape;
  return NULL;
}

/* float32 -> bfloat16 by truncation (see the file comment). */
static uint16_t f32_to_bf16_trunc(float f) {
  uint32_t bits;
  memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it a NaN */
    return (uint16_t)((bits >> 16) | 0x0040u);
  return (uint16_t)(bits >> 16);
}

ingot_status ref_eval_cast(const ir_node *n, const ir_value *in, int nin,
                           ir_value *out, int nout) {
  const ir_value *x = &in[0];
  ir_value *y = &out[0];
  ir_dtype from = x->dtype, to = y->dtype;
  INGOT_RETURN_IF_ERROR(cast_check_dtype(n, from, "from"));
  INGOT_RETURN_IF_ERROR(cast_check_dtype(n, to, "to"));
  size_t count = ir_shape_numel(&y->shape);
  if (count == 0) return NULL;
  if (from == to) {
    memcpy(y->data, x->data, ir_value_nbytes(x));
    return NULL;
  }
  const ir_dtype_info *fi = ir_dtype_get(from);
  const ir_dtype_info *ti = ir_dtype_get(to);

  if (to == IR_BOOL) {
    uint8_t *ys = y->data;
    for (size_t i = 0; i < count; i++)
      ys[i] = fi->is_float ? ir_load_f64(from, x->data, i) != 0.0
                           : ir_load_i64(from, x->data, i) != 0;
    return NULL;
  }
  if (to == IR_BF16) {
    uint16_t *ys = y->data;
    for (size_t i = 0; i < count; i++) {
      float f;
      if (fi->is_float)
        f = (float)ir_load_f64(from, x->data, i);
      else if (from == IR_U64)
        f = (float)ir_load_u64(from, x->data, i);
      else
        f = (float)ir_load_i64(from, x->data, i);
      ys[i] = f32_to_bf16_trunc(f);
    }
    return NULL;
  }
  if (from == IR_F32 && to == IR_F16) {
    const float *xs = x->data;
    uint16_t *ys = y->data;
    for (size_t i = 0; i < count; i++) ys[i] = ir_f32_to_f16(xs[i]);
    return NULL;
  }
  if (fi->is_float) {
    /* float -> float rounds; float -> int truncates (ir_store_f64). */
    for (size_t i = 0; i < count; i++)
      ir_store_f64(to, y->data, i, ir_load_f64(from, x->data, i));
    return NULL;
  }
  if (ti->is_float) {
    for (size_t i = 0; i < count; i++) {
      double v = from == IR_U64 ? (double)ir_load_u64(from, x->data, i)
                                : (double)ir_load_i64(from, x->data, i);
      ir_store_f64(to, y->data, i, v);
    }
    return NULL;
  }
  /* integer or bool -> integer: keep the low bits. */
  for (size_t i = 0; i < count; i++) {
    if (from == IR_U64)
      ir_store_u64(to, y->data, i, ir_load_u64(from, x->data, i));
    else
      ir_store_i64(to, y->data, i, ir_load_i64(from, x->data, i));
  }
  return NULL;
}
