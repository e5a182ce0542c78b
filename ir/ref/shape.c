/* shape.c — reference ops that reshape, describe or create tensors:
 * Reshape, Flatten, Squeeze and Unsqueeze (whose eval is one byte copy,
 * ref_eval_copy), Shape, Size, Constant, ConstantOfShape, Range, Expand.
 *
 * These ops carry the shape arithmetic of exported models (PyTorch writes
 * Shape -> Gather -> Unsqueeze -> Concat -> Reshape), so each infer works
 * from input shapes alone whenever the spec allows, and asks for an
 * input's values (ir_needs_value) only when the output shape really depends
 * on them.  Shape and Size never read their input's data, so static
 * inference may evaluate them knowing only the input's shape.
 *
 * Kernels move elements as bytes of ir_dtype_traits[].size, so every dtype
 * works the same way, bool and float16 included.  Old-opset forms (Reshape
 * 'shape', Squeeze/Unsqueeze 'axes' attributes) become constant inputs at
 * parse time, so infer and eval see one form.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ref.h"

/* Range refuses to build more elements than this (a typo'd limit or a tiny
 * delta would otherwise ask for terabytes). */
#define RANGE_MAX_COUNT ((int64_t)1 << 28)

/* "[1, -1, 0]" into |buf|. */
static const char *ints_str(const int64_t *v, int k, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = '\0';
  for (int i = 0; i < k && len + 1 < cap; i++) {
    int w = snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "[",
                     (long long)v[i]);
    if (w < 0) break;
    len += (size_t)w;
  }
  if (len + 1 < cap) snprintf(buf + len, cap - len, k ? "]" : "[]");
  return buf;
}

static ingot_status no_memory(const ir_node *n) {
  return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
}

/*===------------------------------------------------------------------===*/
/* Reshape, Flatten, Squeeze, Unsqueeze                                    */
/*===------------------------------------------------------------------===*/

ingot_status ref_parse_reshape(ir_graph *g, ir_node_id nid) {
  static const char *const known[] = {"allowzero", "shape", NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, known));
  int64_t allowzero;
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "allowzero", 0, &allowzero));
  if (allowzero != 0 && allowzero != 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute 'allowzero' must be 0 or 1, not %lld",
                         (long long)allowzero);
  int64_t dims[IR_MAX_RANK];
  int count;
  INGOT_RETURN_IF_ERROR(ir_attr_ints(n, "shape", dims, IR_MAX_RANK, &count));
  if (count >= 0) {
    if (n->opset >= 5)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "attribute 'shape' was replaced by input 1 in "
                           "opset 5 (node has opset %d)",
                           n->opset);
    if (n->n_in > 1 && n->in[1])
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "has both a 'shape' attribute and a shape input");
    INGOT_RETURN_IF_ERROR(ref_set_const_ints(g, nid, 1, dims, count));
  }
  ir_p_reshape *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return no_memory(n);
  p->allowzero = allowzero != 0;
  return NULL;
}

/* Output dims of |want| (the shape input): 0 copies the input dim unless
 * allowzero, one -1 is inferred.  An unknown input dim copied by a 0 at the
 * same position cancels out of the -1 computation, so [N,3,4] reshaped by
 * [0,-1] is [N,12] even with N unknown. */
ingot_status ref_infer_reshape(const ir_node *n, const ir_value *in, int nin,
                               ir_value *out, int nout) {
  const ir_p_reshape *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "node was not parsed");
  if (!ref_has(in, nin, 1))
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "the target shape (input 1) is missing");
  int64_t want[IR_MAX_RANK];
  int k;
  INGOT_RETURN_IF_ERROR(ref_read_ints(n, in, 1, want, IR_MAX_RANK, &k));
  const ir_shape *is = &in[0].shape;
  ir_shape os = {.rank = k};
  bool cancel[IR_MAX_RANK] = {false};
  int infer_at = -1;
  bool has_zero = false;
  char wb[160], sb[96];
  for (int i = 0; i < k; i++) {
    int64_t v = want[i];
    if (v == -1) {
      if (infer_at >= 0)
        return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                             "target shape %s has more than one -1",
                             ints_str(want, k, wb, sizeof wb));
      infer_at = i;
      os.dims[i] = -1;
    } else if (v == 0 && !p->allowzero) {
      if (i >= is->rank)
        return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                             "target shape %s copies dimension %d (0) but "
                             "the input %s has rank %d",
                             ints_str(want, k, wb, sizeof wb), i,
                             ir_shape_str(is, sb, sizeof sb), is->rank);
      os.dims[i] = is->dims[i];
      cancel[i] = is->dims[i] < 0;
    } else if (v < 0) {
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "target shape %s has the invalid dimension %lld",
                           ints_str(want, k, wb, sizeof wb), (long long)v);
    } else {
      os.dims[i] = v;
      if (v == 0) has_zero = true;
    }
  }
  if (p->allowzero && has_zero && infer_at >= 0)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "with allowzero=1 the target shape %s may not "
                         "contain both 0 and -1",
                         ints_str(want, k, wb, sizeof wb));

  int64_t num = 1, den = 1;
  bool num_known = true;
  for (int j = 0; j < is->rank; j++) {
    if (j < k && cancel[j]) continue;
    if (is->dims[j] < 0)
      num_known = false;
    else
      num = ref_mul_sat(num, is->dims[j]);
  }
  for (int i = 0; i < k; i++)
    if (i != infer_at && !cancel[i]) den = ref_mul_sat(den, os.dims[i]);

  if (infer_at >= 0 && num_known) {
    if (den == 0 || num % den != 0)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "cannot reshape %s into %s: the -1 dimension "
                           "cannot be inferred",
                           ir_shape_str(is, sb, sizeof sb),
                           ints_str(want, k, wb, sizeof wb));
    os.dims[infer_at] = num / den;
  } else if (infer_at < 0 && num_known && num != den) {
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "cannot reshape %s into %s: element counts differ",
                         ir_shape_str(is, sb, sizeof sb),
                         ints_str(want, k, wb, sizeof wb));
  }
  out[0].dtype = in[0].dtype;
  out[0].shape = os;
  return NULL;
}

/* Reshape, Flatten, Squeeze and Unsqueeze keep the row-major bytes. */
ingot_status ref_eval_copy(const ir_node *n, const ir_value *in, int nin,
                           ir_value *out, int nout) {
  size_t nb = ir_value_nbytes(&in[0]);
  if (nb != ir_value_nbytes(&out[0]) || in[0].dtype != out[0].dtype)
    return ir_node_error(n, INGOT_INTERNAL,
                         "input and output sizes differ (%zu vs %zu bytes)",
                         nb, ir_value_nbytes(&out[0]));
  if (nb) memcpy(out[0].data, in[0].data, nb);
  return NULL;
}

ingot_status ref_parse_flatten(ir_graph *g, ir_node_id nid) {
  static const char *const known[] = {"axis", NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, known));
  ir_p_axis *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return no_memory(n);
  return ir_attr_int(n, "axis", 1, &p->axis);
}

ingot_status ref_infer_flatten(const ir_node *n, const ir_value *in, int nin,
                               ir_value *out, int nout) {
  const ir_p_axis *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "node was not parsed");
  const ir_shape *is = &in[0].shape;
  int64_t r = is->rank;
  if (p->axis < -r || p->axis > r)
    return ir_node_error(n, INGOT_OUT_OF_RANGE,
                         "axis %lld is out of range for rank %d",
                         (long long)p->axis, is->rank);
  int axis = (int)(p->axis < 0 ? p->axis + r : p->axis);
  int64_t part[2] = {1, 1};
  bool unknown[2] = {false, false};
  for (int d = 0; d < is->rank; d++) {
    int side = d >= axis;
    if (is->dims[d] < 0)
      unknown[side] = true;
    else
      part[side] = ref_mul_sat(part[side], is->dims[d]);
  }
  out[0].dtype = in[0].dtype;
  out[0].shape.rank = 2;
  for (int s = 0; s < 2; s++)
    out[0].shape.dims[s] = unknown[s] && part[s] != 0 ? -1 : part[s];
  return NULL;
}

/* Squeeze and Unsqueeze: before opset 13 'axes' is an attribute; it becomes
 * constant input 1 (absent stays absent: Squeeze then drops every 1). */
ingot_status ref_parse_squeeze(ir_graph *g, ir_node_id nid) {
  static const char *const old[] = {"axes", NULL};
  static const char *const none[] = {NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, n->opset < 13 ? old : none));
  if (n->opset >= 13) return NULL;
  int64_t axes[IR_MAX_RANK];
  int count;
  INGOT_RETURN_IF_ERROR(ir_attr_ints(n, "axes", axes, IR_MAX_RANK, &count));
  if (count < 0) return NULL;
  if (n->n_in > 1 && n->in[1])
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "has both an 'axes' attribute and an axes input");
  return ref_set_const_ints(g, nid, 1, axes, count);
}

ingot_status ref_infer_squeeze(const ir_node *n, const ir_value *in, int nin,
                               ir_value *out, int nout) {
  const ir_shape *is = &in[0].shape;
  bool drop[IR_MAX_RANK] = {false};
  char sb[96];
  if (ref_has(in, nin, 1)) {
    int64_t axes[IR_MAX_RANK];
    int k;
    INGOT_RETURN_IF_ERROR(ref_read_ints(n, in, 1, axes, IR_MAX_RANK, &k));
    if (k > 0 && is->rank == 0)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "cannot squeeze axes of a scalar");
    for (int i = 0; i < k; i++) {
      int a;
      INGOT_RETURN_IF_ERROR(ref_axis(n, axes[i], is->rank, &a));
      if (drop[a])
        return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                             "axis %d is listed twice", a);
      if (is->dims[a] >= 0 && is->dims[a] != 1)
        return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                             "cannot squeeze axis %d of input %s: its size "
                             "is not 1",
                             a, ir_shape_str(is, sb, sizeof sb));
      drop[a] = true; /* an unknown dim is checked again at run time */
    }
  } else {
    for (int d = 0; d < is->rank; d++) {
      if (is->dims[d] < 0)
        return ir_node_error(n, INGOT_FAILED_PRECONDITION,
                             "without axes, the output of squeezing %s "
                             "depends on its unknown dimensions",
                             ir_shape_str(is, sb, sizeof sb));
      drop[d] = is->dims[d] == 1;
    }
  }
  ir_shape os = {.rank = 0};
  for (int d = 0; d < is->rank; d++)
    if (!drop[d]) os.dims[os.rank++] = is->dims[d];
  out[0].dtype = in[0].dtype;
  out[0].shape = os;
  return NULL;
}

ingot_status ref_infer_unsqueeze(const ir_node *n, const ir_value *in,
                                 int nin, ir_value *out, int nout) {
  if (!ref_has(in, nin, 1))
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "the axes (input 1 or attribute 'axes') are "
                         "missing");
  const ir_shape *is = &in[0].shape;
  int64_t axes[IR_MAX_RANK];
  int k;
  INGOT_RETURN_IF_ERROR(ref_read_ints(n, in, 1, axes, IR_MAX_RANK, &k));
  int rank = is->rank + k;
  if (rank > IR_MAX_RANK)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "output rank %d exceeds the supported %d", rank,
                         IR_MAX_RANK);
  bool ins[IR_MAX_RANK] = {false};
  for (int i = 0; i < k; i++) {
    int a;
    INGOT_RETURN_IF_ERROR(ref_axis(n, axes[i], rank, &a));
    if (ins[a])
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "axis %d is listed twice", a);
    ins[a] = true;
  }
  ir_shape os = {.rank = rank};
  for (int d = 0, j = 0; d < rank; d++)
    os.dims[d] = ins[d] ? 1 : is->dims[j++];
  out[0].dtype = in[0].dtype;
  out[0].shape = os;
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Shape, Size                                                             */
/*===------------------------------------------------------------------===*/

ingot_status ref_parse_shape(ir_graph *g, ir_node_id nid) {
  static const char *const known[] = {"start", "end", NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, known));
  ir_p_shape *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return no_memory(n);
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "start", 0, &p->start));
  p->has_end = ir_attr_find(n, "end") != NULL;
  return ir_attr_int(n, "end", 0, &p->end);
}

/* Opset 15: negative start/end count from the back; both clamp to
 * [0, rank]. */
static int64_t shape_clamp(int64_t v, int rank) {
  if (v < 0) v += rank;
  return v < 0 ? 0 : v > rank ? rank : v;
}

static ingot_status shape_range(const ir_node *n, const ir_value *in,
                                int64_t *start, int64_t *len) {
  const ir_p_shape *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "node was not parsed");
  int rank = in[0].shape.rank;
  int64_t s = shape_clamp(p->start, rank);
  int64_t e = p->has_end ? shape_clamp(p->end, rank) : rank;
  *start = s;
  *len = e > s ? e - s : 0;
  return NULL;
}

ingot_status ref_infer_shape(const ir_node *n, const ir_value *in, int nin,
                             ir_value *out, int nout) {
  int64_t s, len;
  INGOT_RETURN_IF_ERROR(shape_range(n, in, &s, &len));
  out[0].dtype = IR_I64;
  out[0].shape = (ir_shape){.rank = 1, .dims = {len}};
  return NULL;
}

/* Reads only in[0].shape, never its data. */
ingot_status ref_eval_shape(const ir_node *n, const ir_value *in, int nin,
                            ir_value *out, int nout) {
  int64_t s, len;
  INGOT_RETURN_IF_ERROR(shape_range(n, in, &s, &len));
  for (int64_t i = 0; i < len; i++)
    ir_store_i64(IR_I64, out[0].data, (size_t)i, in[0].shape.dims[s + i]);
  return NULL;
}

ingot_status ref_infer_size(const ir_node *n, const ir_value *in, int nin,
                            ir_value *out, int nout) {
  out[0].dtype = IR_I64;
  out[0].shape = (ir_shape){.rank = 0};
  return NULL;
}

/* Reads only in[0].shape, never its data. */
ingot_status ref_eval_size(const ir_node *n, const ir_value *in, int nin,
                           ir_value *out, int nout) {
  int64_t numel = 1;
  for (int d = 0; d < in[0].shape.rank; d++) {
    if (in[0].shape.dims[d] < 0)
      return ir_node_error(n, INGOT_FAILED_PRECONDITION,
                           "input dimension %d is unknown", d);
    numel = ref_mul_sat(numel, in[0].shape.dims[d]);
  }
  ir_store_i64(IR_I64, out[0].data, 0, numel);
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Constant, ConstantOfShape                                               */
/*===------------------------------------------------------------------===*/

/* Checks a tensor attribute's value: a supported dtype with its data. */
static ingot_status check_tensor_attr(const ir_node *n, const ir_attr *a) {
  if (a->kind != IR_ATTR_TENSOR || !a->tensor)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute '%s' must be a tensor", a->name);
  const ir_value *v = a->tensor;
  if (v->dtype == IR_STRING)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "attribute '%s' is a string tensor; string tensors "
                         "are not supported",
                         a->name);
  if (!ir_dtype_supported(v->dtype))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "attribute '%s' has dtype %s, which is not "
                         "supported",
                         a->name, ir_dtype_name(v->dtype));
  if (!ir_shape_is_static(&v->shape) || (ir_value_nbytes(v) && !v->data))
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute '%s' has no data", a->name);
  return NULL;
}

/* |count| values of |esize| bytes as a borrowed value in the arena. */
static ingot_status arena_value(ir_graph *g, const ir_node *n, ir_dtype t,
                                int rank, int64_t count, const void *src,
                                ir_value *out) {
  size_t nb = (size_t)count * ir_dtype_traits[t].size;
  *out = (ir_value){.dtype = t,
                    .shape = {.rank = rank, .dims = {count}},
                    .borrowed = true};
  if (nb == 0) return NULL;
  out->data = ir_arena_memdup(&g->arena, src, nb);
  return out->data ? NULL : no_memory(n);
}

ingot_status ref_parse_constant(ir_graph *g, ir_node_id nid) {
  static const char *const known[] = {
      "value",        "value_float",   "value_floats", "value_int",
      "value_ints",   "value_string",  "value_strings", "sparse_value",
      NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, known));
  if (n->n_attrs != 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "exactly one of the value attributes must be given "
                         "(found %u)",
                         n->n_attrs);
  const ir_attr *a = &n->attrs[0];
  const char *name = a->name;
  if (!strcmp(name, "sparse_value") || !strcmp(name, "value_string") ||
      !strcmp(name, "value_strings"))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "attribute '%s' is not supported (Ingot has no "
                         "sparse or string tensors)",
                         name);
  ir_p_constant *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return no_memory(n);
  if (!strcmp(name, "value")) {
    INGOT_RETURN_IF_ERROR(check_tensor_attr(n, a));
    p->value = *a->tensor;
    p->value.borrowed = true;
    return NULL;
  }
  bool is_float = !strncmp(name, "value_float", 11);
  bool is_list = name[strlen(name) - 1] == 's';
  ir_attr_kind want = is_float ? (is_list ? IR_ATTR_FLOATS : IR_ATTR_FLOAT)
                               : (is_list ? IR_ATTR_INTS : IR_ATTR_INT);
  if (a->kind != want)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute '%s' has the wrong kind (%d)", name,
                         (int)a->kind);
  ir_dtype t = is_float ? IR_F32 : IR_I64;
  if (!is_list)
    return arena_value(g, n, t, 0, 1, is_float ? (const void *)&a->f
                                               : (const void *)&a->i,
                       &p->value);
  if (a->n > 0 && !(is_float ? (const void *)a->floats : (const void *)a->ints))
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute '%s' has no data", name);
  return arena_value(g, n, t, 1, a->n < 0 ? 0 : a->n,
                     is_float ? (const void *)a->floats : (const void *)a->ints,
                     &p->value);
}

ingot_status ref_infer_constant(const ir_node *n, const ir_value *in, int nin,
                                ir_value *out, int nout) {
  const ir_p_constant *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "node was not parsed");
  out[0].dtype = p->value.dtype;
  out[0].shape = p->value.shape;
  return NULL;
}

ingot_status ref_eval_constant(const ir_node *n, const ir_value *in, int nin,
                               ir_value *out, int nout) {
  const ir_p_constant *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "node was not parsed");
  size_t nb = ir_value_nbytes(&p->value);
  if (nb != ir_value_nbytes(&out[0]))
    return ir_node_error(n, INGOT_INTERNAL, "output size mismatch");
  if (nb) memcpy(out[0].data, p->value.data, nb);
  return NULL;
}

ingot_status ref_parse_constant_of_shape(ir_graph *g, ir_node_id nid) {
  static const char *const known[] = {"value", NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, known));
  ir_p_constant *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return no_memory(n);
  const ir_attr *a = ir_attr_find(n, "value");
  if (!a) {
    static const float zero = 0.0f;
    return arena_value(g, n, IR_F32, 1, 1, &zero, &p->value);
  }
  INGOT_RETURN_IF_ERROR(check_tensor_attr(n, a));
  if (ir_shape_numel(&a->tensor->shape) != 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute 'value' must hold exactly one element");
  p->value = *a->tensor;
  p->value.borrowed = true;
  return NULL;
}

ingot_status ref_infer_constant_of_shape(const ir_node *n, const ir_value *in,
                                         int nin, ir_value *out, int nout) {
  const ir_p_constant *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "node was not parsed");
  int64_t dims[IR_MAX_RANK];
  int k;
  INGOT_RETURN_IF_ERROR(ref_read_ints(n, in, 0, dims, IR_MAX_RANK, &k));
  ir_shape os = {.rank = k};
  for (int i = 0; i < k; i++) {
    if (dims[i] < 0)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "shape value %lld at position %d is negative",
                           (long long)dims[i], i);
    os.dims[i] = dims[i];
  }
  out[0].dtype = p->value.dtype;
  out[0].shape = os;
  return NULL;
}

ingot_status ref_eval_constant_of_shape(const ir_node *n, const ir_value *in,
                                        int nin, ir_value *out, int nout) {
  const ir_p_constant *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "node was not parsed");
  size_t es = ir_dtype_traits[out[0].dtype].size;
  size_t count = ir_shape_numel(&out[0].shape);
  const unsigned char *v = p->value.data;
  bool zero = true;
  for (size_t b = 0; b < es; b++) zero = zero && v[b] == 0;
  if (zero) return NULL; /* the output is already zeroed */
  unsigned char *o = out[0].data;
  for (size_t i = 0; i < count; i++) memcpy(o + i * es, v, es);
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Range                                                                   */
/*===------------------------------------------------------------------===*/

typedef struct range_args {
  bool is_float;
  double fstart, fdelta;
  int64_t istart, idelta;
  int64_t count;
} range_args;

/* Element count of an integer range, exact for every int64 input:
 * max(ceil((limit - start) / delta), 0) computed in unsigned magnitudes. */
static uint64_t range_int_count(int64_t start, int64_t limit, int64_t delta) {
  if (delta > 0) {
    if (limit <= start) return 0;
    uint64_t d = (uint64_t)limit - (uint64_t)start;
    uint64_t s = (uint64_t)delta;
    return d / s + (d % s != 0);
  }
  if (limit >= start) return 0;
  uint64_t d = (uint64_t)start - (uint64_t)limit;
  uint64_t s = (uint64_t)(-(delta + 1)) + 1;
  return d / s + (d % s != 0);
}

static ingot_status range_read(const ir_node *n, const ir_value *in,
                               range_args *r) {
  static const ir_dtype allowed[] = {IR_F32, IR_F64, IR_I16, IR_I32, IR_I64,
                                     IR_DT_UNDEF};
  static const char *const what[] = {"start", "limit", "delta"};
  for (int i = 0; i < 3; i++) {
    INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, i, allowed));
    INGOT_RETURN_IF_ERROR(ref_same_dtype(n, in, 0, i));
    if (in[i].shape.rank > 1 || ir_shape_numel(&in[i].shape) != 1)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "'%s' (input %d) must be a scalar", what[i], i);
  }
  for (int i = 0; i < 3; i++)
    if (!in[i].data) return ir_needs_value(n, i);
  ir_dtype t = in[0].dtype;
  r->is_float = ir_dtype_traits[t].is_float;
  uint64_t count;
  if (r->is_float) {
    double s = ir_load_f64(t, in[0].data, 0);
    double l = ir_load_f64(t, in[1].data, 0);
    double d = ir_load_f64(t, in[2].data, 0);
    if (d == 0)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT, "delta is zero");
    double c = ceil((l - s) / d);
    if (!(c == c)) /* NaN: some input is NaN or inf - inf */
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "range from %g to %g by %g is not finite", s, l,
                           d);
    if (c > (double)RANGE_MAX_COUNT)
      return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED,
                           "range from %g to %g by %g has too many elements",
                           s, l, d);
    count = c > 0 ? (uint64_t)c : 0;
    r->fstart = s;
    r->fdelta = d;
  } else {
    int64_t s = ir_load_i64(t, in[0].data, 0);
    int64_t l = ir_load_i64(t, in[1].data, 0);
    int64_t d = ir_load_i64(t, in[2].data, 0);
    if (d == 0)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT, "delta is zero");
    count = range_int_count(s, l, d);
    if (count > (uint64_t)RANGE_MAX_COUNT)
      return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED,
                           "range from %lld to %lld by %lld has too many "
                           "elements",
                           (long long)s, (long long)l, (long long)d);
    r->istart = s;
    r->idelta = d;
  }
  r->count = (int64_t)count;
  return NULL;
}

ingot_status ref_infer_range(const ir_node *n, const ir_value *in, int nin,
                             ir_value *out, int nout) {
  range_args r;
  INGOT_RETURN_IF_ERROR(range_read(n, in, &r));
  out[0].dtype = in[0].dtype;
  out[0].shape = (ir_shape){.rank = 1, .dims = {r.count}};
  return NULL;
}

/* output[i] = start + i * delta, as the spec's loop writes it. */
ingot_status ref_eval_range(const ir_node *n, const ir_value *in, int nin,
                            ir_value *out, int nout) {
  range_args r;
  INGOT_RETURN_IF_ERROR(range_read(n, in, &r));
  ir_dtype t = out[0].dtype;
  for (int64_t i = 0; i < r.count; i++) {
    if (r.is_float)
      ir_store_f64(t, out[0].data, (size_t)i, r.fstart + (double)i * r.fdelta);
    else /* wrapping arithmetic: the values stay within the dtype's range */
      ir_store_i64(t, out[0].data, (size_t)i,
                   (int64_t)((uint64_t)r.istart +
                             (uint64_t)i * (uint64_t)r.idelta));
  }
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Expand                                                                  */
/*===------------------------------------------------------------------===*/

ingot_status ref_infer_expand(const ir_node *n, const ir_value *in, int nin,
                              ir_value *out, int nout) {
  int64_t dims[IR_MAX_RANK];
  int k;
  size_t es;
  INGOT_RETURN_IF_ERROR(ref_elem_size(n, in[0].dtype, &es));
  INGOT_RETURN_IF_ERROR(ref_read_ints(n, in, 1, dims, IR_MAX_RANK, &k));
  ir_shape target = {.rank = k};
  for (int i = 0; i < k; i++) {
    if (dims[i] < 0)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "shape value %lld at position %d is negative",
                           (long long)dims[i], i);
    target.dims[i] = dims[i];
  }
  const ir_shape *shapes[2] = {&in[0].shape, &target};
  out[0].dtype = in[0].dtype;
  return ref_broadcast(n, shapes, 2, &out[0].shape);
}

ingot_status ref_eval_expand(const ir_node *n, const ir_value *in, int nin,
                             ir_value *out, int nout) {
  int64_t strides[IR_MAX_RANK];
  size_t es;
  INGOT_RETURN_IF_ERROR(ref_elem_size(n, in[0].dtype, &es));
  ref_bcast_strides(&in[0].shape, &out[0].shape, strides);
  ref_copy_strided(out[0].data, in[0].data, 0, strides, es,
                   out[0].shape.rank, out[0].shape.dims);
  return NULL;
}
