/* lower_resize.c — lowering of Resize (opsets 10..) and Upsample
 * (templates in kernels/generic/resize.c).
 *
 * Scales, sizes and roi must be constants (they are in an engine with
 * static shapes).  For every dim the lowering computes what the
 * reference's dim_map computes — the source coordinate of each output
 * index under the coordinate transformation, then one nearest tap, two
 * linear taps or four cubic taps with their weights (clamped to the edge,
 * exclude_outside renormalised, taps of weight 0 dropped, positions
 * outside a tf_crop_and_resize box marked) — with the same double
 * arithmetic, so the tables equal the reference's.  Dims whose map is the
 * identity are not resampled (the reference skips them too); runs of them
 * merge, and a trailing run becomes the template's contiguous |inner|.
 * Both operands must be row-major (the model's layout).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_format.h"
#include "generic/plan.h"
#include "generic/resize.h"
#include "lower.h"

/* Per-dim plan: scale, roi and whether the output length came from
 * sizes (the reference's rs_plan). */
typedef struct rs_plan {
  bool from_sizes;
  double scale[IR_MAX_RANK];
  double roi[2 * IR_MAX_RANK];
} rs_plan;

/* One dim's taps: per output o, idx/w[o*4 .. o*4 + n[o]). */
typedef struct rs_map {
  int64_t *idx;
  double *w;
  int32_t *n;
  int maxtap;
  bool identity;
} rs_map;

static const ir_tensor *const_input(const ir_graph *g, const ir_node *n,
                                    int i) {
  if (i < 0 || i >= n->n_in || !n->in[i]) return NULL;
  const ir_tensor *t = &g->tensors[n->in[i]];
  if (ir_shape_numel(&t->shape) == 0) return NULL; /* empty = absent */
  return t;
}

static ingot_status read_doubles(const ir_node *n, const ir_tensor *t,
                                 int idx, double *out, int cap, int *count) {
  if (t->role != IR_ROLE_CONSTANT || !t->data)
    return ir_node_error(n, INGOT_FAILED_PRECONDITION,
                         "input %d depends on run-time data; an engine "
                         "needs it constant",
                         idx);
  const ir_dtype_info *ti = ir_dtype_get(t->dtype);
  bool ints = t->dtype == IR_I64 || t->dtype == IR_I32;
  if (!ints && (!ti || !ti->is_float))
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input %d has dtype %s", idx,
                         ir_dtype_name(t->dtype));
  size_t k = ir_shape_numel(&t->shape);
  if (k > (size_t)cap)
    return ir_node_error(n, INGOT_OUT_OF_RANGE, "input %d has %zu values",
                         idx, k);
  for (size_t i = 0; i < k; i++)
    out[i] = ints ? (double)ir_load_i64(t->dtype, t->data, i)
                  : ir_load_f64(t->dtype, t->data, i);
  *count = (int)k;
  return NULL;
}

static ingot_status plan_make(const ir_graph *g, const ir_node *n,
                              const cg_view *x, const cg_view *y,
                              rs_plan *pl) {
  const ir_p_resize *p = n->params;
  int rank = x->rank;
  const ir_tensor *scales = const_input(g, n, p->legacy ? 1 : 2);
  const ir_tensor *sizes = p->legacy ? NULL : const_input(g, n, 3);
  const ir_tensor *roi = const_input(g, n, 1);
  memset(pl, 0, sizeof *pl);
  for (int d = 0; d < rank; d++) {
    pl->roi[d] = 0.0;
    pl->roi[rank + d] = 1.0;
  }
  bool crop = p->coord == IR_COORD_TF_CROP_AND_RESIZE;
  int k;
  if (crop && !p->legacy && roi) {
    INGOT_RETURN_IF_ERROR(read_doubles(n, roi, 1, pl->roi, 2 * IR_MAX_RANK,
                                       &k));
    if (k != 2 * rank)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "roi has %d values for rank %d", k, rank);
  }
  double v[IR_MAX_RANK];
  if (sizes) {
    INGOT_RETURN_IF_ERROR(read_doubles(n, sizes, 3, v, IR_MAX_RANK, &k));
    pl->from_sizes = true;
  } else if (scales) {
    INGOT_RETURN_IF_ERROR(
        read_doubles(n, scales, p->legacy ? 1 : 2, v, IR_MAX_RANK, &k));
  } else {
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "neither scales nor sizes is given");
  }
  if (k != rank)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "%d scales/sizes for rank %d", k, rank);
  for (int d = 0; d < rank; d++) {
    int64_t want;
    if (pl->from_sizes) {
      want = (int64_t)v[d];
      pl->scale[d] = x->dims[d] > 0 ? v[d] / (double)x->dims[d] : 1.0;
    } else {
      if (!(v[d] > 0) || isinf(v[d]))
        return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                             "scales[%d] = %g must be positive and finite", d,
                             v[d]);
      pl->scale[d] = v[d];
      double len = (double)x->dims[d] * v[d];
      if (crop) len *= pl->roi[rank + d] - pl->roi[d];
      want = len > 0 ? (int64_t)floor(len) : 0;
    }
    if (want != y->dims[d])
      return ir_node_error(n, INGOT_INTERNAL,
                           "output dim %d is %lld, the resize gives %lld", d,
                           (long long)y->dims[d], (long long)want);
  }
  return NULL;
}

/* Keys cubic convolution kernel (a = cubic_coeff_a) at distance |t|. */
static double cubic_w(double t, double a) {
  t = fabs(t);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

static int64_t clamp_idx(int64_t i, int64_t len) {
  return i < 0 ? 0 : i >= len ? len - 1 : i;
}

/* Source coordinate of output |o| along dim |d|; *outside for positions
 * outside the crop box. */
static double src_coord(const ir_p_resize *p, const rs_plan *pl, int rank,
                        int d, int64_t o, int64_t in_len, int64_t out_len,
                        bool *outside) {
  double s = pl->scale[d], x = (double)o;
  *outside = false;
  switch (p->coord) {
  case IR_COORD_HALF_PIXEL:
    return (x + 0.5) / s - 0.5;
  case IR_COORD_PYTORCH_HALF_PIXEL:
    return out_len > 1 ? (x + 0.5) / s - 0.5 : 0.0;
  case IR_COORD_TF_HALF_PIXEL_FOR_NN:
    return (x + 0.5) / s;
  case IR_COORD_ALIGN_CORNERS: {
    double len = pl->from_sizes ? (double)out_len : s * (double)in_len;
    return len == 1.0 ? 0.0 : x * (double)(in_len - 1) / (len - 1.0);
  }
  case IR_COORD_TF_CROP_AND_RESIZE: {
    double start = pl->roi[d], end = pl->roi[rank + d];
    double span = (double)(in_len - 1), r;
    if (out_len > 1)
      r = start * span + x * (end - start) * span / (double)(out_len - 1);
    else
      r = 0.5 * (start + end) * span;
    *outside = r < 0 || r > span;
    return r;
  }
  case IR_COORD_ASYMMETRIC:
  default:
    return x / s;
  }
}

static ingot_status map_make(const ir_node *n, const rs_plan *pl, int rank,
                             int d, int64_t in_len, int64_t out_len,
                             rs_map *m) {
  const ir_p_resize *p = n->params;
  size_t cnt = (size_t)(out_len ? out_len : 1);
  m->idx = calloc(cnt * 4, sizeof *m->idx);
  m->w = calloc(cnt * 4, sizeof *m->w);
  m->n = calloc(cnt, sizeof *m->n);
  if (!m->idx || !m->w || !m->n)
    return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  m->identity = in_len == out_len;
  m->maxtap = p->mode == IR_RESIZE_NEAREST ? 1
              : p->mode == IR_RESIZE_LINEAR ? 2
                                            : 4;
  for (int64_t o = 0; o < out_len; o++) {
    int64_t *idx = m->idx + o * 4;
    double *w = m->w + o * 4;
    bool outside;
    double x = src_coord(p, pl, rank, d, o, in_len, out_len, &outside);
    if (outside) {
      m->n[o] = 0;
      m->identity = false;
      continue;
    }
    double fl = floor(x), t = x - fl;
    int64_t i0 = (int64_t)fl;
    int k = 0;
    if (p->mode == IR_RESIZE_NEAREST) {
      int64_t i = i0;
      if (p->legacy)
        i = pl->scale[d] < 1.0 ? (int64_t)ceil(x) : i0;
      else if (t > 0) {
        switch (p->nearest) {
        case IR_NEAREST_ROUND_PREFER_FLOOR: i = t <= 0.5 ? i0 : i0 + 1; break;
        case IR_NEAREST_ROUND_PREFER_CEIL: i = t < 0.5 ? i0 : i0 + 1; break;
        case IR_NEAREST_FLOOR: i = i0; break;
        case IR_NEAREST_CEIL: i = i0 + 1; break;
        }
      }
      idx[k] = clamp_idx(i, in_len);
      w[k++] = 1.0;
    } else if (p->mode == IR_RESIZE_LINEAR) {
      idx[k] = clamp_idx(i0, in_len);
      w[k++] = 1.0 - t;
      if (t > 0) {
        idx[k] = clamp_idx(i0 + 1, in_len);
        w[k++] = t;
      }
    } else {
      double a = p->cubic_coeff_a, sum = 0;
      for (int j = 0; j < 4; j++) {
        int64_t i = i0 - 1 + j;
        double wj = cubic_w(t + 1 - j, a);
        if (p->exclude_outside && (i < 0 || i >= in_len)) wj = 0;
        if (wj == 0) continue;
        idx[k] = clamp_idx(i, in_len);
        w[k++] = wj;
        sum += wj;
      }
      if (p->exclude_outside && sum != 0)
        for (int j = 0; j < k; j++) w[j] /= sum;
      if (k == 0) {
        idx[k] = clamp_idx(i0, in_len);
        w[k++] = 1.0;
      }
    }
    m->n[o] = k;
    if (k != 1 || idx[0] != o || w[0] != 1.0) m->identity = false;
  }
  return NULL;
}

static void map_free(rs_map *m) {
  free(m->idx);
  free(m->w);
  free(m->n);
}

static bool view_ok(const cg_view *v) {
  if (v->layout == INGOT_LAYOUT_AS_MODEL) return true;
  /* NHWC with C == 1 or H == W == 1 holds the same bytes as NCHW */
  return v->layout == INGOT_LAYOUT_NHWC && v->rank == 4 &&
         (v->dims[3] == 1 || (v->dims[1] == 1 && v->dims[2] == 1));
}

static int64_t pick_tasks(int64_t units, uint64_t bytes) {
  int64_t t = (int64_t)(bytes / (64u * 1024u));
  if (t > 64) t = 64;
  if (t > units) t = units;
  return t < 1 ? 1 : t;
}

/* Builds the view, the tap tables and the step from the per-dim maps. */
static ingot_status emit_resize(cg_lower_ctx *ctx, const ir_node *n,
                                const cg_view *x, const cg_view *y,
                                rs_map *maps, const char *summary) {
  const ir_p_resize *p = n->params;
  int rank = x->rank;
  int64_t es = ir_dtype_get(x->dtype)->size;
  int64_t xstr[IR_MAX_RANK], s = 1;
  for (int d = rank - 1; d >= 0; d--) {
    xstr[d] = s;
    s *= x->dims[d];
  }
  int64_t onum = 1;
  for (int d = 0; d < rank; d++) onum *= y->dims[d];
  if (onum == 0) return NULL;

  krs r;
  memset(&r, 0, sizeof r);
  r.src = x->buf;
  r.dst = y->buf;
  r.dtype = x->dtype;
  r.esize = (int32_t)es;
  r.extrapolation = p->extrapolation_value;
  ir_store_f64(x->dtype, r.extrap_bytes, 0, p->extrapolation_value);
  /* View dims: runs of identity dims merge; resized dims get a level. */
  int src_dim[IR_MAX_RANK];
  for (int d = 0; d < rank; d++) {
    if (maps[d].identity && r.rank > 0 && r.level[r.rank - 1] < 0) {
      r.out_dims[r.rank - 1] *= y->dims[d];
      r.src_str[r.rank - 1] = xstr[d];
      continue;
    }
    r.out_dims[r.rank] = y->dims[d];
    r.src_str[r.rank] = xstr[d];
    r.level[r.rank] = maps[d].identity ? -1 : r.nres++;
    src_dim[r.rank] = d;
    r.rank++;
  }
  if (r.nres == 0) { /* every dim maps onto itself: a copy */
    if (x->buf.space == y->buf.space && x->buf.off == y->buf.off) return NULL;
    k_copy_desc c = {.src = x->buf, .dst = y->buf, .bytes = onum * es};
    c.tasks = pick_tasks(c.bytes / 4096 + 1, 2u * (uint64_t)c.bytes);
    cg_step st = {.kernel = "k_plan_copy", .desc = &c, .desc_size = sizeof c,
                  .tasks = c.tasks, .bytes = 2u * (uint64_t)c.bytes,
                  .summary = summary};
    return cg_emit(ctx, &st);
  }
  r.inner = 1;
  if (r.level[r.rank - 1] < 0) { /* trailing kept run, stride 1 */
    r.inner = r.out_dims[r.rank - 1];
    r.rank--;
  }
  r.rows = 1;
  for (int k = 0; k < r.rank - 1; k++) r.rows *= r.out_dims[k];
  r.crop = p->coord == IR_COORD_TF_CROP_AND_RESIZE;
  if (p->mode != IR_RESIZE_NEAREST && r.nres > KRS_MAX_LEVELS)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "linear/cubic resize of %d dims at once (at most "
                         "%d)",
                         r.nres, KRS_MAX_LEVELS);

  /* Tables: per level, offsets, weights, counts. */
  size_t total = 0;
  for (int k = 0; k < r.rank; k++) {
    int L = r.level[k];
    if (L < 0) continue;
    int64_t len = r.out_dims[k], T = maps[src_dim[k]].maxtap;
    r.taps[L] = (int32_t)T;
    r.off_tab[L] = (int64_t)total;
    total += (size_t)(len * T) * 8;
    r.w_tab[L] = (int64_t)total;
    total += (size_t)(len * T) * 8;
    r.n_tab[L] = (int64_t)total;
    total += ((size_t)len * 4 + 7) & ~(size_t)7;
  }
  uint8_t *tab = calloc(total, 1);
  if (!tab) return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  for (int k = 0; k < r.rank; k++) {
    int L = r.level[k];
    if (L < 0) continue;
    const rs_map *m = &maps[src_dim[k]];
    int64_t T = r.taps[L];
    int64_t *offs = (int64_t *)(tab + r.off_tab[L]);
    double *ws = (double *)(tab + r.w_tab[L]);
    int32_t *ns = (int32_t *)(tab + r.n_tab[L]);
    for (int64_t o = 0; o < r.out_dims[k]; o++) {
      /* unused slots: the first tap's offset (or 0), weight 0 */
      ns[o] = m->n[o];
      for (int j = 0; j < T; j++) {
        int jj = j < m->n[o] ? j : 0;
        offs[o * T + j] = m->n[o] ? m->idx[o * 4 + jj] * r.src_str[k] : 0;
        ws[o * T + j] = j < m->n[o] ? m->w[o * 4 + j] : 0.0;
      }
    }
  }
  ingot_status st = cg_add_weights(ctx, tab, total, &r.tab);
  free(tab);
  INGOT_RETURN_IF_ERROR(st);

  int64_t taps = 1;
  for (int k = 0; k < r.rank; k++)
    if (r.level[k] >= 0) taps *= r.taps[r.level[k]];
  uint64_t bytes = (uint64_t)onum * (uint64_t)es * 2u;
  r.tasks = pick_tasks(r.rows, bytes);
  bool nearest = p->mode == IR_RESIZE_NEAREST;
  cg_step step = {.kernel = nearest ? "k_rs_nearest" : "k_rs_interp",
                  .desc = &r, .desc_size = sizeof r, .tasks = r.tasks,
                  .bytes = bytes,
                  .ops = nearest ? 0 : (uint64_t)(onum * taps) * 2u,
                  .precision = x->dtype, .summary = summary};
  return cg_emit(ctx, &step);
}

ingot_status cg_lower_resize(cg_lower_ctx *ctx, ir_node_id nid) {
  const ir_graph *g = cg_graph(ctx);
  const ir_node *n = &g->nodes[nid];
  const ir_p_resize *p = n->params;
  cg_view x, y;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], &x));
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &y));
  if (!view_ok(&x) || !view_ok(&y))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "%s needs operands in the model's layout",
                         ir_op_get(n->op)->name);
  if (x.rank == 0 || x.rank != y.rank)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "rank %d input and rank %d output", x.rank, y.rank);
  const ir_dtype_info *ti = ir_dtype_get(x.dtype);
  if (!ti || !ti->size || ti->size > 8)
    return ir_node_error(n, INGOT_UNIMPLEMENTED, "dtype %s",
                         ir_dtype_name(x.dtype));
  if (p->mode != IR_RESIZE_NEAREST &&
      (x.dtype == IR_BOOL || (!ti->is_float && !ti->is_int)))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "linear and cubic resize of %s have no engine "
                         "kernel",
                         ir_dtype_name(x.dtype));
  /* The view is row-major in model order for AS_MODEL (and for the NHWC
   * cases view_ok accepts): use the model's dims. */
  const ir_tensor *xt = &g->tensors[n->in[0]], *yt = &g->tensors[n->out[0]];
  for (int d = 0; d < x.rank; d++) {
    x.dims[d] = xt->shape.dims[d];
    y.dims[d] = yt->shape.dims[d];
  }
  rs_plan pl;
  INGOT_RETURN_IF_ERROR(plan_make(g, n, &x, &y, &pl));

  char summary[160];
  static const char *const mode[] = {"nearest", "linear", "cubic"};
  int len = snprintf(summary, sizeof summary, "%s %s ",
                     ir_op_get(n->op)->name, mode[p->mode]);
  for (int d = 0; d < x.rank && len < 80; d++)
    len += snprintf(summary + len, sizeof summary - (size_t)len, "%s%lld",
                    d ? "x" : "", (long long)x.dims[d]);
  len += snprintf(summary + len, sizeof summary - (size_t)len, " ->");
  for (int d = 0; d < y.rank && len < 140; d++)
    len += snprintf(summary + len, sizeof summary - (size_t)len, "%s%lld",
                    d ? "x" : " ", (long long)y.dims[d]);

  rs_map maps[IR_MAX_RANK];
  memset(maps, 0, sizeof maps);
  ingot_status st = NULL;
  for (int d = 0; d < x.rank && !st; d++)
    st = map_make(n, &pl, x.rank, d, x.dims[d], y.dims[d], &maps[d]);
  if (!st) st = emit_resize(ctx, n, &x, &y, maps, summary);
  for (int d = 0; d < x.rank; d++) map_free(&maps[d]);
  return st;
}
