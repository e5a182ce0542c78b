/* lower_movement.c — lowering of the data-movement ops: Reshape, Flatten,
 * Squeeze, Unsqueeze, Transpose, Concat, Split, Slice, Gather, Tile,
 * Expand and Pad (templates in kernels/generic/movement.c).
 *
 * Most of these ops are "copy a box of elements from one strided view to
 * another": Transpose permutes the source strides, Slice offsets and
 * scales them (negative steps give negative strides), Tile reads a 2*rank
 * view with stride 0 on the repeat axes, Expand puts stride 0 on the
 * broadcast axes, Concat writes each input into a slab of the output and
 * Split reads each output's slab of the input.  emit_box turns any such
 * box into one k_mv_copy step: it drops unit dims, orders the dims so the
 * writes are sequential, merges dims that are contiguous on both sides,
 * and picks a blocked transpose when the source is contiguous along an
 * axis other than the innermost written one.
 *
 * Layouts.  Every view is first read in the model's axis order
 * (lview_of): an NHWC view of a 4-D tensor is the NCHW tensor with
 * permuted strides, so these ops accept any mix of AS_MODEL and NHWC
 * operands (today's planner gives them AS_MODEL views only; NHWC ones are
 * just other strides to the box copy).  Reshape-like ops and Gather need
 * a row-major side and say UNIMPLEMENTED otherwise.  Shape-carrying inputs (Slice starts..., Tile
 * repeats, Pad pads, Split sizes) must be constants, as they are in an
 * engine with static shapes; one that is not fails with "depends on
 * run-time data" (FAILED_PRECONDITION).
 *
 * Gather's indices may be computed at run time.  The reference rejects an
 * out-of-range index; an engine cannot report an error from inside a step,
 * so the template wraps a negative index once (i + dim) and clamps what is
 * still outside [0, dim) to the nearest end: it never reads outside the
 * data (kernels/generic/movement.h).
 *
 * Reshape, Flatten, Squeeze and Unsqueeze are a plain copy, or nothing when
 * the planner gives input and output the same buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_format.h"
#include "generic/movement.h"
#include "generic/plan.h"
#include "lower.h"

/*===------------------------------------------------------------------===*/
/* Helpers                                                                 */
/*===------------------------------------------------------------------===*/

/* Split outputs handled (the reference's limit). */
#define MV_MAX_SPLIT 1024

/* A view in the model's axis order: dims and element strides. */
typedef struct lview {
  int rank;
  int64_t dims[IR_MAX_RANK];
  int64_t str[IR_MAX_RANK];
} lview;

static void row_major(int rank, const int64_t *dims, int64_t *str) {
  int64_t s = 1;
  for (int d = rank - 1; d >= 0; d--) {
    str[d] = s;
    s *= dims[d];
  }
}

static ingot_status lview_of(const ir_node *n, const cg_view *v,
                             const char *what, lview *out) {
  out->rank = v->rank;
  if (v->layout == INGOT_LAYOUT_AS_MODEL) {
    memcpy(out->dims, v->dims, sizeof out->dims);
    row_major(v->rank, v->dims, out->str);
    return NULL;
  }
  if (v->layout == INGOT_LAYOUT_NHWC && v->rank == 4) {
    /* memory N,H,W,C; model N,C,H,W */
    int64_t N = v->dims[0], H = v->dims[1], W = v->dims[2], C = v->dims[3];
    int64_t dims[4] = {N, C, H, W}, str[4] = {H * W * C, 1, W * C, C};
    memcpy(out->dims, dims, sizeof dims);
    memcpy(out->str, str, sizeof str);
    return NULL;
  }
  return ir_node_error(n, INGOT_UNIMPLEMENTED,
                       "%s has layout %d at rank %d, which this lowering "
                       "does not support",
                       what, v->layout, v->rank);
}

/* Whether the view's elements lie in row-major model order. */
static bool lview_row_major(const lview *l) {
  int64_t s = 1;
  for (int d = l->rank - 1; d >= 0; d--) {
    if (l->dims[d] != 1 && l->str[d] != s) return false;
    s *= l->dims[d];
  }
  return true;
}

static int64_t numel(int rank, const int64_t *dims) {
  int64_t p = 1;
  for (int d = 0; d < rank; d++) p *= dims[d];
  return p;
}

/* Tasks for |units| pieces of work moving |bytes| in all: about 64 KiB
 * per task, at most 64 tasks and never more than units. */
static int64_t pick_tasks(int64_t units, uint64_t bytes) {
  int64_t t = (int64_t)(bytes / (64u * 1024u));
  if (t > 64) t = 64;
  if (t > units) t = units;
  return t < 1 ? 1 : t;
}

static const char *dims_str(int rank, const int64_t *dims, char *buf,
                            size_t cap) {
  size_t len = 0;
  buf[0] = '\0';
  if (rank == 0) snprintf(buf, cap, "scalar");
  for (int d = 0; d < rank && len + 1 < cap; d++) {
    int w = snprintf(buf + len, cap - len, "%s%lld", d ? "x" : "",
                     (long long)dims[d]);
    if (w < 0) break;
    len += (size_t)w;
  }
  return buf;
}

static ingot_status elem_size(const ir_node *n, ir_dtype t, int64_t *out) {
  const ir_dtype_info *ti = ir_dtype_get(t);
  if (!ti || (ti->size != 1 && ti->size != 2 && ti->size != 4 &&
              ti->size != 8))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "dtype %s is not supported", ir_dtype_name(t));
  *out = ti->size;
  return NULL;
}

/* Integer list from constant input |idx| (int32 or int64, rank <= 1). */
static ingot_status const_ints(const ir_graph *g, const ir_node *n, int idx,
                               int64_t *out, int cap, int *count) {
  ir_tensor_id id = idx < n->n_in ? n->in[idx] : 0;
  const ir_tensor *t = &g->tensors[id];
  if (!id || t->role != IR_ROLE_CONSTANT || !t->data)
    return ir_node_error(n, INGOT_FAILED_PRECONDITION,
                         "input %d depends on run-time data; an engine "
                         "needs it constant",
                         idx);
  if ((t->dtype != IR_I64 && t->dtype != IR_I32) || t->shape.rank > 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input %d must be a 1-D int32/int64 list", idx);
  size_t k = ir_shape_numel(&t->shape);
  if (k > (size_t)cap)
    return ir_node_error(n, INGOT_OUT_OF_RANGE,
                         "input %d has %zu values; at most %d are supported",
                         idx, k, cap);
  for (size_t i = 0; i < k; i++)
    out[i] = ir_load_i64(t->dtype, t->data, i);
  *count = (int)k;
  return NULL;
}

static bool has_input(const ir_node *n, int idx) {
  return idx < n->n_in && n->in[idx] != 0;
}

static ingot_status norm_axis(const ir_node *n, int64_t axis, int rank,
                              int *out) {
  if (axis < -rank || axis >= (rank ? rank : 1))
    return ir_node_error(n, INGOT_OUT_OF_RANGE,
                         "axis %lld is out of range for rank %d",
                         (long long)axis, rank);
  *out = (int)(axis < 0 ? axis + rank : axis);
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* The box copy                                                            */
/*===------------------------------------------------------------------===*/

/* dst[t0 + sum i[k] t[k]] = src[s0 + sum i[k] s[k]] over the box dims. */
typedef struct mv_box {
  int rank;
  int64_t dims[KMV_MAX_DIMS], s[KMV_MAX_DIMS], t[KMV_MAX_DIMS];
  int64_t s0, t0;
} mv_box;

static ingot_status emit_box(cg_lower_ctx *ctx, kbuf src, kbuf dst,
                             int64_t es, const mv_box *in,
                             const char *summary) {
  mv_box b = {.s0 = in->s0, .t0 = in->t0};
  for (int k = 0; k < in->rank; k++) {
    if (in->dims[k] == 0) return NULL; /* empty: nothing to move */
    if (in->dims[k] == 1) continue;
    b.dims[b.rank] = in->dims[k];
    b.s[b.rank] = in->s[k];
    b.t[b.rank] = in->t[k];
    b.rank++;
  }
  /* Writes in order: sort by destination stride, largest first. */
  for (int k = 1; k < b.rank; k++) {
    for (int j = k; j > 0 && b.t[j - 1] < b.t[j]; j--) {
      int64_t x;
      x = b.dims[j], b.dims[j] = b.dims[j - 1], b.dims[j - 1] = x;
      x = b.s[j], b.s[j] = b.s[j - 1], b.s[j - 1] = x;
      x = b.t[j], b.t[j] = b.t[j - 1], b.t[j - 1] = x;
    }
  }
  /* Merge dims contiguous on both sides into their outer neighbour. */
  int r = 0;
  for (int k = 0; k < b.rank; k++) {
    if (r > 0 && b.s[r - 1] == b.s[k] * b.dims[k] &&
        b.t[r - 1] == b.t[k] * b.dims[k]) {
      b.dims[r - 1] *= b.dims[k];
      b.s[r - 1] = b.s[k];
      b.t[r - 1] = b.t[k];
      continue;
    }
    b.dims[r] = b.dims[k];
    b.s[r] = b.s[k];
    b.t[r] = b.t[k];
    r++;
  }
  if (r == 0) { /* one element */
    b.dims[0] = 1;
    b.s[0] = b.t[0] = 1;
    r = 1;
  }
  int64_t total = numel(r, b.dims);
  uint64_t bytes = 2u * (uint64_t)total * (uint64_t)es;

  if (r == 1 && b.s[0] == 1 && b.t[0] == 1) { /* one contiguous run */
    k_copy_desc c = {.src = src, .dst = dst, .bytes = total * es};
    c.src.off += b.s0 * es;
    c.dst.off += b.t0 * es;
    c.tasks = pick_tasks(c.bytes / 4096 + 1, bytes);
    cg_step st = {.kernel = "k_plan_copy", .desc = &c, .desc_size = sizeof c,
                  .tasks = c.tasks, .bytes = bytes, .summary = summary};
    return cg_emit(ctx, &st);
  }

  if (r == 1 && b.dims[0] >= 32768) {
    /* One long strided row: split it into [n / c, c] for the tasks, with
     * c the largest divisor of n in [1024, 16384] (if any). */
    for (int64_t c = 16384; c >= 1024; c--) {
      if (b.dims[0] % c) continue;
      b.dims[1] = c;
      b.s[1] = b.s[0];
      b.t[1] = b.t[0];
      b.dims[0] /= c;
      b.s[0] *= c;
      b.t[0] *= c;
      r = 2;
      break;
    }
  }

  kmv_copy d;
  memset(&d, 0, sizeof d);
  d.src = src;
  d.dst = dst;
  d.src_base = b.s0;
  d.dst_base = b.t0;
  d.esize = es;
  d.n = b.dims[r - 1];
  d.nsrc = b.s[r - 1];
  d.ndst = b.t[r - 1];
  /* A transposing copy: the source is contiguous along an outer dim. */
  int tile = -1;
  if (d.nsrc != 1 && d.n >= 4)
    for (int k = 0; k < r - 1; k++)
      if (b.s[k] == 1 && b.dims[k] >= 4) tile = k;
  for (int k = 0; k < r - 1; k++) {
    if (k == tile) continue;
    d.udims[d.nu] = b.dims[k];
    d.usrc[d.nu] = b.s[k];
    d.udst[d.nu] = b.t[k];
    d.nu++;
  }
  if (tile >= 0) {
    d.tile = 1;
    d.ta = b.dims[tile];
    d.tsrc = b.s[tile];
    d.tdst = b.t[tile];
    d.udims[d.nu] = (d.ta + KMV_TILE - 1) / KMV_TILE;
    d.usrc[d.nu] = KMV_TILE * d.tsrc;
    d.udst[d.nu] = KMV_TILE * d.tdst;
    d.nu++;
  }
  d.units = numel(d.nu, d.udims);
  d.tasks = pick_tasks(d.units, bytes);
  cg_step st = {.kernel = "k_mv_copy", .desc = &d, .desc_size = sizeof d,
                .tasks = d.tasks, .bytes = bytes, .summary = summary};
  return cg_emit(ctx, &st);
}

/*===------------------------------------------------------------------===*/
/* Reshape, Flatten, Squeeze, Unsqueeze                                    */
/*===------------------------------------------------------------------===*/

/* The output holds the input's elements in row-major model order. */
static ingot_status lower_reshape(cg_lower_ctx *ctx, const ir_node *n,
                                  const cg_view *iv, const cg_view *ov,
                                  int64_t es, const char *summary) {
  lview il, ol;
  INGOT_RETURN_IF_ERROR(lview_of(n, iv, "input 0", &il));
  INGOT_RETURN_IF_ERROR(lview_of(n, ov, "output 0", &ol));
  bool same_bytes = iv->layout == ov->layout && iv->rank == ov->rank &&
                    !memcmp(iv->dims, ov->dims, sizeof iv->dims);
  mv_box b = {0};
  if ((lview_row_major(&il) && lview_row_major(&ol)) || same_bytes) {
    if (iv->buf.space == ov->buf.space && iv->buf.off == ov->buf.off)
      return NULL; /* the planner aliased them: nothing to move */
    b.rank = 1;
    b.dims[0] = numel(ol.rank, ol.dims);
    b.s[0] = b.t[0] = 1;
  } else if (lview_row_major(&il)) {
    b.rank = ol.rank;
    memcpy(b.dims, ol.dims, sizeof ol.dims);
    row_major(ol.rank, ol.dims, b.s);
    memcpy(b.t, ol.str, sizeof ol.str);
  } else if (lview_row_major(&ol)) {
    b.rank = il.rank;
    memcpy(b.dims, il.dims, sizeof il.dims);
    memcpy(b.s, il.str, sizeof il.str);
    row_major(il.rank, il.dims, b.t);
  } else {
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "reshaping between two NHWC views is not "
                         "supported");
  }
  return emit_box(ctx, iv->buf, ov->buf, es, &b, summary);
}

/*===------------------------------------------------------------------===*/
/* Slice                                                                   */
/*===------------------------------------------------------------------===*/

/* First element and step per axis, with the spec's clamping (the same
 * rules as the reference's slice_plan). */
static ingot_status slice_plan(const ir_graph *g, const ir_node *n,
                               const lview *x, int64_t *start, int64_t *step,
                               int64_t *len) {
  int64_t v[5][IR_MAX_RANK];
  int count[5] = {0};
  for (int i = 1; i <= 4; i++) {
    if (!has_input(n, i)) {
      if (i <= 2)
        return ir_node_error(n, INGOT_INVALID_ARGUMENT, "input %d is missing",
                             i);
      continue;
    }
    INGOT_RETURN_IF_ERROR(const_ints(g, n, i, v[i], IR_MAX_RANK, &count[i]));
    if (count[i] != count[1])
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "input %d has %d values but starts has %d", i,
                           count[i], count[1]);
  }
  int k = count[1];
  if (!has_input(n, 3)) {
    if (k > x->rank)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "%d starts for an input of rank %d", k, x->rank);
    for (int i = 0; i < k; i++) v[3][i] = i;
  }
  for (int d = 0; d < x->rank; d++) {
    start[d] = 0;
    step[d] = 1;
    len[d] = x->dims[d];
  }
  for (int i = 0; i < k; i++) {
    int a;
    INGOT_RETURN_IF_ERROR(norm_axis(n, v[3][i], x->rank, &a));
    int64_t st = has_input(n, 4) ? v[4][i] : 1, dim = x->dims[a];
    if (st == 0)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "step for axis %d is zero", a);
    int64_t s = v[1][i], e = v[2][i];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (st > 0) {
      s = s < 0 ? 0 : s > dim ? dim : s;
      e = e < 0 ? 0 : e > dim ? dim : e;
      len[a] = e > s ? (e - s - 1) / st + 1 : 0;
    } else {
      s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
      e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
      int64_t mst = st < -INT64_MAX ? INT64_MAX : -st;
      len[a] = s > e ? (s - e - 1) / mst + 1 : 0;
    }
    start[a] = s;
    step[a] = st;
  }
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Pad                                                                     */
/*===------------------------------------------------------------------===*/

/* Input index output index |o| of an axis reads, or -1 for the value. */
static int64_t pad_source(ir_pad_mode mode, int64_t o, int64_t begin,
                          int64_t dim) {
  int64_t c = o - begin;
  if (c >= 0 && c < dim) return c;
  if (dim == 0) return -1;
  if (mode == IR_PADMODE_EDGE) return c < 0 ? 0 : dim - 1;
  if (mode == IR_PADMODE_REFLECT) {
    if (dim == 1) return 0;
    int64_t period = 2 * (dim - 1);
    c %= period;
    if (c < 0) c += period;
    return c < dim ? c : period - c;
  }
  return -1;
}

/* The pad value as |es| bytes of dtype |t| in the weights (zeros when
 * absent), or the run-time scalar itself when it is an activation. */
static ingot_status pad_value(cg_lower_ctx *ctx, const ir_node *n,
                              ir_dtype t, int64_t es, kbuf *out) {
  const ir_graph *g = cg_graph(ctx);
  unsigned char value[16] = {0};
  if (has_input(n, 2)) {
    const ir_tensor *vt = &g->tensors[n->in[2]];
    if (ir_shape_numel(&vt->shape) != 1)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "the constant value (input 2) must be a scalar");
    if (vt->role != IR_ROLE_CONSTANT || !vt->data) {
      if (vt->dtype != t)
        return ir_node_error(n, INGOT_UNIMPLEMENTED,
                             "a run-time pad value must have the input's "
                             "dtype");
      cg_view vv;
      INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[2], &vv));
      *out = vv.buf;
      return NULL;
    }
    if (vt->dtype == t)
      memcpy(value, vt->data, (size_t)es);
    else if (ir_dtype_get(t)->is_float)
      ir_store_f64(t, value, 0, ir_load_f64(vt->dtype, vt->data, 0));
    else
      ir_store_i64(t, value, 0, ir_load_i64(vt->dtype, vt->data, 0));
  }
  return cg_add_weights(ctx, value, sizeof value, out);
}

static ingot_status lower_pad(cg_lower_ctx *ctx, const ir_node *n,
                              const cg_view *iv, const cg_view *ov,
                              int64_t es, const char *summary) {
  const ir_graph *g = cg_graph(ctx);
  const ir_p_pad *p = n->params;
  lview il, ol;
  INGOT_RETURN_IF_ERROR(lview_of(n, iv, "input 0", &il));
  INGOT_RETURN_IF_ERROR(lview_of(n, ov, "output 0", &ol));
  if (has_input(n, 3))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "the 'axes' input (opset 18) is not supported");
  int64_t pads[2 * IR_MAX_RANK];
  int k;
  INGOT_RETURN_IF_ERROR(const_ints(g, n, 1, pads, 2 * IR_MAX_RANK, &k));
  int r = il.rank;
  if (k != 2 * r || ol.rank != r)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "%d pads for an input of rank %d", k, r);
  for (int d = 0; d < r; d++)
    if (ol.dims[d] != il.dims[d] + pads[d] + pads[r + d])
      return ir_node_error(n, INGOT_INTERNAL,
                           "output dim %d is %lld, pads give %lld", d,
                           (long long)ol.dims[d],
                           (long long)(il.dims[d] + pads[d] + pads[r + d]));
  if (numel(r, ol.dims) == 0) return NULL;
  if (r == 0) {
    mv_box b = {.rank = 0};
    return emit_box(ctx, iv->buf, ov->buf, es, &b, summary);
  }

  /* Axes in the output's memory order (largest output stride first). */
  int ax[IR_MAX_RANK];
  for (int d = 0; d < r; d++) ax[d] = d;
  for (int i = 1; i < r; i++)
    for (int j = i; j > 0 && ol.str[ax[j - 1]] < ol.str[ax[j]]; j--) {
      int x = ax[j];
      ax[j] = ax[j - 1];
      ax[j - 1] = x;
    }

  kmv_pad d;
  memset(&d, 0, sizeof d);
  d.src = iv->buf;
  d.dst = ov->buf;
  d.esize = es;
  d.rank = r;
  int64_t total = 0;
  for (int i = 0; i < r; i++) {
    d.dims[i] = ol.dims[ax[i]];
    d.map_off[i] = total;
    total += d.dims[i];
  }
  int64_t *map = calloc((size_t)total, sizeof *map);
  if (!map)
    return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; i < r; i++) {
    int a = ax[i];
    for (int64_t o = 0; o < d.dims[i]; o++) {
      int64_t c = pad_source(p->mode, o, pads[a], il.dims[a]);
      map[d.map_off[i] + o] = c < 0 ? -1 : c * il.str[a];
    }
  }
  int a = ax[r - 1];
  if (il.str[a] == 1) { /* the interior of the last axis is one run */
    int64_t lo = pads[a] > 0 ? pads[a] : 0;
    int64_t hi = pads[a] + il.dims[a];
    if (hi > ol.dims[a]) hi = ol.dims[a];
    if (hi > lo) {
      d.lo = lo;
      d.hi = hi;
    }
  }
  ingot_status s = cg_add_weights(ctx, map, (size_t)total * sizeof *map,
                                  &d.map);
  free(map);
  INGOT_RETURN_IF_ERROR(s);
  INGOT_RETURN_IF_ERROR(pad_value(ctx, n, iv->dtype, es, &d.value));
  d.rows = numel(r - 1, d.dims);
  uint64_t bytes = (uint64_t)(numel(r, il.dims) + numel(r, ol.dims)) *
                   (uint64_t)es;
  d.tasks = pick_tasks(d.rows, bytes);
  cg_step st = {.kernel = "k_mv_pad", .desc = &d, .desc_size = sizeof d,
                .tasks = d.tasks, .bytes = bytes, .summary = summary};
  return cg_emit(ctx, &st);
}

/*===------------------------------------------------------------------===*/
/* Gather                                                                  */
/*===------------------------------------------------------------------===*/

static ingot_status lower_gather(cg_lower_ctx *ctx, const ir_node *n,
                                 const cg_view *iv, const cg_view *ov,
                                 int64_t es, const char *summary) {
  const ir_p_axis *p = n->params;
  cg_view xv;
  lview il, ol, xl;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[1], &xv));
  INGOT_RETURN_IF_ERROR(lview_of(n, iv, "input 0", &il));
  INGOT_RETURN_IF_ERROR(lview_of(n, &xv, "input 1", &xl));
  INGOT_RETURN_IF_ERROR(lview_of(n, ov, "output 0", &ol));
  if (!lview_row_major(&il) || !lview_row_major(&xl) ||
      !lview_row_major(&ol))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "Gather needs row-major operands");
  if (xv.dtype != IR_I32 && xv.dtype != IR_I64)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "indices must be int32 or int64, not %s",
                         ir_dtype_name(xv.dtype));
  if (il.rank == 0)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "cannot gather from a scalar");
  int axis;
  INGOT_RETURN_IF_ERROR(norm_axis(n, p->axis, il.rank, &axis));
  kmv_gather d;
  memset(&d, 0, sizeof d);
  d.data = iv->buf;
  d.idx = xv.buf;
  d.dst = ov->buf;
  d.outer = numel(axis, il.dims);
  d.dim = il.dims[axis];
  d.count = numel(xl.rank, xl.dims);
  d.inner_bytes = numel(il.rank - axis - 1, il.dims + axis + 1) * es;
  d.idx_dtype = xv.dtype;
  if (d.outer * d.count == 0 || d.inner_bytes == 0) return NULL;
  uint64_t bytes = 2u * (uint64_t)(d.outer * d.count * d.inner_bytes);
  d.tasks = pick_tasks(d.outer * d.count, bytes);
  cg_step st = {.kernel = "k_mv_gather", .desc = &d, .desc_size = sizeof d,
                .tasks = d.tasks, .bytes = bytes, .summary = summary};
  return cg_emit(ctx, &st);
}

/*===------------------------------------------------------------------===*/
/* The lowering entry point                                                */
/*===------------------------------------------------------------------===*/

ingot_status cg_lower_movement(cg_lower_ctx *ctx, ir_node_id nid) {
  const ir_graph *g = cg_graph(ctx);
  const ir_node *n = &g->nodes[nid];
  const char *op = ir_op_get(n->op)->name;
  cg_view iv, ov;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], &iv));
  int64_t es;
  INGOT_RETURN_IF_ERROR(elem_size(n, iv.dtype, &es));
  char dbuf[96], summary[160];
  snprintf(summary, sizeof summary, "%s %s %s", op,
           dims_str(iv.rank, iv.dims, dbuf, sizeof dbuf),
           ir_dtype_name(iv.dtype));

  if (n->op == IR_OP_SPLIT) { /* several outputs: one copy each */
    const ir_p_split *p = n->params;
    lview il;
    INGOT_RETURN_IF_ERROR(lview_of(n, &iv, "input 0", &il));
    int axis;
    INGOT_RETURN_IF_ERROR(norm_axis(n, p->axis, il.rank, &axis));
    if (il.rank == 0)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT, "cannot split a scalar");
    /* Each part's length: the sizes input, else equal parts (an absent
     * output still takes its part of the axis). */
    int64_t sizes[MV_MAX_SPLIT];
    int k = n->n_out;
    if (n->n_out > MV_MAX_SPLIT)
      return ir_node_error(n, INGOT_UNIMPLEMENTED,
                           "%d outputs; at most %d are supported", n->n_out,
                           MV_MAX_SPLIT);
    if (has_input(n, 1))
      INGOT_RETURN_IF_ERROR(const_ints(g, n, 1, sizes, MV_MAX_SPLIT, &k));
    else
      for (int j = 0; j < k; j++) sizes[j] = il.dims[axis] / n->n_out;
    if (k != n->n_out)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "%d split sizes for %d outputs", k, n->n_out);
    int64_t at = 0;
    for (int j = 0; j < n->n_out; at += sizes[j], j++) {
      if (!n->out[j]) continue;
      cg_view jv;
      lview jl;
      INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[j], &jv));
      INGOT_RETURN_IF_ERROR(lview_of(n, &jv, "an output", &jl));
      if (jl.rank != il.rank || jl.dims[axis] != sizes[j])
        return ir_node_error(n, INGOT_INTERNAL,
                             "output %d does not match split size %lld", j,
                             (long long)sizes[j]);
      mv_box b = {.rank = jl.rank, .s0 = at * il.str[axis]};
      memcpy(b.dims, jl.dims, sizeof jl.dims);
      memcpy(b.s, il.str, sizeof il.str);
      memcpy(b.t, jl.str, sizeof jl.str);
      INGOT_RETURN_IF_ERROR(emit_box(ctx, iv.buf, jv.buf, es, &b, summary));
    }
    return NULL;
  }

  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &ov));
  if (ov.dtype != iv.dtype)
    return ir_node_error(n, INGOT_INTERNAL,
                         "output dtype %s differs from input dtype %s",
                         ir_dtype_name(ov.dtype), ir_dtype_name(iv.dtype));
  lview il, ol;
  switch (n->op) {
  case IR_OP_RESHAPE:
  case IR_OP_FLATTEN:
  case IR_OP_SQUEEZE:
  case IR_OP_UNSQUEEZE:
    return lower_reshape(ctx, n, &iv, &ov, es, summary);
  case IR_OP_PAD:
    return lower_pad(ctx, n, &iv, &ov, es, summary);
  case IR_OP_GATHER:
    return lower_gather(ctx, n, &iv, &ov, es, summary);
  default:
    break;
  }

  INGOT_RETURN_IF_ERROR(lview_of(n, &iv, "input 0", &il));
  INGOT_RETURN_IF_ERROR(lview_of(n, &ov, "output 0", &ol));
  mv_box b = {.rank = ol.rank};
  memcpy(b.dims, ol.dims, sizeof ol.dims);
  memcpy(b.t, ol.str, sizeof ol.str);

  switch (n->op) {
  case IR_OP_TRANSPOSE: {
    const ir_p_transpose *p = n->params;
    if (p->n_perm != 0 && p->n_perm != il.rank)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "perm has %d entries for rank %d", p->n_perm,
                           il.rank);
    for (int d = 0; d < ol.rank; d++) {
      int from = p->n_perm ? (int)p->perm[d] : il.rank - 1 - d;
      if (il.dims[from] != ol.dims[d])
        return ir_node_error(n, INGOT_INTERNAL,
                             "output dim %d does not match the permutation",
                             d);
      b.s[d] = il.str[from];
    }
    return emit_box(ctx, iv.buf, ov.buf, es, &b, summary);
  }
  case IR_OP_SLICE: {
    int64_t start[IR_MAX_RANK], step[IR_MAX_RANK], len[IR_MAX_RANK];
    INGOT_RETURN_IF_ERROR(slice_plan(g, n, &il, start, step, len));
    for (int d = 0; d < il.rank; d++) {
      if (len[d] != ol.dims[d])
        return ir_node_error(n, INGOT_INTERNAL,
                             "output dim %d is %lld, the slice gives %lld", d,
                             (long long)ol.dims[d], (long long)len[d]);
      b.s0 += start[d] * il.str[d];
      b.s[d] = step[d] * il.str[d];
    }
    return emit_box(ctx, iv.buf, ov.buf, es, &b, summary);
  }
  case IR_OP_EXPAND: {
    int off = ol.rank - il.rank;
    if (off < 0)
      return ir_node_error(n, INGOT_INTERNAL, "output rank below input's");
    for (int d = 0; d < ol.rank; d++) {
      int e = d - off;
      b.s[d] = (e < 0 || il.dims[e] == 1) ? 0 : il.str[e];
      if (e >= 0 && il.dims[e] != 1 && il.dims[e] != ol.dims[d])
        return ir_node_error(n, INGOT_INTERNAL,
                             "input dim %d does not broadcast", e);
    }
    return emit_box(ctx, iv.buf, ov.buf, es, &b, summary);
  }
  case IR_OP_TILE: {
    int64_t rep[IR_MAX_RANK];
    int k;
    INGOT_RETURN_IF_ERROR(const_ints(g, n, 1, rep, IR_MAX_RANK, &k));
    if (k != il.rank || ol.rank != il.rank)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "%d repeats for an input of rank %d", k, il.rank);
    mv_box t = {.rank = 2 * il.rank};
    for (int d = 0; d < il.rank; d++) {
      if (rep[d] < 0 || ol.dims[d] != rep[d] * il.dims[d])
        return ir_node_error(n, INGOT_INTERNAL,
                             "output dim %d does not match repeat %lld", d,
                             (long long)rep[d]);
      t.dims[2 * d] = rep[d];
      t.s[2 * d] = 0;
      t.t[2 * d] = il.dims[d] * ol.str[d];
      t.dims[2 * d + 1] = il.dims[d];
      t.s[2 * d + 1] = il.str[d];
      t.t[2 * d + 1] = ol.str[d];
    }
    return emit_box(ctx, iv.buf, ov.buf, es, &t, summary);
  }
  case IR_OP_CONCAT: {
    const ir_p_axis *p = n->params;
    int axis;
    if (ol.rank == 0)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "cannot concatenate scalars");
    INGOT_RETURN_IF_ERROR(norm_axis(n, p->axis, ol.rank, &axis));
    int64_t at = 0;
    for (int i = 0; i < n->n_in; i++) {
      cg_view xv;
      lview xl;
      if (!n->in[i])
        return ir_node_error(n, INGOT_INVALID_ARGUMENT, "input %d is missing",
                             i);
      INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[i], &xv));
      INGOT_RETURN_IF_ERROR(lview_of(n, &xv, "an input", &xl));
      if (xl.rank != ol.rank)
        return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                             "input %d has rank %d, the output %d", i,
                             xl.rank, ol.rank);
      mv_box c = {.rank = xl.rank, .t0 = at * ol.str[axis]};
      memcpy(c.dims, xl.dims, sizeof xl.dims);
      memcpy(c.s, xl.str, sizeof xl.str);
      memcpy(c.t, ol.str, sizeof ol.str);
      at += xl.dims[axis];
      INGOT_RETURN_IF_ERROR(emit_box(ctx, xv.buf, ov.buf, es, &c, summary));
    }
    if (at != ol.dims[axis])
      return ir_node_error(n, INGOT_INTERNAL,
                           "inputs add up to %lld along axis %d, the output "
                           "has %lld",
                           (long long)at, axis, (long long)ol.dims[axis]);
    return NULL;
  }
  default:
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "no movement lowering for this op");
  }
}
