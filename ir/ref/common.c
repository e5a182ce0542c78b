/* common.c — helpers shared by every op family of the reference
 * interpreter: broadcasting, axes, integer-list inputs, dtype checks, and
 * the two trivial table entries (ref_parse_none, ref_infer_unary).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ref.h"

void *ref_params_new(ir_graph *g, ir_node_id nid, size_t size) {
  void *p = ir_arena_alloc(&g->arena, size);
  if (p) g->nodes[nid].params = p;
  return p;
}

ingot_status ref_parse_none(ir_graph *g, ir_node_id nid) {
  static const char *const none[] = {NULL};
  return ir_attr_check_known(&g->nodes[nid], none);
}

ingot_status ref_infer_unary(const ir_node *n, const ir_value *in, int nin,
                             ir_value *out, int nout) {
  (void)n;
  (void)nin;
  for (int i = 0; i < nout; i++) {
    out[i].dtype = in[0].dtype;
    out[i].shape = in[0].shape;
  }
  return NULL;
}

int64_t ref_saturate_rne(float v, int64_t zp, int64_t lo, int64_t hi) {
  double s = isnan(v) ? (double)zp : (double)nearbyintf(v) + (double)zp;
  if (s < (double)lo) return lo;
  if (s > (double)hi) return hi;
  return (int64_t)s;
}

ingot_status ref_check_scale_values(const ir_node *n, const ir_value *in,
                                    int nin, int idx, const char *what) {
  if (!ref_has(in, nin, idx) || !in[idx].data ||
      !ir_shape_is_static(&in[idx].shape) ||
      !ir_dtype_traits[in[idx].dtype].is_float)
    return NULL;
  size_t k = ir_shape_numel(&in[idx].shape);
  for (size_t i = 0; i < k; i++) {
    double s = ir_load_f64(in[idx].dtype, in[idx].data, i);
    if (!(s > 0.0) || !isfinite(s)) {
      char at[48] = "";
      if (k > 1) snprintf(at, sizeof at, " at [%zu]", i);
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "%s (input %d) is %g%s; a scale must be positive "
                           "and finite",
                           what, idx, s, at);
    }
  }
  return NULL;
}

ingot_status ref_axis(const ir_node *n, int64_t axis, int rank, int *out) {
  int64_t r = rank;
  if (axis < -r || axis >= (r == 0 ? 1 : r))
    return ir_node_error(n, INGOT_OUT_OF_RANGE,
                         "axis %lld is out of range for rank %d",
                         (long long)axis, rank);
  *out = (int)(axis < 0 ? axis + r : axis);
  return NULL;
}

ingot_status ref_broadcast(const ir_node *n, const ir_shape *const *shapes,
                           int k, ir_shape *out) {
  int rank = 0;
  for (int i = 0; i < k; i++)
    if (shapes[i]->rank > rank) rank = shapes[i]->rank;
  out->rank = rank;
  for (int d = 0; d < rank; d++) {
    int64_t dim = 1;
    for (int i = 0; i < k; i++) {
      int off = rank - shapes[i]->rank;
      if (d < off) continue;
      int64_t v = shapes[i]->dims[d - off];
      if (v == 1) continue;
      if (v < 0) {
        if (dim == 1) dim = v; /* unknown */
        continue;
      }
      if (dim == 1 || dim < 0) {
        dim = v;
      } else if (dim != v) {
        char a[96], b[96];
        return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                             "shapes %s and %s do not broadcast",
                             ir_shape_str(shapes[0], a, sizeof a),
                             ir_shape_str(shapes[i], b, sizeof b));
      }
    }
    out->dims[d] = dim;
  }
  return NULL;
}

void ref_strides(const ir_shape *s, int64_t *strides) {
  int64_t acc = 1;
  for (int d = s->rank - 1; d >= 0; d--) {
    strides[d] = acc;
    acc *= s->dims[d] > 0 ? s->dims[d] : 1;
  }
}

void ref_bcast_strides(const ir_shape *in, const ir_shape *out,
                       int64_t *strides) {
  int64_t own[IR_MAX_RANK];
  ref_strides(in, own);
  int off = out->rank - in->rank;
  for (int d = 0; d < out->rank; d++) {
    if (d < off || in->dims[d - off] == 1)
      strides[d] = 0;
    else
      strides[d] = own[d - off];
  }
}

void ref_iter_init(ref_iter *it, const ir_shape *shape, int nops,
                   const int64_t (*strides)[IR_MAX_RANK]) {
  memset(it, 0, sizeof *it);
  it->rank = shape->rank;
  it->nops = nops;
  for (int d = 0; d < shape->rank; d++) it->dims[d] = shape->dims[d];
  for (int k = 0; k < nops; k++)
    for (int d = 0; d < shape->rank; d++) it->strides[k][d] = strides[k][d];
}

void ref_iter_next(ref_iter *it) {
  for (int d = it->rank - 1; d >= 0; d--) {
    it->idx[d]++;
    for (int k = 0; k < it->nops; k++) it->off[k] += it->strides[k][d];
    if (it->idx[d] < it->dims[d]) return;
    for (int k = 0; k < it->nops; k++)
      it->off[k] -= it->strides[k][d] * it->dims[d];
    it->idx[d] = 0;
  }
}

ingot_status ref_read_ints(const ir_node *n, const ir_value *in, int idx,
                           int64_t *out, int cap, int *count) {
  const ir_value *v = &in[idx];
  if (!v->data) return ir_needs_value(n, idx);
  if (v->dtype != IR_I64 && v->dtype != IR_I32)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input %d must be int32 or int64, not %s", idx,
                         ir_dtype_name(v->dtype));
  size_t k = ir_shape_numel(&v->shape);
  if (v->shape.rank > 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input %d must be a 1-D list, has rank %d", idx,
                         v->shape.rank);
  if (k > (size_t)cap)
    return ir_node_error(n, INGOT_OUT_OF_RANGE,
                         "input %d has %zu values; at most %d are supported",
                         idx, k, cap);
  for (size_t i = 0; i < k; i++) out[i] = ir_load_i64(v->dtype, v->data, i);
  *count = (int)k;
  return NULL;
}

ingot_status ref_read_floats(const ir_node *n, const ir_value *in, int idx,
                             double *out, int cap, int *count) {
  const ir_value *v = &in[idx];
  if (!v->data) return ir_needs_value(n, idx);
  if (!ir_dtype_get(v->dtype) || !ir_dtype_get(v->dtype)->is_float)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input %d must be a float tensor, not %s", idx,
                         ir_dtype_name(v->dtype));
  size_t k = ir_shape_numel(&v->shape);
  if (k > (size_t)cap)
    return ir_node_error(n, INGOT_OUT_OF_RANGE,
                         "input %d has %zu values; at most %d are supported",
                         idx, k, cap);
  for (size_t i = 0; i < k; i++) out[i] = ir_load_f64(v->dtype, v->data, i);
  *count = (int)k;
  return NULL;
}

ingot_status ref_check_dtype(const ir_node *n, const ir_value *in, int idx,
                             const ir_dtype *allowed) {
  for (const ir_dtype *a = allowed; *a != IR_DT_UNDEF; a++)
    if (in[idx].dtype == *a) return NULL;
  return ir_node_error(n, INGOT_UNIMPLEMENTED,
                       "input %d has dtype %s, which this op does not "
                       "support",
                       idx, ir_dtype_name(in[idx].dtype));
}

ingot_status ref_same_dtype(const ir_node *n, const ir_value *in, int i,
                            int j) {
  if (in[i].dtype == in[j].dtype) return NULL;
  return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                       "inputs %d (%s) and %d (%s) must have the same dtype",
                       i, ir_dtype_name(in[i].dtype), j,
                       ir_dtype_name(in[j].dtype));
}

ingot_status ref_spatial_list(const ir_node *n, const char *name,
                              int per_axis, int64_t lo, int64_t hi,
                              int64_t *out, int *rank, bool *has) {
  int count;
  INGOT_RETURN_IF_ERROR(
      ir_attr_ints(n, name, out, per_axis * (IR_MAX_RANK - 2), &count));
  *has = count >= 0;
  if (count < 0) return NULL;
  if (count == 0 || count % per_axis != 0)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute %s has %d values; expected %d per "
                         "spatial axis",
                         name, count, per_axis);
  int r = count / per_axis;
  if (*rank != 0 && r != *rank)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute %s describes %d spatial axes but other "
                         "attributes describe %d",
                         name, r, *rank);
  *rank = r;
  for (int i = 0; i < count; i++)
    if (out[i] < lo || out[i] > hi)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "attribute %s[%d] = %lld is outside [%lld, %lld]",
                           name, i, (long long)out[i], (long long)lo,
                           (long long)hi);
  return NULL;
}

ingot_status ref_set_const_ints(ir_graph *g, ir_node_id nid, int idx,
                                const int64_t *v, int count) {
  ir_value val = {.dtype = IR_I64,
                  .shape = {.rank = 1, .dims = {count}},
                  .data = (void *)v,
                  .borrowed = true};
  return ir_node_set_const_input(g, nid, idx, &val);
}

ingot_status ref_elem_size(const ir_node *n, ir_dtype t, size_t *out) {
  const ir_dtype_info *ti = ir_dtype_get(t);
  if (!ti || ti->size == 0)
    return ir_node_error(n, INGOT_UNIMPLEMENTED, "dtype %s is not supported",
                         ir_dtype_name(t));
  *out = ti->size;
  return NULL;
}
