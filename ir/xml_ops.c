/* xml_ops.c — OpenVINO opset layers -> Ingot nodes.
 *
 * One function per layer family, found through a table by type name.  Each
 * builds nodes of opset XI_OPSET (where every input form used here is
 * native) with xi_node, and sets raw attributes, which the op's parse
 * function then checks like any ONNX attribute.  Where OpenVINO has no
 * single Ingot op the layer is decomposed into existing ops, following the
 * opset specification's formula (Gelu, Swish, Mish, MVN, FakeQuantize,
 * ScaledDotProductAttention, SquaredDifference, ...).  FakeQuantize with
 * equal input and output ranges and 256 levels becomes QuantizeLinear +
 * DequantizeLinear and the quantised tensor carries ir_quant parameters,
 * which is how explicit quantisation reaches the rest of Ingot.
 *
 * Shapes are taken from the layer's ports when a mapping needs them at
 * import time (a MatMul transpose, a GroupConvolution weight reshape);
 * values from Const inputs (Transpose order, StridedSlice bounds).  What a
 * mapping cannot express is refused with UNIMPLEMENTED naming the layer
 * and the attribute, never approximated silently.  docs/xml-ir.md is the
 * table of what maps to what.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xml_internal.h"

#define OPSET_OF(L)                                                            \
  (strncmp((L)->version, "opset", 5) ? 0 : atoi((L)->version + 5))

static ingot_status oom(void) {
  return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
}

/* The output tensor |k|, made up when the port is unused. */
static ingot_status out_t(xi *im, const xi_layer *L, const ir_tensor_id *out,
                          int k, ir_tensor_id *t) {
  if (k < L->n_out && out[k]) {
    *t = out[k];
    return NULL;
  }
  return xi_tmp(im, L, "unused", t);
}

static ingot_status need_inputs(const xi_layer *L, int lo, int hi) {
  if (L->n_in < lo || L->n_in > hi)
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "has %d inputs; the layer takes %d to %d", L->n_in, lo, hi);
  if (L->n_out < 1)
    return xi_error(L, INGOT_INVALID_ARGUMENT, "has no output port");
  return NULL;
}

/* One node |op| on inputs |in| to output 0 (a fresh tensor when |y| is
 * NULL, else *y). */
static ingot_status node1(xi *im, const xi_layer *L, ir_op op, const char *name,
                          const ir_tensor_id *in, int nin, ir_tensor_id *y,
                          ir_node_id *nid) {
  if (!*y) INGOT_RETURN_IF_ERROR(xi_tmp(im, L, ir_op_get(op)->name, y));
  return xi_node(im, L, op, name, in, nin, y, 1, nid);
}

static ingot_status bin(xi *im, const xi_layer *L, ir_op op, ir_tensor_id a,
                        ir_tensor_id b, ir_tensor_id *y) {
  ir_tensor_id in[2] = {a, b};
  return node1(im, L, op, NULL, in, 2, y, NULL);
}

static ingot_status un(xi *im, const xi_layer *L, ir_op op, ir_tensor_id a,
                       ir_tensor_id *y) {
  return node1(im, L, op, NULL, &a, 1, y, NULL);
}

/* The dtype of input |k|: the tensor's when known, else the port's. */
static ir_dtype in_dt(const xi *im, const xi_layer *L, const ir_tensor_id *in,
                      int k) {
  ir_dtype t = in[k] ? im->g->tensors[in[k]].dtype : IR_DT_UNDEF;
  return t != IR_DT_UNDEF ? t : L->in[k].dt;
}

/* Input |k| as int64 (ONNX wants int64 shapes and axes): a Cast when the
 * port says int32. */
static ingot_status as_i64(xi *im, const xi_layer *L, const ir_tensor_id *in,
                           int k, ir_tensor_id *out) {
  ir_dtype t = in_dt(im, L, in, k);
  if (t == IR_I64 || t == IR_DT_UNDEF) {
    *out = in[k];
    return NULL;
  }
  *out = 0;
  ir_node_id nid;
  INGOT_RETURN_IF_ERROR(node1(im, L, IR_OP_CAST, NULL, &in[k], 1, out, &nid));
  return xi_attr_int(im, nid, "to", IR_I64);
}

/* The integer values of constant input |k|. */
static ingot_status const_ints(const xi *im, const xi_layer *L,
                               const ir_tensor_id *in, int k, int64_t *v,
                               int cap, int *count) {
  const ir_tensor *t = k < L->n_in ? xi_const_tensor(im, in[k]) : NULL;
  if (!t)
    return xi_error(L, INGOT_UNIMPLEMENTED,
                    "input %d must be a constant (a Const layer)", k);
  const ir_dtype_info *ti = ir_dtype_get(t->dtype);
  if (!ti || !ti->is_int || t->shape.rank > 1)
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "input %d must be an integer scalar or list", k);
  size_t n = ir_shape_numel(&t->shape);
  if (t->shape.rank == 1 && t->shape.dims[0] == 0) n = 0;
  if (n > (size_t)cap)
    return xi_error(L, INGOT_OUT_OF_RANGE, "input %d has more than %d values",
                    k, cap);
  for (size_t i = 0; i < n; i++) v[i] = ir_load_i64(t->dtype, t->data, i);
  *count = (int)n;
  return NULL;
}

/* Float scalar value of constant input |k| (first element). */
static bool const_scalar(const xi *im, const ir_tensor_id *in, int k,
                         double *v) {
  const ir_tensor *t = xi_const_tensor(im, in[k]);
  if (!t || !ir_dtype_get(t->dtype) || ir_shape_numel(&t->shape) < 1)
    return false;
  *v = ir_load_f64(t->dtype, t->data, 0);
  return true;
}

/* "1,0,1" per-axis masks (missing: all zero). */
static ingot_status mask(xi *im, const xi_layer *L, const char *name,
                         int64_t *m, int *count) {
  memset(m, 0, IR_MAX_RANK * 2 * sizeof *m);
  INGOT_RETURN_IF_ERROR(
      xi_data_ints(im, L, name, false, m, IR_MAX_RANK * 2, count));
  if (*count < 0) *count = 0;
  return NULL;
}

/*===--- elementwise --------------------------------------------------===*/

static const struct {
  const char *type;
  ir_op op;
} direct_unary[] = {
    {"ReLU", IR_OP_RELU},         {"Relu", IR_OP_RELU},
    {"Sigmoid", IR_OP_SIGMOID},   {"Tanh", IR_OP_TANH},
    {"Exp", IR_OP_EXP},           {"Log", IR_OP_LOG},
    {"Sqrt", IR_OP_SQRT},         {"Abs", IR_OP_ABS},
    {"Negative", IR_OP_NEG},      {"Floor", IR_OP_FLOOR},
    {"Ceiling", IR_OP_CEIL},      {"Erf", IR_OP_ERF},
    {"Sin", IR_OP_SIN},           {"Cos", IR_OP_COS},
    {"Sign", IR_OP_SIGN},         {"HSwish", IR_OP_HARD_SWISH},
    {"LogicalNot", IR_OP_NOT},    {"SoftPlus", IR_OP_SOFTPLUS},
    {"SoftSign", IR_OP_SOFTSIGN},
};

static const struct {
  const char *type;
  ir_op op;
} direct_binary[] = {
    {"Add", IR_OP_ADD},
    {"Subtract", IR_OP_SUB},
    {"Multiply", IR_OP_MUL},
    {"Divide", IR_OP_DIV},
    {"Power", IR_OP_POW},
    {"Maximum", IR_OP_MAX},
    {"Minimum", IR_OP_MIN},
    {"Equal", IR_OP_EQUAL},
    {"Greater", IR_OP_GREATER},
    {"GreaterEqual", IR_OP_GREATER_OR_EQUAL},
    {"Less", IR_OP_LESS},
    {"LessEqual", IR_OP_LESS_OR_EQUAL},
    {"LogicalAnd", IR_OP_AND},
    {"LogicalOr", IR_OP_OR},
    {"LogicalXor", IR_OP_XOR},
    {"NotEqual", IR_OP_EQUAL},
    {"SquaredDifference", IR_OP_SUB},
    {"Select", IR_OP_WHERE},
};

static ingot_status check_broadcast(xi *im, const xi_layer *L) {
  const char *b;
  INGOT_RETURN_IF_ERROR(xi_data_str(im, L, "auto_broadcast", "numpy", &b));
  if (strcasecmp(b, "numpy") && strcasecmp(b, "none"))
    return xi_error(L, INGOT_UNIMPLEMENTED,
                    "auto_broadcast='%s' is not supported (numpy and none "
                    "are)",
                    b);
  return NULL;
}

static ingot_status map_binary(xi *im, const xi_layer *L, ir_op op,
                               const ir_tensor_id *in,
                               const ir_tensor_id *out) {
  bool sel = op == IR_OP_WHERE;
  INGOT_RETURN_IF_ERROR(need_inputs(L, sel ? 3 : 2, sel ? 3 : 2));
  INGOT_RETURN_IF_ERROR(check_broadcast(im, L));
  ir_tensor_id y;
  INGOT_RETURN_IF_ERROR(out_t(im, L, out, 0, &y));
  if (op == IR_OP_DIV) {
    bool py;
    INGOT_RETURN_IF_ERROR(xi_data_bool(im, L, "m_pythondiv", true, &py));
    const ir_dtype_info *ti = ir_dtype_get(in_dt(im, L, in, 0));
    if (py && ti && ti->is_int && ti->is_signed)
      return xi_error(L, INGOT_UNIMPLEMENTED,
                      "integer Divide with m_pythondiv=true (floor "
                      "division) is not supported");
  }
  if (!strcmp(L->type, "NotEqual")) {
    ir_tensor_id e = 0;
    INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_EQUAL, in[0], in[1], &e));
    return node1(im, L, IR_OP_NOT, L->name, &e, 1, &y, NULL);
  }
  if (!strcmp(L->type, "SquaredDifference")) {
    ir_tensor_id d = 0;
    INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_SUB, in[0], in[1], &d));
    ir_tensor_id dd[2] = {d, d};
    return node1(im, L, IR_OP_MUL, L->name, dd, 2, &y, NULL);
  }
  return node1(im, L, op, L->name, in, sel ? 3 : 2, &y, NULL);
}

static ingot_status map_clamp(xi *im, const xi_layer *L, const ir_tensor_id *in,
                              const ir_tensor_id *out) {
  INGOT_RETURN_IF_ERROR(need_inputs(L, 1, 1));
  double lo, hi;
  INGOT_RETURN_IF_ERROR(xi_data_float(im, L, "min", true, 0, &lo));
  INGOT_RETURN_IF_ERROR(xi_data_float(im, L, "max", true, 0, &hi));
  ir_dtype dt = in_dt(im, L, in, 0);
  const ir_dtype_info *ti = ir_dtype_get(dt);
  if (!ti || !ti->is_float)
    return xi_error(L, INGOT_UNIMPLEMENTED,
                    "Clamp of %s is not supported (float types are)",
                    ir_dtype_name(dt));
  ir_tensor_id c[3] = {in[0], 0, 0}, y;
  INGOT_RETURN_IF_ERROR(xi_const_scalar(im, L, "min", dt, lo, &c[1]));
  INGOT_RETURN_IF_ERROR(xi_const_scalar(im, L, "max", dt, hi, &c[2]));
  INGOT_RETURN_IF_ERROR(out_t(im, L, out, 0, &y));
  return node1(im, L, IR_OP_CLIP, L->name, c, 3, &y, NULL);
}

/* Gelu, Swish, Mish, HSigmoid, Elu, Selu, PRelu, Round. */
static ingot_status map_activation(xi *im, const xi_layer *L,
                                   const ir_tensor_id *in,
                                   const ir_tensor_id *out) {
  const char *ty = L->type;
  bool two = !strcmp(ty, "PRelu");
  bool three = !strcmp(ty, "Selu");
  bool swish = !strcmp(ty, "Swish");
  INGOT_RETURN_IF_ERROR(need_inputs(L, 1, three ? 3 : two ? 2 : swish ? 2 : 1));
  ir_dtype dt = in_dt(im, L, in, 0);
  ir_tensor_id x = in[0], y;
  INGOT_RETURN_IF_ERROR(out_t(im, L, out, 0, &y));
  ir_node_id nid;
  if (!strcmp(ty, "Gelu")) {
    const char *mode = "erf";
    if (OPSET_OF(L) >= 7)
      INGOT_RETURN_IF_ERROR(
          xi_data_str(im, L, "approximation_mode", "erf", &mode));
    ir_tensor_id half, one, t1 = 0, t2 = 0, t3 = 0, t4 = 0;
    INGOT_RETURN_IF_ERROR(xi_const_scalar(im, L, "half", dt, 0.5, &half));
    INGOT_RETURN_IF_ERROR(xi_const_scalar(im, L, "one", dt, 1.0, &one));
    if (!strcasecmp(mode, "erf")) {
      /* 0.5 * x * (1 + erf(x / sqrt(2))), in the order ONNX exporters use */
      ir_tensor_id r2;
      INGOT_RETURN_IF_ERROR(
          xi_const_scalar(im, L, "sqrt2", dt, sqrt(2.0), &r2));
      INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_DIV, x, r2, &t1));
      INGOT_RETURN_IF_ERROR(un(im, L, IR_OP_ERF, t1, &t2));
    } else if (!strcasecmp(mode, "tanh")) {
      /* 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))) */
      ir_tensor_id three_c, k, c, p = 0, q = 0, r = 0;
      INGOT_RETURN_IF_ERROR(xi_const_scalar(im, L, "three", dt, 3.0, &three_c));
      INGOT_RETURN_IF_ERROR(xi_const_scalar(im, L, "k", dt, 0.044715, &k));
      INGOT_RETURN_IF_ERROR(xi_const_scalar(
          im, L, "c", dt, sqrt(2.0 / 3.14159265358979323846), &c));
      INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_POW, x, three_c, &p));
      INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_MUL, p, k, &q));
      INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_ADD, x, q, &r));
      INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_MUL, r, c, &t1));
      INGOT_RETURN_IF_ERROR(un(im, L, IR_OP_TANH, t1, &t2));
    } else {
      return xi_error(L, INGOT_UNIMPLEMENTED,
                      "approximation_mode '%s' is not supported", mode);
    }
    INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_ADD, t2, one, &t3));
    INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_MUL, x, t3, &t4));
    ir_tensor_id ab[2] = {t4, half};
    return node1(im, L, IR_OP_MUL, L->name, ab, 2, &y, NULL);
  }
  if (swish) { /* x * sigmoid(beta * x) */
    ir_tensor_id bx = x, s = 0;
    if (L->n_in > 1) {
      bx = 0;
      INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_MUL, x, in[1], &bx));
    }
    INGOT_RETURN_IF_ERROR(un(im, L, IR_OP_SIGMOID, bx, &s));
    ir_tensor_id ab[2] = {x, s};
    return node1(im, L, IR_OP_MUL, L->name, ab, 2, &y, NULL);
  }
  if (!strcmp(ty, "Mish")) { /* x * tanh(softplus(x)) */
    ir_tensor_id sp = 0, th = 0;
    INGOT_RETURN_IF_ERROR(un(im, L, IR_OP_SOFTPLUS, x, &sp));
    INGOT_RETURN_IF_ERROR(un(im, L, IR_OP_TANH, sp, &th));
    ir_tensor_id ab[2] = {x, th};
    return node1(im, L, IR_OP_MUL, L->name, ab, 2, &y, NULL);
  }
  if (!strcmp(ty, "HSigmoid")) { /* min(max(x + 3, 0), 6) / 6 */
    INGOT_RETURN_IF_ERROR(
        node1(im, L, IR_OP_HARD_SIGMOID, L->name, &x, 1, &y, &nid));
    INGOT_RETURN_IF_ERROR(xi_attr_float(im, nid, "alpha", 1.0f / 6.0f));
    return xi_attr_float(im, nid, "beta", 0.5f);
  }
  if (!strcmp(ty, "Elu")) {
    double alpha;
    INGOT_RETURN_IF_ERROR(xi_data_float(im, L, "alpha", true, 1, &alpha));
    INGOT_RETURN_IF_ERROR(node1(im, L, IR_OP_ELU, L->name, &x, 1, &y, &nid));
    return xi_attr_float(im, nid, "alpha", (float)alpha);
  }
  if (three) {
    double alpha, lambda;
    if (!const_scalar(im, in, 1, &alpha) || !const_scalar(im, in, 2, &lambda))
      return xi_error(L, INGOT_UNIMPLEMENTED,
                      "Selu needs constant alpha and lambda");
    INGOT_RETURN_IF_ERROR(node1(im, L, IR_OP_SELU, L->name, &x, 1, &y, &nid));
    INGOT_RETURN_IF_ERROR(xi_attr_float(im, nid, "alpha", (float)alpha));
    return xi_attr_float(im, nid, "gamma", (float)lambda);
  }
  if (two) {
    /* OpenVINO applies a 1-D slope along the channel axis (1); ONNX
     * broadcasts from the right: reshape a constant slope to [C,1,...]. */
    ir_tensor_id slope = in[1];
    const ir_tensor *st = xi_const_tensor(im, slope);
    int xr = L->in[0].rank;
    if (st && st->shape.rank == 1 && xr > 2 && st->shape.dims[0] > 1) {
      ir_value v;
      ir_tensor_as_value(st, &v);
      for (int d = 1; d < xr - 1; d++) v.shape.dims[v.shape.rank++] = 1;
      INGOT_RETURN_IF_ERROR(xi_const(im, L, "slope", &v, &slope));
    } else if (!st && L->in[1].rank == 1 && xr > 2) {
      return xi_error(L, INGOT_UNIMPLEMENTED,
                      "a non-constant 1-D PRelu slope is not supported");
    }
    ir_tensor_id ab[2] = {x, slope};
    return node1(im, L, IR_OP_PRELU, L->name, ab, 2, &y, NULL);
  }
  if (!strcmp(ty, "Round")) {
    const char *mode;
    INGOT_RETURN_IF_ERROR(xi_data_str(im, L, "mode", "half_to_even", &mode));
    if (strcasecmp(mode, "half_to_even"))
      return xi_error(L, INGOT_UNIMPLEMENTED,
                      "Round mode '%s' is not supported (half_to_even is)",
                      mode);
    return node1(im, L, IR_OP_ROUND, L->name, &x, 1, &y, NULL);
  }
  return xi_error(L, INGOT_INTERNAL, "no activation mapping");
}

/*===--- convolution and pooling --------------------------------------===*/

/* strides/dilations/pads/auto_pad shared by convolutions and pools. */
static ingot_status conv_attrs(xi *im, const xi_layer *L, ir_node_id nid,
                               int ns, bool dil, bool pool) {
  int64_t v[IR_MAX_RANK * 2];
  int c;
  const char *ap;
  INGOT_RETURN_IF_ERROR(xi_data_str(im, L, "auto_pad", "explicit", &ap));
  const char *onnx_ap = !strcasecmp(ap, "explicit") || !strcasecmp(ap, "notset")
                            ? "NOTSET"
                        : !strcasecmp(ap, "valid")      ? "VALID"
                        : !strcasecmp(ap, "same_upper") ? "SAME_UPPER"
                        : !strcasecmp(ap, "same_lower") ? "SAME_LOWER"
                                                        : NULL;
  if (!onnx_ap)
    return xi_error(L, INGOT_INVALID_ARGUMENT, "auto_pad '%s' is unknown", ap);
  INGOT_RETURN_IF_ERROR(xi_attr_str(im, nid, "auto_pad", onnx_ap));
  INGOT_RETURN_IF_ERROR(
      xi_data_ints(im, L, "strides", !pool || true, v, IR_MAX_RANK, &c));
  if (c != ns)
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "strides has %d values for %d spatial axes", c, ns);
  INGOT_RETURN_IF_ERROR(xi_attr_ints(im, nid, "strides", v, c));
  if (dil) {
    INGOT_RETURN_IF_ERROR(
        xi_data_ints(im, L, "dilations", false, v, IR_MAX_RANK, &c));
    if (c >= 0) {
      if (c != ns)
        return xi_error(L, INGOT_INVALID_ARGUMENT,
                        "dilations has %d values for %d spatial axes", c, ns);
      INGOT_RETURN_IF_ERROR(xi_attr_ints(im, nid, "dilations", v, c));
    }
  }
  if (strcmp(onnx_ap, "NOTSET")) return NULL;
  int cb, ce;
  INGOT_RETURN_IF_ERROR(
      xi_data_ints(im, L, "pads_begin", false, v, IR_MAX_RANK, &cb));
  INGOT_RETURN_IF_ERROR(
      xi_data_ints(im, L, "pads_end", false, v + ns, IR_MAX_RANK, &ce));
  if (cb < 0 && ce < 0) return NULL;
  if (cb != ns || ce != ns)
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "pads_begin/pads_end need %d values each", ns);
  return xi_attr_ints(im, nid, "pads", v, 2 * ns);
}

/* Merges the first two dims of a (G, O/G, ...) weight into one. */
static ingot_status merge_group(xi *im, const xi_layer *L, ir_tensor_id w,
                                int64_t *groups, ir_tensor_id *out) {
  const xi_port *p = &L->in[1];
  const ir_tensor *wt = xi_const_tensor(im, w);
  ir_shape s;
  if (wt)
    s = wt->shape;
  else {
    s.rank = p->rank;
    memcpy(s.dims, p->dims, sizeof s.dims);
  }
  if (s.rank < 3)
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "grouped weights need rank >= 3, got %d", s.rank);
  for (int d = 0; d < s.rank; d++)
    if (s.dims[d] < 0 && d != 0 && d != 1)
      return xi_error(L, INGOT_UNIMPLEMENTED,
                      "grouped weights need static dims");
  if (s.dims[0] < 0 || s.dims[1] < 0)
    return xi_error(L, INGOT_UNIMPLEMENTED, "grouped weights need static dims");
  *groups = s.dims[0];
  ir_shape m = {.rank = s.rank - 1};
  m.dims[0] = s.dims[0] * s.dims[1];
  for (int d = 2; d < s.rank; d++) m.dims[d - 1] = s.dims[d];
  if (wt) {
    ir_value v;
    ir_tensor_as_value(wt, &v);
    v.shape = m;
    return xi_const(im, L, "weights", &v, out);
  }
  ir_tensor_id shp, in2[2];
  INGOT_RETURN_IF_ERROR(
      xi_const_i64(im, L, "weights_shape", m.dims, m.rank, false, &shp));
  in2[0] = w;
  in2[1] = shp;
  *out = 0;
  return node1(im, L, IR_OP_RESHAPE, NULL, in2, 2, out, NULL);
}

static ingot_status map_conv(xi *im, const xi_layer *L, const ir_tensor_id *in,
                             const ir_tensor_id *out) {
  bool grouped = strstr(L->type, "Group") != NULL;
  bool back = strstr(L->type, "BackpropData") != NULL;
  INGOT_RETURN_IF_ERROR(need_inputs(L, 2, back ? 3 : 2));
  if (back && L->n_in == 3)
    return xi_error(L, INGOT_UNIMPLEMENTED,
                    "the output_shape input is not supported");
  ir_tensor_id w = in[1], y;
  int64_t groups = 1;
  if (grouped) INGOT_RETURN_IF_ERROR(merge_group(im, L, in[1], &groups, &w));
  int wr = L->in[1].rank - (grouped ? 1 : 0);
  if (L->in[0].rank >= 3) wr = L->in[0].rank;
  int ns = wr - 2;
  if (ns < 1)
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "input rank %d: needs a batch, channel and spatial dims",
                    L->in[0].rank);
  INGOT_RETURN_IF_ERROR(out_t(im, L, out, 0, &y));
  ir_tensor_id ins[2] = {in[0], w};
  ir_node_id nid;
  INGOT_RETURN_IF_ERROR(node1(im, L, back ? IR_OP_CONV_TRANSPOSE : IR_OP_CONV,
                              L->name, ins, 2, &y, &nid));
  if (groups != 1) INGOT_RETURN_IF_ERROR(xi_attr_int(im, nid, "group", groups));
  INGOT_RETURN_IF_ERROR(conv_attrs(im, L, nid, ns, true, false));
  if (back) {
    int64_t v[IR_MAX_RANK];
    int c;
    INGOT_RETURN_IF_ERROR(
        xi_data_ints(im, L, "output_padding", false, v, IR_MAX_RANK, &c));
    if (c > 0)
      INGOT_RETURN_IF_ERROR(xi_attr_ints(im, nid, "output_padding", v, c));
  }
  return NULL;
}

static ingot_status map_pool(xi *im, const xi_layer *L, const ir_tensor_id *in,
                             const ir_tensor_id *out) {
  bool is_max = !strcmp(L->type, "MaxPool");
  INGOT_RETURN_IF_ERROR(need_inputs(L, 1, 1));
  if (is_max && L->n_out > 1 && out[1])
    return xi_error(L, INGOT_UNIMPLEMENTED,
                    "the indices output of MaxPool is not supported");
  int64_t k[IR_MAX_RANK];
  int nk;
  INGOT_RETURN_IF_ERROR(
      xi_data_ints(im, L, "kernel", true, k, IR_MAX_RANK, &nk));
  ir_tensor_id y;
  INGOT_RETURN_IF_ERROR(out_t(im, L, out, 0, &y));
  ir_node_id nid;
  INGOT_RETURN_IF_ERROR(node1(im, L,
                              is_max ? IR_OP_MAX_POOL : IR_OP_AVERAGE_POOL,
                              L->name, in, 1, &y, &nid));
  INGOT_RETURN_IF_ERROR(xi_attr_ints(im, nid, "kernel_shape", k, nk));
  INGOT_RETURN_IF_ERROR(
      conv_attrs(im, L, nid, nk, is_max && OPSET_OF(L) >= 8, true));
  const char *rt;
  INGOT_RETURN_IF_ERROR(xi_data_str(im, L, "rounding_type", "floor", &rt));
  if (!strcasecmp(rt, "ceil") || !strcasecmp(rt, "ceil_torch"))
    INGOT_RETURN_IF_ERROR(xi_attr_int(im, nid, "ceil_mode", 1));
  else if (strcasecmp(rt, "floor"))
    return xi_error(L, INGOT_INVALID_ARGUMENT, "rounding_type '%s' is unknown",
                    rt);
  if (!is_max) {
    bool excl;
    INGOT_RETURN_IF_ERROR(xi_data_bool(im, L, "exclude-pad", false, &excl));
    if (!excl)
      INGOT_RETURN_IF_ERROR(xi_attr_int(im, nid, "count_include_pad", 1));
  }
  return NULL;
}

/*===--- matrices, normalisation, attention ---------------------------===*/

static ingot_status transpose_last2(xi *im, const xi_layer *L, ir_tensor_id x,
                                    int rank, ir_tensor_id *y) {
  if (rank < 2) {
    *y = x;
    return NULL;
  }
  int64_t perm[IR_MAX_RANK];
  for (int d = 0; d < rank; d++) perm[d] = d;
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  ir_node_id nid;
  *y = 0;
  INGOT_RETURN_IF_ERROR(node1(im, L, IR_OP_TRANSPOSE, NULL, &x, 1, y, &nid));
  return xi_attr_ints(im, nid, "perm", perm, rank);
}

static ingot_status map_matmul(xi *im, const xi_layer *L,
                               const ir_tensor_id *in,
                               const ir_tensor_id *out) {
  INGOT_RETURN_IF_ERROR(need_inputs(L, 2, 2));
  bool ta, tb;
  INGOT_RETURN_IF_ERROR(xi_data_bool(im, L, "transpose_a", false, &ta));
  INGOT_RETURN_IF_ERROR(xi_data_bool(im, L, "transpose_b", false, &tb));
  ir_tensor_id ab[2] = {in[0], in[1]}, y;
  for (int k = 0; k < 2; k++) {
    if (!(k ? tb : ta)) continue;
    int r = L->in[k].rank;
    if (r < 0)
      return xi_error(L, INGOT_UNIMPLEMENTED,
                      "a transposed input needs a known rank");
    const ir_tensor *c = xi_const_tensor(im, in[k]);
    if (c && r >= 2) { /* transpose constant weights at import */
      ir_value src, dst = {.dtype = c->dtype, .shape = c->shape};
      ir_tensor_as_value(c, &src);
      dst.shape.dims[r - 2] = c->shape.dims[r - 1];
      dst.shape.dims[r - 1] = c->shape.dims[r - 2];
      INGOT_RETURN_IF_ERROR(ir_value_alloc(&dst));
      size_t es = ir_dtype_traits[c->dtype].size;
      int64_t rows = c->shape.dims[r - 2], cols = c->shape.dims[r - 1];
      size_t mat = (size_t)(rows * cols),
             nmat = ir_shape_numel(&c->shape) / (mat ? mat : 1);
      for (size_t b = 0; mat && b < nmat; b++)
        for (int64_t i = 0; i < rows; i++)
          for (int64_t j = 0; j < cols; j++)
            memcpy((char *)dst.data + (b * mat + (size_t)(j * rows + i)) * es,
                   (const char *)src.data +
                       (b * mat + (size_t)(i * cols + j)) * es,
                   es);
      ingot_status s =
          xi_const(im, L, k ? "b_transposed" : "a_transposed", &dst, &ab[k]);
      ir_value_free(&dst);
      INGOT_RETURN_IF_ERROR(s);
    } else {
      INGOT_RETURN_IF_ERROR(transpose_last2(im, L, in[k], r, &ab[k]));
    }
  }
  INGOT_RETURN_IF_ERROR(out_t(im, L, out, 0, &y));
  return node1(im, L, IR_OP_MATMUL, L->name, ab, 2, &y, NULL);
}

/* MVN-6 (axes input, eps_mode) and MVN-1 (across_channels). */
static ingot_status map_mvn(xi *im, const xi_layer *L, const ir_tensor_id *in,
                            const ir_tensor_id *out) {
  bool v6 = OPSET_OF(L) >= 6;
  INGOT_RETURN_IF_ERROR(need_inputs(L, v6 ? 2 : 1, v6 ? 2 : 1));
  bool norm_var, inside = true;
  double eps;
  INGOT_RETURN_IF_ERROR(
      xi_data_bool(im, L, "normalize_variance", true, &norm_var));
  INGOT_RETURN_IF_ERROR(xi_data_float(im, L, "eps", true, 0, &eps));
  ir_tensor_id axes;
  if (v6) {
    const char *mode;
    INGOT_RETURN_IF_ERROR(xi_data_str(im, L, "eps_mode", NULL, &mode));
    if (!strcasecmp(mode, "outside_sqrt"))
      inside = false;
    else if (strcasecmp(mode, "inside_sqrt"))
      return xi_error(L, INGOT_INVALID_ARGUMENT, "eps_mode '%s' is unknown",
                      mode);
    INGOT_RETURN_IF_ERROR(as_i64(im, L, in, 1, &axes));
  } else {
    bool across;
    INGOT_RETURN_IF_ERROR(
        xi_data_bool(im, L, "across_channels", false, &across));
    int r = L->in[0].rank;
    if (r < 2)
      return xi_error(L, INGOT_UNIMPLEMENTED, "MVN-1 needs a known rank >= 2");
    int64_t ax[IR_MAX_RANK];
    int n = 0;
    for (int d = across ? 1 : 2; d < r; d++) ax[n++] = d;
    INGOT_RETURN_IF_ERROR(xi_const_i64(im, L, "axes", ax, n, false, &axes));
  }
  ir_dtype dt = in_dt(im, L, in, 0);
  ir_tensor_id x = in[0], mean = 0, d = 0, y;
  ir_tensor_id a2[2] = {x, axes};
  ir_node_id nid;
  INGOT_RETURN_IF_ERROR(
      node1(im, L, IR_OP_REDUCE_MEAN, NULL, a2, 2, &mean, &nid));
  INGOT_RETURN_IF_ERROR(xi_attr_int(im, nid, "keepdims", 1));
  INGOT_RETURN_IF_ERROR(out_t(im, L, out, 0, &y));
  if (!norm_var) {
    ir_tensor_id s2[2] = {x, mean};
    return node1(im, L, IR_OP_SUB, L->name, s2, 2, &y, NULL);
  }
  INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_SUB, x, mean, &d));
  ir_tensor_id sq = 0, var = 0, e, den = 0, t = 0;
  INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_MUL, d, d, &sq));
  ir_tensor_id v2[2] = {sq, axes};
  INGOT_RETURN_IF_ERROR(
      node1(im, L, IR_OP_REDUCE_MEAN, NULL, v2, 2, &var, &nid));
  INGOT_RETURN_IF_ERROR(xi_attr_int(im, nid, "keepdims", 1));
  INGOT_RETURN_IF_ERROR(xi_const_scalar(im, L, "eps", dt, eps, &e));
  if (inside) {
    INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_ADD, var, e, &t));
    INGOT_RETURN_IF_ERROR(un(im, L, IR_OP_SQRT, t, &den));
  } else {
    INGOT_RETURN_IF_ERROR(un(im, L, IR_OP_SQRT, var, &t));
    INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_ADD, t, e, &den));
  }
  ir_tensor_id q[2] = {d, den};
  return node1(im, L, IR_OP_DIV, L->name, q, 2, &y, NULL);
}

static ingot_status map_batchnorm(xi *im, const xi_layer *L,
                                  const ir_tensor_id *in,
                                  const ir_tensor_id *out) {
  INGOT_RETURN_IF_ERROR(need_inputs(L, 5, 5));
  double eps;
  INGOT_RETURN_IF_ERROR(xi_data_float(im, L, "epsilon", true, 0, &eps));
  /* opset1 order: gamma, beta, data, mean, variance; opset5: data first. */
  ir_tensor_id ins[5];
  if (OPSET_OF(L) >= 5)
    memcpy(ins, in, sizeof ins);
  else {
    ins[0] = in[2];
    ins[1] = in[0];
    ins[2] = in[1];
    ins[3] = in[3];
    ins[4] = in[4];
  }
  ir_tensor_id y;
  ir_node_id nid;
  INGOT_RETURN_IF_ERROR(out_t(im, L, out, 0, &y));
  INGOT_RETURN_IF_ERROR(
      node1(im, L, IR_OP_BATCH_NORM, L->name, ins, 5, &y, &nid));
  return xi_attr_float(im, nid, "epsilon", (float)eps);
}

/* softmax(Q K^T * scale + mask) V, as the opset13 specification writes. */
static ingot_status map_sdpa(xi *im, const xi_layer *L, const ir_tensor_id *in,
                             const ir_tensor_id *out) {
  INGOT_RETURN_IF_ERROR(need_inputs(L, 3, 5));
  bool causal;
  INGOT_RETURN_IF_ERROR(xi_data_bool(im, L, "causal", false, &causal));
  ir_dtype dt = in_dt(im, L, in, 0);
  const xi_port *q = &L->in[0], *k = &L->in[1];
  if (q->rank < 2 || k->rank < 2)
    return xi_error(L, INGOT_UNIMPLEMENTED,
                    "query and key need known ranks >= 2");
  ir_tensor_id kt, s = 0, sc = 0, y, scale;
  INGOT_RETURN_IF_ERROR(transpose_last2(im, L, in[1], k->rank, &kt));
  INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_MATMUL, in[0], kt, &s));
  if (L->n_in > 4) {
    scale = in[4];
  } else {
    int64_t e = q->dims[q->rank - 1];
    if (e <= 0)
      return xi_error(L, INGOT_UNIMPLEMENTED,
                      "no scale input and the head size is not static");
    INGOT_RETURN_IF_ERROR(
        xi_const_scalar(im, L, "scale", dt, 1.0 / sqrt((double)e), &scale));
  }
  INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_MUL, s, scale, &sc));
  ir_tensor_id bias = 0;
  if (causal) {
    int64_t lq = q->dims[q->rank - 2], ls = k->dims[k->rank - 2];
    if (lq <= 0 || ls <= 0 || lq * ls > (1 << 26))
      return xi_error(L, INGOT_UNIMPLEMENTED,
                      "causal attention needs static sequence lengths");
    ir_value m = {.dtype = IR_F32, .shape = {.rank = 2, .dims = {lq, ls}}};
    INGOT_RETURN_IF_ERROR(ir_value_alloc(&m));
    for (int64_t i = 0; i < lq; i++)
      for (int64_t j = 0; j < ls; j++)
        ((float *)m.data)[i * ls + j] = j > i ? -INFINITY : 0.0f;
    ingot_status st = xi_const(im, L, "causal_mask", &m, &bias);
    ir_value_free(&m);
    INGOT_RETURN_IF_ERROR(st);
  } else if (L->n_in > 3) {
    bias = in[3];
    if (in_dt(im, L, in, 3) == IR_BOOL) {
      ir_tensor_id ninf, zero, w[3];
      INGOT_RETURN_IF_ERROR(
          xi_const_scalar(im, L, "ninf", dt, -INFINITY, &ninf));
      INGOT_RETURN_IF_ERROR(xi_const_scalar(im, L, "zero", dt, 0.0, &zero));
      w[0] = in[3];
      w[1] = zero;
      w[2] = ninf;
      bias = 0;
      INGOT_RETURN_IF_ERROR(node1(im, L, IR_OP_WHERE, NULL, w, 3, &bias, NULL));
    }
  }
  ir_tensor_id logits = sc, p = 0;
  if (bias) {
    logits = 0;
    INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_ADD, sc, bias, &logits));
  }
  ir_node_id nid;
  INGOT_RETURN_IF_ERROR(
      node1(im, L, IR_OP_SOFTMAX, NULL, &logits, 1, &p, &nid));
  INGOT_RETURN_IF_ERROR(xi_attr_int(im, nid, "axis", -1));
  INGOT_RETURN_IF_ERROR(out_t(im, L, out, 0, &y));
  ir_tensor_id pv[2] = {p, in[2]};
  return node1(im, L, IR_OP_MATMUL, L->name, pv, 2, &y, NULL);
}

/*===--- FakeQuantize -------------------------------------------------===*/

/* Q/DQ parameters when |il|==|ol|, |ih|==|oh| (constants), 256 levels and
 * a zero point that is an integer: per tensor or along one axis. */
static bool fq_as_qdq(const xi *im, const ir_tensor_id *in, int data_rank,
                      int64_t levels, ir_value *scale, ir_value *zp, int *axis,
                      ir_dtype *qt) {
  const ir_tensor *il = xi_const_tensor(im, in[1]),
                  *ih = xi_const_tensor(im, in[2]);
  const ir_tensor *ol = xi_const_tensor(im, in[3]),
                  *oh = xi_const_tensor(im, in[4]);
  if (levels != 256 || !il || !ih || !ol || !oh) return false;
  if (il->dtype != IR_F32 || ih->dtype != IR_F32 || ol->dtype != IR_F32 ||
      oh->dtype != IR_F32)
    return false;
  if (!ir_shape_equal(&il->shape, &ol->shape) ||
      !ir_shape_equal(&ih->shape, &oh->shape) ||
      !ir_shape_equal(&il->shape, &ih->shape))
    return false;
  size_t n = ir_shape_numel(&il->shape);
  if (n == 0) return false;
  if (memcmp(il->data, ol->data, n * 4) || memcmp(ih->data, oh->data, n * 4))
    return false;
  *axis = -1;
  if (n > 1) { /* exactly one non-1 dim, mapped onto the data's rank */
    int nz = -1;
    for (int d = 0; d < il->shape.rank; d++)
      if (il->shape.dims[d] != 1) {
        if (nz >= 0) return false;
        nz = d;
      }
    if (nz < 0 || data_rank < il->shape.rank) return false;
    *axis = data_rank - il->shape.rank + nz;
  }
  const float *lo = il->data, *hi = ih->data;
  float *s = malloc(n * sizeof *s);
  int32_t *z = malloc(n * sizeof *z);
  bool ok = s && z, sym = true;
  for (size_t i = 0; ok && i < n; i++) {
    s[i] = (hi[i] - lo[i]) / 255.0f;
    if (!(s[i] > 0) || !isfinite(s[i])) ok = false;
    double zf = ok ? -(double)lo[i] / s[i] : 0;
    double zr = nearbyint(zf);
    if (!ok || fabs(zf - zr) > 1e-3 || zr < 0 || zr > 255) ok = false;
    z[i] = (int32_t)zr;
    sym &= z[i] == 128;
  }
  if (ok) {
    *qt = sym ? IR_I8 : IR_U8;
    ir_shape sh = {.rank = n > 1 ? 1 : 0, .dims = {(int64_t)n}};
    *scale = (ir_value){.dtype = IR_F32, .shape = sh};
    *zp = (ir_value){.dtype = *qt, .shape = sh};
    ok = !ir_value_alloc(scale) && !ir_value_alloc(zp);
    for (size_t i = 0; ok && i < n; i++) {
      ((float *)scale->data)[i] = s[i];
      if (sym)
        ((int8_t *)zp->data)[i] = 0;
      else
        ((uint8_t *)zp->data)[i] = (uint8_t)z[i];
    }
  }
  free(s);
  free(z);
  return ok;
}

static ingot_status map_fake_quantize(xi *im, const xi_layer *L,
                                      const ir_tensor_id *in,
                                      const ir_tensor_id *out) {
  INGOT_RETURN_IF_ERROR(need_inputs(L, 5, 5));
  INGOT_RETURN_IF_ERROR(check_broadcast(im, L));
  int64_t levels;
  INGOT_RETURN_IF_ERROR(xi_data_int(im, L, "levels", true, 0, &levels));
  if (levels < 2 || levels > 65536)
    return xi_error(L, INGOT_INVALID_ARGUMENT, "levels = %lld is out of range",
                    (long long)levels);
  ir_tensor_id y;
  INGOT_RETURN_IF_ERROR(out_t(im, L, out, 0, &y));
  ir_value scale = {0}, zp = {0};
  int axis;
  ir_dtype qt;
  ir_dtype dt = in_dt(im, L, in, 0);
  if (dt == IR_F32 &&
      fq_as_qdq(im, in, L->in[0].rank, levels, &scale, &zp, &axis, &qt)) {
    ir_tensor_id s, z, q = 0;
    ingot_status st = xi_const(im, L, "scale", &scale, &s);
    if (!st) st = xi_const(im, L, "zero_point", &zp, &z);
    ir_value_free(&scale);
    ir_value_free(&zp);
    INGOT_RETURN_IF_ERROR(st);
    ir_tensor_id qi[3] = {in[0], s, z};
    ir_node_id qn, dn;
    INGOT_RETURN_IF_ERROR(
        node1(im, L, IR_OP_QUANTIZE_LINEAR, NULL, qi, 3, &q, &qn));
    qi[0] = q;
    INGOT_RETURN_IF_ERROR(
        node1(im, L, IR_OP_DEQUANTIZE_LINEAR, L->name, qi, 3, &y, &dn));
    if (axis >= 0) {
      INGOT_RETURN_IF_ERROR(xi_attr_int(im, qn, "axis", axis));
      INGOT_RETURN_IF_ERROR(xi_attr_int(im, dn, "axis", axis));
    }
    /* The quantised tensor's parameters, as explicit Q/DQ gives them. */
    const ir_tensor *st_t = &im->g->tensors[s], *zt = &im->g->tensors[z];
    size_t n = ir_shape_numel(&st_t->shape);
    ir_quant *qp = ir_arena_calloc(&im->g->arena, 1, sizeof *qp);
    if (!qp) return oom();
    qp->axis = axis;
    qp->count = (int)n;
    qp->qtype = qt;
    qp->scale = ir_arena_memdup(&im->g->arena, st_t->data, n * sizeof(float));
    qp->zero_point = ir_arena_calloc(&im->g->arena, n, sizeof(int32_t));
    if (!qp->scale || !qp->zero_point) return oom();
    for (size_t i = 0; i < n; i++)
      qp->zero_point[i] = (int32_t)ir_load_i64(zt->dtype, zt->data, i);
    im->g->tensors[q].quant = qp;
    return NULL;
  }
  /* The specification's formula, with the clamping folded into a Clip:
   *   y = clip(round((x - il) / (ih - il) * (L-1)), 0, L-1) / (L-1)
   *       * (oh - ol) + ol                       (for il < ih) */
  ir_tensor_id rng = 0, orng = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0,
               t6 = 0, t7 = 0, lm1, zero;
  INGOT_RETURN_IF_ERROR(
      xi_const_scalar(im, L, "levels_minus_1", dt, (double)(levels - 1), &lm1));
  INGOT_RETURN_IF_ERROR(xi_const_scalar(im, L, "zero", dt, 0.0, &zero));
  INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_SUB, in[2], in[1], &rng));
  INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_SUB, in[4], in[3], &orng));
  INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_SUB, in[0], in[1], &t1));
  INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_DIV, t1, rng, &t2));
  INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_MUL, t2, lm1, &t3));
  INGOT_RETURN_IF_ERROR(un(im, L, IR_OP_ROUND, t3, &t4));
  ir_tensor_id c[3] = {t4, zero, lm1};
  INGOT_RETURN_IF_ERROR(node1(im, L, IR_OP_CLIP, NULL, c, 3, &t5, NULL));
  INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_DIV, t5, lm1, &t6));
  INGOT_RETURN_IF_ERROR(bin(im, L, IR_OP_MUL, t6, orng, &t7));
  ir_tensor_id a[2] = {t7, in[3]};
  return node1(im, L, IR_OP_ADD, L->name, a, 2, &y, NULL);
}

/*===--- shapes and data movement -------------------------------------===*/

static ingot_status map_shape_ops(xi *im, const xi_layer *L,
                                  const ir_tensor_id *in,
                                  const ir_tensor_id *out) {
  const char *ty = L->type;
  ir_tensor_id y;
  ir_node_id nid;
  INGOT_RETURN_IF_ERROR(out_t(im, L, out, 0, &y));
  if (!strcmp(ty, "Reshape")) {
    INGOT_RETURN_IF_ERROR(need_inputs(L, 2, 2));
    bool sz;
    INGOT_RETURN_IF_ERROR(xi_data_bool(im, L, "special_zero", false, &sz));
    ir_tensor_id ins[2] = {in[0], 0};
    INGOT_RETURN_IF_ERROR(as_i64(im, L, in, 1, &ins[1]));
    INGOT_RETURN_IF_ERROR(
        node1(im, L, IR_OP_RESHAPE, L->name, ins, 2, &y, &nid));
    return sz ? NULL : xi_attr_int(im, nid, "allowzero", 1);
  }
  if (!strcmp(ty, "Transpose")) {
    INGOT_RETURN_IF_ERROR(need_inputs(L, 2, 2));
    int64_t perm[IR_MAX_RANK];
    int n;
    INGOT_RETURN_IF_ERROR(const_ints(im, L, in, 1, perm, IR_MAX_RANK, &n));
    INGOT_RETURN_IF_ERROR(
        node1(im, L, IR_OP_TRANSPOSE, L->name, in, 1, &y, &nid));
    return n ? xi_attr_ints(im, nid, "perm", perm, n) : NULL;
  }
  if (!strcmp(ty, "Squeeze") || !strcmp(ty, "Unsqueeze")) {
    bool sq = ty[0] == 'S';
    INGOT_RETURN_IF_ERROR(need_inputs(L, sq ? 1 : 2, 2));
    ir_tensor_id ins[2] = {in[0], 0};
    if (L->n_in > 1) INGOT_RETURN_IF_ERROR(as_i64(im, L, in, 1, &ins[1]));
    return node1(im, L, sq ? IR_OP_SQUEEZE : IR_OP_UNSQUEEZE, L->name, ins,
                 L->n_in, &y, NULL);
  }
  if (!strcmp(ty, "Concat")) {
    if (L->n_in < 1) return need_inputs(L, 1, 4096);
    int64_t axis;
    INGOT_RETURN_IF_ERROR(xi_data_int(im, L, "axis", true, 0, &axis));
    INGOT_RETURN_IF_ERROR(
        node1(im, L, IR_OP_CONCAT, L->name, in, L->n_in, &y, &nid));
    return xi_attr_int(im, nid, "axis", axis);
  }
  if (!strcmp(ty, "Gather")) {
    INGOT_RETURN_IF_ERROR(need_inputs(L, 3, 3));
    int64_t bd, axis;
    int n;
    INGOT_RETURN_IF_ERROR(xi_data_int(im, L, "batch_dims", false, 0, &bd));
    if (bd != 0)
      return xi_error(L, INGOT_UNIMPLEMENTED,
                      "batch_dims = %lld is not supported", (long long)bd);
    INGOT_RETURN_IF_ERROR(const_ints(im, L, in, 2, &axis, 1, &n));
    if (n != 1)
      return xi_error(L, INGOT_INVALID_ARGUMENT, "axis must be one value");
    INGOT_RETURN_IF_ERROR(node1(im, L, IR_OP_GATHER, L->name, in, 2, &y, &nid));
    return xi_attr_int(im, nid, "axis", axis);
  }
  if (!strcmp(ty, "ShapeOf")) {
    INGOT_RETURN_IF_ERROR(need_inputs(L, 1, 1));
    const char *ot;
    INGOT_RETURN_IF_ERROR(xi_data_str(im, L, "output_type", "i64", &ot));
    ir_dtype to = xi_element_type(ot);
    if (to != IR_I64 && to != IR_I32)
      return xi_error(L, INGOT_INVALID_ARGUMENT, "output_type '%s'", ot);
    if (to == IR_I64)
      return node1(im, L, IR_OP_SHAPE, L->name, in, 1, &y, NULL);
    ir_tensor_id s = 0;
    INGOT_RETURN_IF_ERROR(un(im, L, IR_OP_SHAPE, in[0], &s));
    INGOT_RETURN_IF_ERROR(node1(im, L, IR_OP_CAST, L->name, &s, 1, &y, &nid));
    return xi_attr_int(im, nid, "to", IR_I32);
  }
  if (!strcmp(ty, "Convert") || !strcmp(ty, "ConvertLike")) {
    bool like = ty[7] == 'L';
    INGOT_RETURN_IF_ERROR(need_inputs(L, like ? 2 : 1, like ? 2 : 1));
    ir_dtype to;
    if (like) {
      to = in_dt(im, L, in, 1);
    } else {
      const char *dtn;
      INGOT_RETURN_IF_ERROR(xi_data_str(im, L, "destination_type", NULL, &dtn));
      to = xi_element_type(dtn);
    }
    if (to == IR_DT_UNDEF)
      return xi_error(L, INGOT_UNIMPLEMENTED,
                      "the destination type is not supported");
    INGOT_RETURN_IF_ERROR(node1(im, L, IR_OP_CAST, L->name, in, 1, &y, &nid));
    return xi_attr_int(im, nid, "to", to);
  }
  if (!strcmp(ty, "Broadcast")) {
    INGOT_RETURN_IF_ERROR(need_inputs(L, 2, 3));
    const char *mode;
    INGOT_RETURN_IF_ERROR(xi_data_str(im, L, "mode", "numpy", &mode));
    ir_tensor_id ins[2] = {in[0], 0};
    INGOT_RETURN_IF_ERROR(as_i64(im, L, in, 1, &ins[1]));
    if (!strcasecmp(mode, "explicit")) {
      int64_t map[IR_MAX_RANK], shape[IR_MAX_RANK];
      int n;
      INGOT_RETURN_IF_ERROR(const_ints(im, L, in, 2, map, IR_MAX_RANK, &n));
      int tr = L->in[1].rank == 1 ? (int)L->in[1].dims[0] : -1;
      if (tr < 0 || tr > IR_MAX_RANK || n != L->in[0].rank)
        return xi_error(L, INGOT_UNIMPLEMENTED,
                        "explicit Broadcast needs static ranks");
      for (int d = 0; d < tr; d++) shape[d] = 1;
      for (int j = 0; j < n; j++) {
        if (map[j] < 0 || map[j] >= tr || L->in[0].dims[j] < 0)
          return xi_error(L, INGOT_UNIMPLEMENTED,
                          "explicit Broadcast needs static, in-range axes");
        shape[map[j]] = L->in[0].dims[j];
      }
      ir_tensor_id sc, r = 0, rin[2];
      INGOT_RETURN_IF_ERROR(
          xi_const_i64(im, L, "shape", shape, tr, false, &sc));
      rin[0] = in[0];
      rin[1] = sc;
      INGOT_RETURN_IF_ERROR(
          node1(im, L, IR_OP_RESHAPE, NULL, rin, 2, &r, NULL));
      ins[0] = r;
    } else if (strcasecmp(mode, "numpy") && strcasecmp(mode, "bidirectional")) {
      return xi_error(L, INGOT_UNIMPLEMENTED, "mode '%s' is not supported",
                      mode);
    }
    return node1(im, L, IR_OP_EXPAND, L->name, ins, 2, &y, NULL);
  }
  if (!strcmp(ty, "Tile")) {
    INGOT_RETURN_IF_ERROR(need_inputs(L, 2, 2));
    ir_tensor_id ins[2] = {in[0], 0};
    INGOT_RETURN_IF_ERROR(as_i64(im, L, in, 1, &ins[1]));
    return node1(im, L, IR_OP_TILE, L->name, ins, 2, &y, NULL);
  }
  return xi_error(L, INGOT_INTERNAL, "no shape mapping");
}

static ingot_status map_reduce(xi *im, const xi_layer *L,
                               const ir_tensor_id *in,
                               const ir_tensor_id *out) {
  static const struct {
    const char *type;
    ir_op op;
  } red[] = {{"ReduceMean", IR_OP_REDUCE_MEAN}, {"ReduceSum", IR_OP_REDUCE_SUM},
             {"ReduceMax", IR_OP_REDUCE_MAX},   {"ReduceMin", IR_OP_REDUCE_MIN},
             {"ReduceProd", IR_OP_REDUCE_PROD}, {"ReduceL1", IR_OP_REDUCE_L1},
             {"ReduceL2", IR_OP_REDUCE_L2}};
  ir_op op = IR_OP_INVALID;
  for (size_t i = 0; i < sizeof red / sizeof red[0]; i++)
    if (!strcmp(L->type, red[i].type)) op = red[i].op;
  INGOT_RETURN_IF_ERROR(need_inputs(L, 2, 2));
  bool keep;
  INGOT_RETURN_IF_ERROR(xi_data_bool(im, L, "keep_dims", false, &keep));
  ir_tensor_id y, ins[2] = {in[0], 0};
  INGOT_RETURN_IF_ERROR(out_t(im, L, out, 0, &y));
  INGOT_RETURN_IF_ERROR(as_i64(im, L, in, 1, &ins[1]));
  ir_node_id nid;
  INGOT_RETURN_IF_ERROR(node1(im, L, op, L->name, ins, 2, &y, &nid));
  INGOT_RETURN_IF_ERROR(xi_attr_int(im, nid, "keepdims", keep));
  /* OpenVINO reduces nothing over an empty axes list; ONNX would reduce
   * everything unless noop_with_empty_axes is set. */
  return xi_attr_int(im, nid, "noop_with_empty_axes", 1);
}

static ingot_status map_softmax(xi *im, const xi_layer *L,
                                const ir_tensor_id *in,
                                const ir_tensor_id *out) {
  INGOT_RETURN_IF_ERROR(need_inputs(L, 1, 1));
  int64_t axis;
  INGOT_RETURN_IF_ERROR(xi_data_int(im, L, "axis", false, 1, &axis));
  ir_tensor_id y;
  ir_node_id nid;
  INGOT_RETURN_IF_ERROR(out_t(im, L, out, 0, &y));
  INGOT_RETURN_IF_ERROR(node1(
      im, L, strcmp(L->type, "Softmax") ? IR_OP_LOG_SOFTMAX : IR_OP_SOFTMAX,
      L->name, in, 1, &y, &nid));
  return xi_attr_int(im, nid, "axis", axis);
}

static ingot_status map_split(xi *im, const xi_layer *L, const ir_tensor_id *in,
                              const ir_tensor_id *out) {
  bool variadic = L->type[0] == 'V';
  INGOT_RETURN_IF_ERROR(need_inputs(L, variadic ? 3 : 2, variadic ? 3 : 2));
  int64_t axis;
  int n;
  INGOT_RETURN_IF_ERROR(const_ints(im, L, in, 1, &axis, 1, &n));
  if (n != 1)
    return xi_error(L, INGOT_INVALID_ARGUMENT, "axis must be one value");
  int r = L->in[0].rank;
  int64_t ax = axis < 0 && r > 0 ? axis + r : axis;
  int64_t sizes[256];
  if (L->n_out > 256)
    return xi_error(L, INGOT_UNIMPLEMENTED, "too many outputs");
  /* Output sizes along the axis, from the lengths (-1 resolved from the
   * input dim) or an even split. */
  int64_t dim = r > 0 && ax >= 0 && ax < r ? L->in[0].dims[ax] : -1;
  if (variadic) {
    int k;
    INGOT_RETURN_IF_ERROR(const_ints(im, L, in, 2, sizes, 256, &k));
    if (k != L->n_out)
      return xi_error(L, INGOT_INVALID_ARGUMENT,
                      "split_lengths has %d values for %d outputs", k,
                      L->n_out);
    int neg = -1;
    int64_t sum = 0;
    for (int i = 0; i < k; i++) {
      if (sizes[i] == -1)
        neg = i;
      else
        sum += sizes[i];
    }
    if (neg >= 0) {
      if (dim < 0)
        return xi_error(
            L, INGOT_UNIMPLEMENTED,
            "split_lengths holds -1 and the axis length is unknown");
      sizes[neg] = dim - sum;
    }
  } else {
    int64_t ns;
    INGOT_RETURN_IF_ERROR(xi_data_int(im, L, "num_splits", true, 0, &ns));
    if (ns != L->n_out || ns < 1)
      return xi_error(L, INGOT_INVALID_ARGUMENT,
                      "num_splits = %lld but the layer has %d outputs",
                      (long long)ns, L->n_out);
    if (dim < 0 || dim % ns)
      return xi_error(L, INGOT_UNIMPLEMENTED,
                      "the axis length must be static and divisible");
    for (int i = 0; i < ns; i++) sizes[i] = dim / ns;
  }
  ir_tensor_id ins[2] = {in[0], 0};
  INGOT_RETURN_IF_ERROR(
      xi_const_i64(im, L, "split", sizes, L->n_out, false, &ins[1]));
  ir_node_id nid;
  INGOT_RETURN_IF_ERROR(
      xi_node(im, L, IR_OP_SPLIT, L->name, ins, 2, out, L->n_out, &nid));
  return xi_attr_int(im, nid, "axis", axis);
}

static ingot_status map_slice(xi *im, const xi_layer *L, const ir_tensor_id *in,
                              const ir_tensor_id *out) {
  ir_tensor_id y;
  INGOT_RETURN_IF_ERROR(out_t(im, L, out, 0, &y));
  if (!strcmp(L->type, "Slice")) { /* (data, start, stop, step, [axes]) */
    INGOT_RETURN_IF_ERROR(need_inputs(L, 4, 5));
    ir_tensor_id ins[5] = {in[0], 0, 0, 0, 0};
    INGOT_RETURN_IF_ERROR(as_i64(im, L, in, 1, &ins[1]));
    INGOT_RETURN_IF_ERROR(as_i64(im, L, in, 2, &ins[2]));
    INGOT_RETURN_IF_ERROR(as_i64(im, L, in, 3, &ins[4]));
    if (L->n_in > 4) INGOT_RETURN_IF_ERROR(as_i64(im, L, in, 4, &ins[3]));
    return node1(im, L, IR_OP_SLICE, L->name, ins, 5, &y, NULL);
  }
  /* StridedSlice(data, begin, end, [stride]) with per-axis masks. */
  INGOT_RETURN_IF_ERROR(need_inputs(L, 3, 4));
  int64_t b[IR_MAX_RANK * 2], e[IR_MAX_RANK * 2], st[IR_MAX_RANK * 2];
  int nb, ne, ns = -1;
  INGOT_RETURN_IF_ERROR(const_ints(im, L, in, 1, b, IR_MAX_RANK, &nb));
  INGOT_RETURN_IF_ERROR(const_ints(im, L, in, 2, e, IR_MAX_RANK, &ne));
  if (L->n_in > 3)
    INGOT_RETURN_IF_ERROR(const_ints(im, L, in, 3, st, IR_MAX_RANK, &ns));
  if (ne != nb || (ns >= 0 && ns != nb))
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "begin, end and stride differ in length");
  int64_t bm[IR_MAX_RANK * 2], em[IR_MAX_RANK * 2], nm[IR_MAX_RANK * 2],
      sm[IR_MAX_RANK * 2], elm[IR_MAX_RANK * 2];
  int c;
  INGOT_RETURN_IF_ERROR(mask(im, L, "begin_mask", bm, &c));
  INGOT_RETURN_IF_ERROR(mask(im, L, "end_mask", em, &c));
  INGOT_RETURN_IF_ERROR(mask(im, L, "new_axis_mask", nm, &c));
  INGOT_RETURN_IF_ERROR(mask(im, L, "shrink_axis_mask", sm, &c));
  INGOT_RETURN_IF_ERROR(mask(im, L, "ellipsis_mask", elm, &c));
  int64_t starts[IR_MAX_RANK], ends[IR_MAX_RANK], axes[IR_MAX_RANK],
      steps[IR_MAX_RANK], sq[IR_MAX_RANK];
  int n = 0, nsq = 0;
  for (int i = 0; i < nb; i++) {
    if (nm[i] || elm[i])
      return xi_error(L, INGOT_UNIMPLEMENTED,
                      "new_axis_mask and ellipsis_mask are not supported");
    int64_t step = ns >= 0 ? st[i] : 1;
    if (step == 0) return xi_error(L, INGOT_INVALID_ARGUMENT, "stride 0");
    axes[n] = i;
    if (sm[i]) {
      starts[n] = b[i];
      ends[n] = b[i] == -1 ? INT64_MAX : b[i] + 1;
      steps[n] = 1;
      sq[nsq++] = i;
    } else {
      /* a mask bit of 1 means "ignore the bound" */
      starts[n] = bm[i] ? (step > 0 ? 0 : INT64_MAX) : b[i];
      ends[n] = em[i] ? (step > 0 ? INT64_MAX : INT64_MIN) : e[i];
      steps[n] = step;
    }
    n++;
  }
  ir_tensor_id ins[5] = {in[0]};
  INGOT_RETURN_IF_ERROR(
      xi_const_i64(im, L, "starts", starts, n, false, &ins[1]));
  INGOT_RETURN_IF_ERROR(xi_const_i64(im, L, "ends", ends, n, false, &ins[2]));
  INGOT_RETURN_IF_ERROR(xi_const_i64(im, L, "axes", axes, n, false, &ins[3]));
  INGOT_RETURN_IF_ERROR(xi_const_i64(im, L, "steps", steps, n, false, &ins[4]));
  if (!nsq) return node1(im, L, IR_OP_SLICE, L->name, ins, 5, &y, NULL);
  ir_tensor_id s = 0, sin[2] = {0, 0};
  INGOT_RETURN_IF_ERROR(node1(im, L, IR_OP_SLICE, NULL, ins, 5, &s, NULL));
  sin[0] = s;
  INGOT_RETURN_IF_ERROR(
      xi_const_i64(im, L, "shrink_axes", sq, nsq, false, &sin[1]));
  return node1(im, L, IR_OP_SQUEEZE, L->name, sin, 2, &y, NULL);
}

static ingot_status map_pad(xi *im, const xi_layer *L, const ir_tensor_id *in,
                            const ir_tensor_id *out) {
  INGOT_RETURN_IF_ERROR(need_inputs(L, 3, 4));
  const char *mode;
  INGOT_RETURN_IF_ERROR(xi_data_str(im, L, "pad_mode", "constant", &mode));
  if (strcasecmp(mode, "constant") && strcasecmp(mode, "edge") &&
      strcasecmp(mode, "reflect"))
    return xi_error(L, INGOT_UNIMPLEMENTED, "pad_mode '%s' is not supported",
                    mode);
  int64_t p[IR_MAX_RANK * 2];
  int nb, ne;
  INGOT_RETURN_IF_ERROR(const_ints(im, L, in, 1, p, IR_MAX_RANK, &nb));
  INGOT_RETURN_IF_ERROR(const_ints(im, L, in, 2, p + nb, IR_MAX_RANK, &ne));
  if (nb != ne)
    return xi_error(L, INGOT_INVALID_ARGUMENT,
                    "pads_begin and pads_end differ in length");
  ir_tensor_id ins[3] = {in[0], 0, L->n_in > 3 ? in[3] : 0}, y;
  INGOT_RETURN_IF_ERROR(
      xi_const_i64(im, L, "pads", p, nb + ne, false, &ins[1]));
  INGOT_RETURN_IF_ERROR(out_t(im, L, out, 0, &y));
  ir_node_id nid;
  INGOT_RETURN_IF_ERROR(
      node1(im, L, IR_OP_PAD, L->name, ins, L->n_in > 3 ? 3 : 2, &y, &nid));
  char lower[16];
  snprintf(lower, sizeof lower, "%s", mode);
  for (char *c = lower; *c; c++) *c = (char)(*c | 0x20);
  return xi_attr_str(im, nid, "mode", lower);
}

static ingot_status map_interpolate(xi *im, const xi_layer *L,
                                    const ir_tensor_id *in,
                                    const ir_tensor_id *out) {
  int v = OPSET_OF(L);
  if (v < 4)
    return xi_error(L, INGOT_UNIMPLEMENTED,
                    "Interpolate-%d is not supported (4 and 11 are)", v);
  bool v11 = v >= 11;
  INGOT_RETURN_IF_ERROR(need_inputs(L, 2, v11 ? 3 : 4));
  const char *mode, *calc, *coord, *nearest;
  bool antialias;
  double cube;
  INGOT_RETURN_IF_ERROR(xi_data_str(im, L, "mode", NULL, &mode));
  INGOT_RETURN_IF_ERROR(
      xi_data_str(im, L, "shape_calculation_mode", "sizes", &calc));
  INGOT_RETURN_IF_ERROR(xi_data_str(im, L, "coordinate_transformation_mode",
                                    "half_pixel", &coord));
  INGOT_RETURN_IF_ERROR(
      xi_data_str(im, L, "nearest_mode", "round_prefer_floor", &nearest));
  INGOT_RETURN_IF_ERROR(xi_data_bool(im, L, "antialias", false, &antialias));
  INGOT_RETURN_IF_ERROR(
      xi_data_float(im, L, "cube_coeff", false, -0.75, &cube));
  int64_t pads[IR_MAX_RANK * 2];
  int np;
  for (int k = 0; k < 2; k++) {
    INGOT_RETURN_IF_ERROR(xi_data_ints(im, L, k ? "pads_end" : "pads_begin",
                                       false, pads, IR_MAX_RANK * 2, &np));
    for (int i = 0; i < np; i++)
      if (pads[i])
        return xi_error(L, INGOT_UNIMPLEMENTED,
                        "non-zero pads are not supported");
  }
  if (antialias)
    return xi_error(L, INGOT_UNIMPLEMENTED, "antialias is not supported");
  const char *m = !strcasecmp(mode, "nearest")       ? "nearest"
                  : !strcasecmp(mode, "linear_onnx") ? "linear"
                  : !strcasecmp(mode, "cubic")       ? "cubic"
                                                     : NULL;
  if (!m)
    return xi_error(
        L, INGOT_UNIMPLEMENTED,
        "mode '%s' is not supported (nearest, linear_onnx, cubic are)", mode);
  if (!strcasecmp(nearest, "simple"))
    return xi_error(L, INGOT_UNIMPLEMENTED,
                    "nearest_mode 'simple' is not supported");
  int r = L->in[0].rank;
  if (r < 1)
    return xi_error(L, INGOT_UNIMPLEMENTED, "the input rank must be known");
  /* axes: the last input (default: all) */
  int64_t axes[IR_MAX_RANK];
  int na = r;
  int axes_in = v11 ? 2 : 3;
  for (int d = 0; d < r; d++) axes[d] = d;
  if (L->n_in > axes_in)
    INGOT_RETURN_IF_ERROR(
        const_ints(im, L, in, axes_in, axes, IR_MAX_RANK, &na));
  bool by_scales = !strcasecmp(calc, "scales");
  ir_tensor_id ins[4] = {in[0], 0, 0, 0}, y;
  if (by_scales) {
    int scales_in = v11 ? 1 : 2;
    const ir_tensor *st = xi_const_tensor(im, in[scales_in]);
    if (!st || !ir_dtype_get(st->dtype)->is_float ||
        ir_shape_numel(&st->shape) != (size_t)na)
      return xi_error(L, INGOT_UNIMPLEMENTED,
                      "scales must be a constant with one value per axis");
    float sc[IR_MAX_RANK];
    for (int d = 0; d < r; d++) sc[d] = 1.0f;
    for (int i = 0; i < na; i++) {
      int64_t a = axes[i] < 0 ? axes[i] + r : axes[i];
      if (a < 0 || a >= r)
        return xi_error(L, INGOT_INVALID_ARGUMENT, "axis out of range");
      sc[a] = (float)ir_load_f64(st->dtype, st->data, (size_t)i);
    }
    ir_value sv = {.dtype = IR_F32,
                   .shape = {.rank = 1, .dims = {r}},
                   .data = sc,
                   .borrowed = true};
    INGOT_RETURN_IF_ERROR(xi_const(im, L, "scales", &sv, &ins[2]));
  } else {
    const xi_port *op = &L->out[0];
    int64_t sz[IR_MAX_RANK];
    for (int d = 0; d < r; d++) {
      sz[d] = op->rank == r ? op->dims[d] : -1;
      if (sz[d] < 0)
        return xi_error(L, INGOT_UNIMPLEMENTED,
                        "sizes mode needs a static output shape");
    }
    INGOT_RETURN_IF_ERROR(xi_const_i64(im, L, "sizes", sz, r, false, &ins[3]));
  }
  INGOT_RETURN_IF_ERROR(out_t(im, L, out, 0, &y));
  ir_node_id nid;
  INGOT_RETURN_IF_ERROR(node1(im, L, IR_OP_RESIZE, L->name, ins, 4, &y, &nid));
  INGOT_RETURN_IF_ERROR(xi_attr_str(im, nid, "mode", m));
  INGOT_RETURN_IF_ERROR(
      xi_attr_str(im, nid, "coordinate_transformation_mode", coord));
  if (!strcmp(m, "nearest"))
    INGOT_RETURN_IF_ERROR(xi_attr_str(im, nid, "nearest_mode", nearest));
  if (!strcmp(m, "cubic"))
    INGOT_RETURN_IF_ERROR(xi_attr_float(im, nid, "cubic_coeff_a", (float)cube));
  return NULL;
}

static ingot_status map_range(xi *im, const xi_layer *L, const ir_tensor_id *in,
                              const ir_tensor_id *out) {
  INGOT_RETURN_IF_ERROR(need_inputs(L, 3, 3));
  const char *ot;
  INGOT_RETURN_IF_ERROR(xi_data_str(im, L, "output_type", "i64", &ot));
  ir_dtype to = OPSET_OF(L) >= 4 ? xi_element_type(ot) : in_dt(im, L, in, 0);
  if (to == IR_DT_UNDEF)
    return xi_error(L, INGOT_UNIMPLEMENTED, "output_type '%s'", ot);
  ir_tensor_id ins[3], y;
  for (int k = 0; k < 3; k++) {
    ins[k] = in[k];
    ir_dtype t = in_dt(im, L, in, k);
    if (t == to) continue;
    ir_node_id nid;
    ins[k] = 0;
    INGOT_RETURN_IF_ERROR(
        node1(im, L, IR_OP_CAST, NULL, &in[k], 1, &ins[k], &nid));
    INGOT_RETURN_IF_ERROR(xi_attr_int(im, nid, "to", to));
  }
  INGOT_RETURN_IF_ERROR(out_t(im, L, out, 0, &y));
  return node1(im, L, IR_OP_RANGE, L->name, ins, 3, &y, NULL);
}

static ingot_status map_lrn(xi *im, const xi_layer *L, const ir_tensor_id *in,
                            const ir_tensor_id *out) {
  INGOT_RETURN_IF_ERROR(need_inputs(L, 2, 2));
  int64_t axes[IR_MAX_RANK];
  int n;
  INGOT_RETURN_IF_ERROR(const_ints(im, L, in, 1, axes, IR_MAX_RANK, &n));
  if (n != 1 || axes[0] != 1)
    return xi_error(L, INGOT_UNIMPLEMENTED,
                    "LRN over axes other than [1] is not supported");
  double alpha, beta, bias;
  int64_t size;
  INGOT_RETURN_IF_ERROR(xi_data_float(im, L, "alpha", true, 0, &alpha));
  INGOT_RETURN_IF_ERROR(xi_data_float(im, L, "beta", true, 0, &beta));
  INGOT_RETURN_IF_ERROR(xi_data_float(im, L, "bias", true, 0, &bias));
  INGOT_RETURN_IF_ERROR(xi_data_int(im, L, "size", true, 0, &size));
  ir_tensor_id y;
  ir_node_id nid;
  INGOT_RETURN_IF_ERROR(out_t(im, L, out, 0, &y));
  INGOT_RETURN_IF_ERROR(node1(im, L, IR_OP_LRN, L->name, in, 1, &y, &nid));
  INGOT_RETURN_IF_ERROR(xi_attr_float(im, nid, "alpha", (float)alpha));
  INGOT_RETURN_IF_ERROR(xi_attr_float(im, nid, "beta", (float)beta));
  INGOT_RETURN_IF_ERROR(xi_attr_float(im, nid, "bias", (float)bias));
  return xi_attr_int(im, nid, "size", size);
}

/*===--- the table ----------------------------------------------------===*/

typedef ingot_status (*map_fn)(xi *im, const xi_layer *L,
                               const ir_tensor_id *in, const ir_tensor_id *out);

static const struct {
  const char *type;
  map_fn fn;
} mappings[] = {
    {"Clamp", map_clamp},
    {"Gelu", map_activation},
    {"Swish", map_activation},
    {"Mish", map_activation},
    {"HSigmoid", map_activation},
    {"Elu", map_activation},
    {"Selu", map_activation},
    {"PRelu", map_activation},
    {"Round", map_activation},
    {"Convolution", map_conv},
    {"GroupConvolution", map_conv},
    {"ConvolutionBackpropData", map_conv},
    {"GroupConvolutionBackpropData", map_conv},
    {"MaxPool", map_pool},
    {"AvgPool", map_pool},
    {"MatMul", map_matmul},
    {"MVN", map_mvn},
    {"BatchNormInference", map_batchnorm},
    {"ScaledDotProductAttention", map_sdpa},
    {"FakeQuantize", map_fake_quantize},
    {"Reshape", map_shape_ops},
    {"Transpose", map_shape_ops},
    {"Squeeze", map_shape_ops},
    {"Unsqueeze", map_shape_ops},
    {"Concat", map_shape_ops},
    {"Gather", map_shape_ops},
    {"ShapeOf", map_shape_ops},
    {"Convert", map_shape_ops},
    {"ConvertLike", map_shape_ops},
    {"Broadcast", map_shape_ops},
    {"Tile", map_shape_ops},
    {"ReduceMean", map_reduce},
    {"ReduceSum", map_reduce},
    {"ReduceMax", map_reduce},
    {"ReduceMin", map_reduce},
    {"ReduceProd", map_reduce},
    {"ReduceL1", map_reduce},
    {"ReduceL2", map_reduce},
    {"Softmax", map_softmax},
    {"LogSoftmax", map_softmax},
    {"Split", map_split},
    {"VariadicSplit", map_split},
    {"StridedSlice", map_slice},
    {"Slice", map_slice},
    {"Pad", map_pad},
    {"Interpolate", map_interpolate},
    {"Range", map_range},
    {"LRN", map_lrn},
};

ingot_status xi_map_layer(xi *im, const xi_layer *L, const ir_tensor_id *in,
                          const ir_tensor_id *out) {
  int v = OPSET_OF(L);
  if (v < 1 || v > 16)
    return xi_error(L, INGOT_UNIMPLEMENTED,
                    "version '%s' is not an OpenVINO opset Ingot reads "
                    "(opset1 to opset16, or ingot)",
                    L->version);
  for (size_t i = 0; i < sizeof direct_unary / sizeof direct_unary[0]; i++)
    if (!strcmp(L->type, direct_unary[i].type)) {
      INGOT_RETURN_IF_ERROR(need_inputs(L, 1, 1));
      ir_tensor_id y;
      INGOT_RETURN_IF_ERROR(out_t(im, L, out, 0, &y));
      return node1(im, L, direct_unary[i].op, L->name, in, 1, &y, NULL);
    }
  for (size_t i = 0; i < sizeof direct_binary / sizeof direct_binary[0]; i++)
    if (!strcmp(L->type, direct_binary[i].type))
      return map_binary(im, L, direct_binary[i].op, in, out);
  for (size_t i = 0; i < sizeof mappings / sizeof mappings[0]; i++)
    if (!strcmp(L->type, mappings[i].type))
      return mappings[i].fn(im, L, in, out);
  return xi_error(L, INGOT_UNIMPLEMENTED,
                  "layer type '%s' (%s) is not supported by Ingot", L->type,
                  L->version);
}
