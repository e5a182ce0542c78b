/* movement.c — reference ops that move elements without arithmetic:
 * Transpose, Concat, Split, Slice, Gather, Tile and Pad.
 *
 * Every kernel copies element bytes (ir_dtype_traits[].size), so one code
 * path serves every dtype, bool and float16 included.  Transpose, Slice,
 * Tile (and Expand, in shape.c) are all "read a strided view into a
 * contiguous output", done by one routine, ref_copy_strided, which merges
 * contiguous dimensions and copies whole rows with memcpy when the innermost
 * view is contiguous.  Concat, Split and Gather copy contiguous chunks.
 *
 * Infer works from shapes alone where the spec allows (Transpose, Concat,
 * Gather) and asks for an input's values (ir_needs_value) only for the
 * integer lists that decide the output shape (Split sizes, Slice starts/
 * ends/axes/steps, Tile repeats, Pad pads).  Old-opset attributes (Split
 * 'split', Slice-1 starts/ends/axes, Pad-2 pads/value) become constant
 * inputs at parse time.  Indices that come from data (Gather) are checked
 * before any read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

#define VIEW_MAX_RANK (2 * IR_MAX_RANK)
/* Split refuses more outputs than this (sizes live on the stack). */
#define SPLIT_MAX_OUTPUTS 1024

static int64_t prod(const int64_t *dims, int from, int to) {
  int64_t p = 1;
  for (int d = from; d < to; d++) p *= dims[d];
  return p;
}

static ingot_status no_memory(const ir_node *n) {
  return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
}

/*===------------------------------------------------------------------===*/
/* The strided copy                                                        */
/*===------------------------------------------------------------------===*/

/* dst[i] = src[i * stride] for |count| elements of |esize| bytes.  The
 * constant-size memcpy calls compile to plain moves. */
static void copy_row(char *dst, const char *src, int64_t stride,
                     int64_t count, size_t esize) {
  if (stride == 1) {
    memcpy(dst, src, (size_t)count * esize);
    return;
  }
  ptrdiff_t step = (ptrdiff_t)stride * (ptrdiff_t)esize;
  switch (esize) {
  case 1:
    for (int64_t i = 0; i < count; i++) dst[i] = src[i * step];
    break;
  case 2:
    for (int64_t i = 0; i < count; i++) memcpy(dst + 2 * i, src + i * step, 2);
    break;
  case 4:
    for (int64_t i = 0; i < count; i++) memcpy(dst + 4 * i, src + i * step, 4);
    break;
  case 8:
    for (int64_t i = 0; i < count; i++) memcpy(dst + 8 * i, src + i * step, 8);
    break;
  default:
    for (int64_t i = 0; i < count; i++)
      memcpy(dst + (size_t)i * esize, src + i * step, esize);
    break;
  }
}

/* Copies the |rank|-D box |dims| into contiguous |dst|, reading the element
 * at index i from src[base + sum i[d] * src_str[d]] (in elements; strides
 * may be 0 or negative, every address read must lie in |src|).
 * rank <= VIEW_MAX_RANK.  Shared with Expand (shape.c). */
void ref_copy_strided(void *dst, const void *src, int64_t base,
                      const int64_t *src_str, size_t esize, int rank,
                      const int64_t *dims) {
  int64_t d[VIEW_MAX_RANK], s[VIEW_MAX_RANK], idx[VIEW_MAX_RANK] = {0};
  int r = 0;
  for (int k = 0; k < rank; k++) {
    if (dims[k] == 0) return;
    if (dims[k] == 1) continue;
    if (r > 0 && s[r - 1] == src_str[k] * dims[k]) { /* merge into outer */
      d[r - 1] *= dims[k];
      s[r - 1] = src_str[k];
      continue;
    }
    d[r] = dims[k];
    s[r] = src_str[k];
    r++;
  }
  const char *in = src;
  char *o = dst;
  if (r == 0) {
    memcpy(o, in + base * (ptrdiff_t)esize, esize);
    return;
  }
  int64_t inner = d[r - 1], off = base;
  for (;;) {
    copy_row(o, in + off * (ptrdiff_t)esize, s[r - 1], inner, esize);
    o += (size_t)inner * esize;
    int k = r - 2;
    for (; k >= 0; k--) {
      off += s[k];
      if (++idx[k] < d[k]) break;
      off -= s[k] * d[k];
      idx[k] = 0;
    }
    if (k < 0) return;
  }
}

/*===------------------------------------------------------------------===*/
/* Transpose                                                               */
/*===------------------------------------------------------------------===*/

ingot_status ref_parse_transpose(ir_graph *g, ir_node_id nid) {
  static const char *const known[] = {"perm", NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, known));
  ir_p_transpose *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return no_memory(n);
  int count;
  INGOT_RETURN_IF_ERROR(ir_attr_ints(n, "perm", p->perm, IR_MAX_RANK, &count));
  p->n_perm = count < 0 ? 0 : count;
  bool seen[IR_MAX_RANK] = {false};
  for (int i = 0; i < p->n_perm; i++) {
    int64_t v = p->perm[i];
    if (v < 0 || v >= count || seen[v])
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "attribute 'perm' is not a permutation of "
                           "0..%d (entry %d is %lld)",
                           count - 1, i, (long long)v);
    seen[v] = true;
  }
  return NULL;
}

/* The input axis each output axis reads. */
static ingot_status transpose_perm(const ir_node *n, int rank, int *perm) {
  const ir_p_transpose *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "node was not parsed");
  if (p->n_perm == 0) {
    for (int d = 0; d < rank; d++) perm[d] = rank - 1 - d;
    return NULL;
  }
  if (p->n_perm != rank)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute 'perm' has %d entries but the input has "
                         "rank %d",
                         p->n_perm, rank);
  for (int d = 0; d < rank; d++) perm[d] = (int)p->perm[d];
  return NULL;
}

ingot_status ref_infer_transpose(const ir_node *n, const ir_value *in,
                                 int nin, ir_value *out, int nout) {
  int perm[IR_MAX_RANK];
  const ir_shape *is = &in[0].shape;
  INGOT_RETURN_IF_ERROR(transpose_perm(n, is->rank, perm));
  out[0].dtype = in[0].dtype;
  out[0].shape.rank = is->rank;
  for (int d = 0; d < is->rank; d++) out[0].shape.dims[d] = is->dims[perm[d]];
  return NULL;
}

ingot_status ref_eval_transpose(const ir_node *n, const ir_value *in,
                                int nin, ir_value *out, int nout) {
  int perm[IR_MAX_RANK];
  int64_t is[IR_MAX_RANK], str[IR_MAX_RANK];
  size_t es;
  INGOT_RETURN_IF_ERROR(ref_elem_size(n, in[0].dtype, &es));
  INGOT_RETURN_IF_ERROR(transpose_perm(n, in[0].shape.rank, perm));
  ref_strides(&in[0].shape, is);
  for (int d = 0; d < in[0].shape.rank; d++) str[d] = is[perm[d]];
  ref_copy_strided(out[0].data, in[0].data, 0, str, es, out[0].shape.rank,
                   out[0].shape.dims);
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Concat                                                                  */
/*===------------------------------------------------------------------===*/

/* Concat and Gather: 'axis' (Concat requires it, Gather defaults to 0). */
ingot_status ref_parse_axis(ir_graph *g, ir_node_id nid) {
  static const char *const known[] = {"axis", NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, known));
  if (n->op == IR_OP_CONCAT && !ir_attr_find(n, "axis"))
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute 'axis' is required");
  ir_p_axis *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return no_memory(n);
  return ir_attr_int(n, "axis", 0, &p->axis);
}

static ingot_status axis_of(const ir_node *n, int rank, int *axis) {
  const ir_p_axis *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "node was not parsed");
  if (rank == 0)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "the input must have rank >= 1, not be a scalar");
  return ref_axis(n, p->axis, rank, axis);
}

ingot_status ref_infer_concat(const ir_node *n, const ir_value *in, int nin,
                              ir_value *out, int nout) {
  const ir_shape *s0 = &in[0].shape;
  int axis;
  INGOT_RETURN_IF_ERROR(axis_of(n, s0->rank, &axis));
  ir_shape os = *s0;
  char a[96], b[96];
  for (int i = 0; i < nin; i++) {
    if (!ref_has(in, nin, i))
      return ir_node_error(n, INGOT_INVALID_ARGUMENT, "input %d is missing",
                           i);
    INGOT_RETURN_IF_ERROR(ref_same_dtype(n, in, 0, i));
    const ir_shape *si = &in[i].shape;
    bool ok = si->rank == s0->rank;
    for (int d = 0; ok && d < os.rank; d++) {
      int64_t v = si->dims[d];
      if (i == 0) continue;
      if (d == axis)
        os.dims[d] = (os.dims[d] < 0 || v < 0) ? -1 : os.dims[d] + v;
      else if (os.dims[d] < 0)
        os.dims[d] = v;
      else if (v >= 0 && v != os.dims[d])
        ok = false;
    }
    if (!ok)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "input %d has shape %s, which does not match "
                           "input 0's %s outside axis %d",
                           i, ir_shape_str(si, a, sizeof a),
                           ir_shape_str(s0, b, sizeof b), axis);
  }
  out[0].dtype = in[0].dtype;
  out[0].shape = os;
  return NULL;
}

ingot_status ref_eval_concat(const ir_node *n, const ir_value *in, int nin,
                             ir_value *out, int nout) {
  const ir_shape *os = &out[0].shape;
  int axis;
  size_t es;
  INGOT_RETURN_IF_ERROR(ref_elem_size(n, out[0].dtype, &es));
  INGOT_RETURN_IF_ERROR(axis_of(n, os->rank, &axis));
  int64_t outer = prod(os->dims, 0, axis);
  size_t inner = (size_t)prod(os->dims, axis + 1, os->rank) * es;
  char *o = out[0].data;
  for (int64_t j = 0; j < outer; j++) {
    for (int i = 0; i < nin; i++) {
      size_t chunk = (size_t)in[i].shape.dims[axis] * inner;
      if (chunk == 0) continue;
      memcpy(o, (const char *)in[i].data + (size_t)j * chunk, chunk);
      o += chunk;
    }
  }
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Split                                                                   */
/*===------------------------------------------------------------------===*/

ingot_status ref_parse_split(ir_graph *g, ir_node_id nid) {
  static const char *const old[] = {"axis", "split", NULL};
  static const char *const cur[] = {"axis", NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, n->opset < 13 ? old : cur));
  ir_p_split *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return no_memory(n);
  INGOT_RETURN_IF_ERROR(ir_attr_int(n, "axis", 0, &p->axis));
  if (n->opset >= 13) return NULL;
  int64_t sizes[SPLIT_MAX_OUTPUTS];
  int count;
  INGOT_RETURN_IF_ERROR(
      ir_attr_ints(n, "split", sizes, SPLIT_MAX_OUTPUTS, &count));
  if (count < 0) return NULL;
  if (n->n_in > 1 && n->in[1])
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "has both a 'split' attribute and a split input");
  return ref_set_const_ints(g, nid, 1, sizes, count);
}

/* The axis and the size of each output along it; sizes[i] < 0 when the
 * axis length is unknown and no sizes were given. */
static ingot_status split_plan(const ir_node *n, const ir_value *in, int nin,
                               int nout, int *axis, int64_t *sizes) {
  const ir_p_split *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "node was not parsed");
  if (nout > SPLIT_MAX_OUTPUTS)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "%d outputs; at most %d are supported", nout,
                         SPLIT_MAX_OUTPUTS);
  const ir_shape *is = &in[0].shape;
  if (is->rank == 0)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT, "cannot split a scalar");
  INGOT_RETURN_IF_ERROR(ref_axis(n, p->axis, is->rank, axis));
  int64_t dim = is->dims[*axis];
  if (ref_has(in, nin, 1)) {
    int k;
    INGOT_RETURN_IF_ERROR(
        ref_read_ints(n, in, 1, sizes, SPLIT_MAX_OUTPUTS, &k));
    if (k != nout)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "%d split sizes given for %d outputs", k, nout);
    int64_t sum = 0;
    for (int i = 0; i < k; i++) {
      if (sizes[i] < 0)
        return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                             "split size %lld is negative",
                             (long long)sizes[i]);
      sum = sizes[i] > INT64_MAX - sum ? INT64_MAX : sum + sizes[i];
    }
    if (dim >= 0 && sum != dim)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "split sizes add up to %lld but axis %d has "
                           "length %lld",
                           (long long)sum, *axis, (long long)dim);
    return NULL;
  }
  if (dim >= 0 && dim % nout != 0)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "axis %d of length %lld cannot be split into %d "
                         "equal parts",
                         *axis, (long long)dim, nout);
  for (int i = 0; i < nout; i++) sizes[i] = dim < 0 ? -1 : dim / nout;
  return NULL;
}

ingot_status ref_infer_split(const ir_node *n, const ir_value *in, int nin,
                             ir_value *out, int nout) {
  int64_t sizes[SPLIT_MAX_OUTPUTS];
  int axis;
  INGOT_RETURN_IF_ERROR(split_plan(n, in, nin, nout, &axis, sizes));
  for (int i = 0; i < nout; i++) {
    out[i].dtype = in[0].dtype;
    out[i].shape = in[0].shape;
    out[i].shape.dims[axis] = sizes[i];
  }
  return NULL;
}

ingot_status ref_eval_split(const ir_node *n, const ir_value *in, int nin,
                            ir_value *out, int nout) {
  int64_t sizes[SPLIT_MAX_OUTPUTS];
  int axis;
  size_t es;
  INGOT_RETURN_IF_ERROR(ref_elem_size(n, in[0].dtype, &es));
  INGOT_RETURN_IF_ERROR(split_plan(n, in, nin, nout, &axis, sizes));
  const ir_shape *is = &in[0].shape;
  int64_t outer = prod(is->dims, 0, axis);
  size_t inner = (size_t)prod(is->dims, axis + 1, is->rank) * es;
  const char *src = in[0].data;
  for (int64_t j = 0; j < outer; j++) {
    for (int i = 0; i < nout; i++) {
      size_t chunk = (size_t)sizes[i] * inner;
      if (chunk == 0) continue;
      memcpy((char *)out[i].data + (size_t)j * chunk, src, chunk);
      src += chunk;
    }
  }
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Slice                                                                   */
/*===------------------------------------------------------------------===*/

/* Slice-1 (opsets < 10) takes starts/ends/axes as attributes. */
ingot_status ref_parse_slice(ir_graph *g, ir_node_id nid) {
  static const char *const old[] = {"starts", "ends", "axes", NULL};
  static const char *const none[] = {NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, n->opset < 10 ? old : none));
  if (n->opset >= 10) return NULL;
  static const char *const names[] = {"starts", "ends", "axes"};
  int64_t v[3][IR_MAX_RANK];
  int count[3];
  for (int i = 0; i < 3; i++)
    INGOT_RETURN_IF_ERROR(
        ir_attr_ints(n, names[i], v[i], IR_MAX_RANK, &count[i]));
  if (count[0] < 0 || count[1] < 0)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attributes 'starts' and 'ends' are required "
                         "before opset 10");
  if (n->n_in > 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "has %d inputs; before opset 10 Slice takes one",
                         n->n_in);
  for (int i = 0; i < 3; i++)
    if (count[i] >= 0)
      INGOT_RETURN_IF_ERROR(ref_set_const_ints(g, nid, 1 + i, v[i], count[i]));
  return NULL;
}

/* Per input axis: first element, step, and output length (spec clamping:
 * negative starts/ends count from the back; for step > 0 both clamp to
 * [0, dim], for step < 0 start clamps to [0, dim-1] and end to [-1, dim-1]).
 * Output dims are -1 on sliced axes of unknown length. */
static ingot_status slice_plan(const ir_node *n, const ir_value *in, int nin,
                               int64_t *start, int64_t *step, ir_shape *os) {
  static const char *const what[] = {"", "starts", "ends", "axes", "steps"};
  const ir_shape *is = &in[0].shape;
  int64_t v[5][IR_MAX_RANK];
  int count[5] = {0};
  for (int i = 1; i <= 2; i++)
    if (!ref_has(in, nin, i))
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "input %d (%s) is missing", i, what[i]);
  for (int i = 1; i <= 4; i++) {
    if (!ref_has(in, nin, i)) continue;
    INGOT_RETURN_IF_ERROR(ref_read_ints(n, in, i, v[i], IR_MAX_RANK,
                                        &count[i]));
    if (count[i] != count[1])
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "'%s' has %d values but 'starts' has %d", what[i],
                           count[i], count[1]);
  }
  int k = count[1];
  if (!ref_has(in, nin, 3)) {
    if (k > is->rank)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "%d starts given for an input of rank %d", k,
                           is->rank);
    for (int i = 0; i < k; i++) v[3][i] = i;
  }
  *os = *is;
  for (int d = 0; d < is->rank; d++) {
    start[d] = 0;
    step[d] = 1;
  }
  bool seen[IR_MAX_RANK] = {false};
  for (int i = 0; i < k; i++) {
    int a;
    if (is->rank == 0)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "cannot slice a scalar");
    INGOT_RETURN_IF_ERROR(ref_axis(n, v[3][i], is->rank, &a));
    if (seen[a])
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "axis %d is listed twice", a);
    seen[a] = true;
    int64_t st = ref_has(in, nin, 4) ? v[4][i] : 1;
    if (st == 0)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "step for axis %d is zero", a);
    step[a] = st;
    int64_t dim = is->dims[a];
    if (dim < 0) {
      os->dims[a] = -1;
      continue;
    }
    int64_t s = v[1][i], e = v[2][i];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    int64_t len;
    if (st > 0) {
      s = s < 0 ? 0 : s > dim ? dim : s;
      e = e < 0 ? 0 : e > dim ? dim : e;
      len = e > s ? (e - s - 1) / st + 1 : 0;
    } else {
      s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
      e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
      int64_t mst = st < -INT64_MAX ? INT64_MAX : -st;
      len = s > e ? (s - e - 1) / mst + 1 : 0;
    }
    start[a] = s;
    os->dims[a] = len;
  }
  return NULL;
}

ingot_status ref_infer_slice(const ir_node *n, const ir_value *in, int nin,
                             ir_value *out, int nout) {
  int64_t start[IR_MAX_RANK], step[IR_MAX_RANK];
  out[0].dtype = in[0].dtype;
  return slice_plan(n, in, nin, start, step, &out[0].shape);
}

ingot_status ref_eval_slice(const ir_node *n, const ir_value *in, int nin,
                            ir_value *out, int nout) {
  int64_t start[IR_MAX_RANK], step[IR_MAX_RANK], is[IR_MAX_RANK];
  int64_t str[IR_MAX_RANK], base = 0;
  ir_shape os;
  size_t es;
  INGOT_RETURN_IF_ERROR(ref_elem_size(n, in[0].dtype, &es));
  INGOT_RETURN_IF_ERROR(slice_plan(n, in, nin, start, step, &os));
  ref_strides(&in[0].shape, is);
  for (int d = 0; d < os.rank; d++) {
    base += start[d] * is[d];
    str[d] = step[d] * is[d];
  }
  ref_copy_strided(out[0].data, in[0].data, base, str, es, os.rank, os.dims);
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Gather                                                                  */
/*===------------------------------------------------------------------===*/

ingot_status ref_infer_gather(const ir_node *n, const ir_value *in, int nin,
                              ir_value *out, int nout) {
  static const ir_dtype idx_types[] = {IR_I32, IR_I64, IR_DT_UNDEF};
  const ir_shape *ds = &in[0].shape, *xs = &in[1].shape;
  int axis;
  INGOT_RETURN_IF_ERROR(ref_check_dtype(n, in, 1, idx_types));
  INGOT_RETURN_IF_ERROR(axis_of(n, ds->rank, &axis));
  int rank = ds->rank - 1 + xs->rank;
  if (rank > IR_MAX_RANK)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "output rank %d exceeds the supported %d", rank,
                         IR_MAX_RANK);
  ir_shape os = {.rank = rank};
  int j = 0;
  for (int d = 0; d < axis; d++) os.dims[j++] = ds->dims[d];
  for (int d = 0; d < xs->rank; d++) os.dims[j++] = xs->dims[d];
  for (int d = axis + 1; d < ds->rank; d++) os.dims[j++] = ds->dims[d];
  out[0].dtype = in[0].dtype;
  out[0].shape = os;
  return NULL;
}

ingot_status ref_eval_gather(const ir_node *n, const ir_value *in, int nin,
                             ir_value *out, int nout) {
  const ir_shape *ds = &in[0].shape;
  int axis;
  size_t es;
  INGOT_RETURN_IF_ERROR(ref_elem_size(n, in[0].dtype, &es));
  INGOT_RETURN_IF_ERROR(axis_of(n, ds->rank, &axis));
  int64_t dim = ds->dims[axis];
  int64_t outer = prod(ds->dims, 0, axis);
  size_t inner = (size_t)prod(ds->dims, axis + 1, ds->rank) * es;
  size_t k = ir_shape_numel(&in[1].shape);
  /* Check every index before reading anything. */
  for (size_t i = 0; i < k; i++) {
    int64_t v = ir_load_i64(in[1].dtype, in[1].data, i);
    if (v < -dim || v >= dim)
      return ir_node_error(n, INGOT_OUT_OF_RANGE,
                           "index %lld (element %zu of the indices) is out "
                           "of range for axis %d of length %lld",
                           (long long)v, i, axis, (long long)dim);
  }
  if (k == 0 || outer == 0 || inner == 0) return NULL;
  const char *src = in[0].data;
  char *o = out[0].data;
  for (int64_t j = 0; j < outer; j++) {
    const char *block = src + (size_t)j * (size_t)dim * inner;
    for (size_t i = 0; i < k; i++) {
      int64_t v = ir_load_i64(in[1].dtype, in[1].data, i);
      if (v < 0) v += dim;
      memcpy(o, block + (size_t)v * inner, inner);
      o += inner;
    }
  }
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Tile                                                                    */
/*===------------------------------------------------------------------===*/

static ingot_status tile_repeats(const ir_node *n, const ir_value *in,
                                 int64_t *rep) {
  int k;
  INGOT_RETURN_IF_ERROR(ref_read_ints(n, in, 1, rep, IR_MAX_RANK, &k));
  if (k != in[0].shape.rank)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "%d repeats given for an input of rank %d", k,
                         in[0].shape.rank);
  for (int i = 0; i < k; i++)
    if (rep[i] < 0)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "repeat %lld for axis %d is negative",
                           (long long)rep[i], i);
  return NULL;
}

ingot_status ref_infer_tile(const ir_node *n, const ir_value *in, int nin,
                            ir_value *out, int nout) {
  int64_t rep[IR_MAX_RANK];
  INGOT_RETURN_IF_ERROR(tile_repeats(n, in, rep));
  const ir_shape *is = &in[0].shape;
  out[0].dtype = in[0].dtype;
  out[0].shape = *is;
  for (int d = 0; d < is->rank; d++) {
    if (is->dims[d] < 0) {
      out[0].shape.dims[d] = rep[d] == 0 ? 0 : -1;
      continue;
    }
    int64_t v = ref_mul_sat(is->dims[d], rep[d]);
    if (v == INT64_MAX)
      return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED,
                           "axis %d of the output is too long", d);
    out[0].shape.dims[d] = v;
  }
  return NULL;
}

/* Output axis d of length r*n is the row-major pair (repeat, i) of lengths
 * (r, n): read as a 2*rank view with stride 0 on each repeat axis. */
ingot_status ref_eval_tile(const ir_node *n, const ir_value *in, int nin,
                           ir_value *out, int nout) {
  int64_t rep[IR_MAX_RANK], is[IR_MAX_RANK];
  int64_t dims[VIEW_MAX_RANK], str[VIEW_MAX_RANK];
  size_t es;
  INGOT_RETURN_IF_ERROR(ref_elem_size(n, in[0].dtype, &es));
  INGOT_RETURN_IF_ERROR(tile_repeats(n, in, rep));
  const ir_shape *s = &in[0].shape;
  ref_strides(s, is);
  for (int d = 0; d < s->rank; d++) {
    dims[2 * d] = rep[d];
    str[2 * d] = 0;
    dims[2 * d + 1] = s->dims[d];
    str[2 * d + 1] = is[d];
  }
  ref_copy_strided(out[0].data, in[0].data, 0, str, es, 2 * s->rank, dims);
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Pad                                                                     */
/*===------------------------------------------------------------------===*/

/* Pad-2 (opsets < 11) takes 'pads' and 'value' as attributes; they become
 * input 1 (int64) and input 2 (X's dtype when known, else float32: Pad-2
 * only takes float types, and eval converts). */
ingot_status ref_parse_pad(ir_graph *g, ir_node_id nid) {
  static const char *const old[] = {"mode", "pads", "value", NULL};
  static const char *const cur[] = {"mode", NULL};
  ir_node *n = ref_node(g, nid);
  INGOT_RETURN_IF_ERROR(ir_attr_check_known(n, n->opset < 11 ? old : cur));
  ir_p_pad *p = ref_params_new(g, nid, sizeof *p);
  if (!p) return no_memory(n);
  const char *mode;
  INGOT_RETURN_IF_ERROR(ir_attr_string(n, "mode", "constant", &mode));
  if (!strcmp(mode, "constant"))
    p->mode = IR_PADMODE_CONSTANT;
  else if (!strcmp(mode, "reflect"))
    p->mode = IR_PADMODE_REFLECT;
  else if (!strcmp(mode, "edge"))
    p->mode = IR_PADMODE_EDGE;
  else if (!strcmp(mode, "wrap"))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "attribute 'mode' = 'wrap' (opset 19) is not "
                         "supported");
  else
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute 'mode' = '%s' is not one of constant, "
                         "reflect, edge",
                         mode);
  if (n->opset >= 11) return NULL;
  int64_t pads[2 * IR_MAX_RANK];
  int count;
  float value;
  INGOT_RETURN_IF_ERROR(ir_attr_ints(n, "pads", pads, 2 * IR_MAX_RANK, &count));
  INGOT_RETURN_IF_ERROR(ir_attr_float(n, "value", 0.0f, &value));
  if (count < 0)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "attribute 'pads' is required before opset 11");
  if (n->n_in > 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "has %d inputs; before opset 11 Pad takes one",
                         n->n_in);
  ir_dtype t = g->tensors[n->in[0]].dtype;
  if (!ir_dtype_get(t) || !ir_dtype_get(t)->is_float) t = IR_F32;
  unsigned char vbuf[8] = {0};
  ir_store_f64(t, vbuf, 0, value);
  ir_value v = {.dtype = t, .shape = {.rank = 0}, .data = vbuf,
                .borrowed = true};
  INGOT_RETURN_IF_ERROR(ref_set_const_ints(g, nid, 1, pads, count));
  return ir_node_set_const_input(g, nid, 2, &v);
}

/* Begin/end pads per axis (pads[d], pads[rank + d]) and the output shape;
 * negative pads crop. */
static ingot_status pad_plan(const ir_node *n, const ir_value *in, int nin,
                             int64_t *pads, ir_shape *os) {
  const ir_p_pad *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "node was not parsed");
  const ir_shape *is = &in[0].shape;
  if (ref_has(in, nin, 3))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "the 'axes' input (opset 18) is not supported");
  if (!ref_has(in, nin, 1))
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "the pads (input 1) are missing");
  if (ref_has(in, nin, 2)) {
    if (in[2].dtype != in[0].dtype && n->opset >= 11)
      INGOT_RETURN_IF_ERROR(ref_same_dtype(n, in, 0, 2));
    if (ir_shape_is_static(&in[2].shape) &&
        ir_shape_numel(&in[2].shape) != 1)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "the constant value (input 2) must be a scalar");
  }
  int k;
  INGOT_RETURN_IF_ERROR(
      ref_read_ints(n, in, 1, pads, 2 * IR_MAX_RANK, &k));
  if (k != 2 * is->rank)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "%d pads given for an input of rank %d (need %d)", k,
                         is->rank, 2 * is->rank);
  *os = *is;
  for (int d = 0; d < is->rank; d++) {
    int64_t dim = is->dims[d], b = pads[d], e = pads[is->rank + d];
    if (dim < 0) continue;
    if (b > INT64_MAX / 4 || e > INT64_MAX / 4 || b < -dim || e < -dim ||
        dim + b + e < 0)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "pads %lld and %lld are invalid for axis %d of "
                           "length %lld",
                           (long long)b, (long long)e, d, (long long)dim);
    os->dims[d] = dim + b + e;
    if (dim == 0 && os->dims[d] > 0 && p->mode != IR_PADMODE_CONSTANT)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "cannot pad the empty axis %d in mode %s", d,
                           p->mode == IR_PADMODE_EDGE ? "edge" : "reflect");
  }
  return NULL;
}

ingot_status ref_infer_pad(const ir_node *n, const ir_value *in, int nin,
                           ir_value *out, int nout) {
  int64_t pads[2 * IR_MAX_RANK];
  out[0].dtype = in[0].dtype;
  return pad_plan(n, in, nin, pads, &out[0].shape);
}

/* Input index that output index |o| of an axis reads, or -1 for the
 * constant. */
static int64_t pad_source(ir_pad_mode mode, int64_t o, int64_t begin,
                          int64_t dim) {
  int64_t c = o - begin;
  if (c >= 0 && c < dim) return c;
  switch (mode) {
  case IR_PADMODE_EDGE:
    return c < 0 ? 0 : dim - 1;
  case IR_PADMODE_REFLECT: {
    if (dim == 1) return 0;
    int64_t period = 2 * (dim - 1);
    c %= period;
    if (c < 0) c += period;
    return c < dim ? c : period - c;
  }
  default:
    return -1;
  }
}

/* Each output axis gets a table output index -> input index (or -1); the
 * rows are then filled element by element from the tables. */
ingot_status ref_eval_pad(const ir_node *n, const ir_value *in, int nin,
                          ir_value *out, int nout) {
  const ir_p_pad *p = n->params;
  int64_t pads[2 * IR_MAX_RANK], is[IR_MAX_RANK];
  ir_shape os;
  size_t es;
  INGOT_RETURN_IF_ERROR(ref_elem_size(n, in[0].dtype, &es));
  INGOT_RETURN_IF_ERROR(pad_plan(n, in, nin, pads, &os));
  ir_dtype t = in[0].dtype;
  unsigned char value[16] = {0};
  if (ref_has(in, nin, 2) && in[2].data && ir_shape_numel(&in[2].shape)) {
    if (in[2].dtype == t)
      memcpy(value, in[2].data, es);
    else if (ir_dtype_traits[t].is_float)
      ir_store_f64(t, value, 0, ir_load_f64(in[2].dtype, in[2].data, 0));
    else
      ir_store_i64(t, value, 0, ir_load_i64(in[2].dtype, in[2].data, 0));
  }
  int r = os.rank;
  const char *src = in[0].data;
  char *o = out[0].data;
  if (r == 0) {
    memcpy(o, src, es);
    return NULL;
  }
  if (ir_shape_numel(&os) == 0) return NULL;
  int64_t total = 0;
  for (int d = 0; d < r; d++) total += os.dims[d];
  int64_t *maps = malloc((size_t)total * sizeof *maps);
  if (!maps) return no_memory(n);
  int64_t *map[IR_MAX_RANK], *at = maps;
  for (int d = 0; d < r; at += os.dims[d], d++) {
    map[d] = at;
    for (int64_t i = 0; i < os.dims[d]; i++)
      map[d][i] = pad_source(p->mode, i, pads[d], in[0].shape.dims[d]);
  }
  ref_strides(&in[0].shape, is);
  int64_t idx[IR_MAX_RANK] = {0}, inner = os.dims[r - 1];
  for (;;) {
    int64_t off = 0;
    bool inside = true;
    for (int d = 0; d < r - 1 && inside; d++) {
      inside = map[d][idx[d]] >= 0;
      off += map[d][idx[d]] * is[d];
    }
    for (int64_t i = 0; i < inner; i++, o += es) {
      int64_t m = inside ? map[r - 1][i] : -1;
      memcpy(o, m >= 0 ? src + (size_t)(off + m) * es : (const char *)value,
             es);
    }
    int d = r - 2;
    for (; d >= 0; d--) {
      if (++idx[d] < os.dims[d]) break;
      idx[d] = 0;
    }
    if (d < 0) break;
  }
  free(maps);
  return NULL;
}
