/* lower_resize.c — lowering of Resize (opsets 10..) and Upsample
 * (templates in kernels/generic/resize.c).
 *
 * Scales, sizes and roi must be constants (they are in an engine with
 * static shapes).  For every dim the lowering takes the reference's own
 * tap tables (ref_resize_map_make in ir/ref/resize.c: the source
 * coordinate of each output index, then one nearest tap, two linear taps
 * or four cubic taps with their weights), so the engine blends exactly
 * what the reference blends.  Dims whose map is the
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
#include "ref/ref.h"

/* The plan and the per-dim tap tables come from the reference itself
 * (ref_resize_plan_make, ref_resize_map_make in ir/ref/resize.c), so the
 * engine blends exactly the taps and weights the reference does.  The
 * shape-carrying inputs (scales, sizes, roi) must be constants. */
static ingot_status plan_make(const ir_graph *g, const ir_node *n,
                              const cg_view *x, const cg_view *y,
                              ref_resize_plan *pl) {
  ir_value in[4];
  memset(in, 0, sizeof in);
  int nin = n->n_in < 4 ? n->n_in : 4;
  in[0].dtype = x->dtype;
  in[0].shape.rank = x->rank;
  for (int d = 0; d < x->rank; d++) in[0].shape.dims[d] = x->dims[d];
  for (int i = 1; i < nin; i++) {
    if (!n->in[i]) continue;
    const ir_tensor *t = &g->tensors[n->in[i]];
    if (t->role != IR_ROLE_CONSTANT || !t->data)
      return ir_node_error(n, INGOT_FAILED_PRECONDITION,
                           "input %d depends on run-time data; an engine "
                           "needs it constant",
                           i);
    ir_tensor_as_value(t, &in[i]);
  }
  INGOT_RETURN_IF_ERROR(ref_resize_plan_make(n, in, nin, pl));
  for (int d = 0; d < x->rank; d++)
    if (pl->out.dims[d] != y->dims[d])
      return ir_node_error(n, INGOT_INTERNAL,
                           "output dim %d is %lld, the resize gives %lld", d,
                           (long long)y->dims[d], (long long)pl->out.dims[d]);
  return NULL;
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
                                ref_resize_map *maps, const char *summary) {
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
    int64_t len = r.out_dims[k];
    int64_t T = p->mode == IR_RESIZE_NEAREST  ? 1
                : p->mode == IR_RESIZE_LINEAR ? 2
                                              : 4;
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
    const ref_resize_map *m = &maps[src_dim[k]];
    int64_t T = r.taps[L];
    int64_t *offs = (int64_t *)(tab + r.off_tab[L]);
    double *ws = (double *)(tab + r.w_tab[L]);
    int32_t *ns = (int32_t *)(tab + r.n_tab[L]);
    for (int64_t o = 0; o < r.out_dims[k]; o++) {
      /* unused slots: the first tap's offset (or 0), weight 0 */
      ns[o] = m->ntap[o];
      for (int j = 0; j < T; j++) {
        int jj = j < m->ntap[o] ? j : 0;
        offs[o * T + j] = m->ntap[o] ? m->idx[o * 4 + jj] * r.src_str[k] : 0;
        ws[o * T + j] = j < m->ntap[o] ? m->w[o * 4 + j] : 0.0;
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
  ref_resize_plan pl;
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

  ref_resize_map maps[IR_MAX_RANK];
  memset(maps, 0, sizeof maps);
  ingot_status st = NULL;
  for (int d = 0; d < x.rank && !st; d++)
    st = ref_resize_map_make(n, &pl, x.rank, d, x.dims[d], &maps[d]);
  if (!st) st = emit_resize(ctx, n, &x, &y, maps, summary);
  for (int d = 0; d < x.rank; d++) ref_resize_map_free(&maps[d]);
  return st;
}
