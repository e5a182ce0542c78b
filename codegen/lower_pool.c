/* lower_pool.c — MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool to
 * the pooling template (kernels/generic/pool.c).
 *
 * The geometry is recomputed here exactly as the reference's pool_shape
 * does (auto_pad SAME_* split, VALID, explicit pads; the output sizes,
 * including ceil_mode's, come from the inferred output shape).  Global
 * pools are a window as large as the input; on a channel-first tensor
 * their spatial dims are flattened into one, so any rank works.
 * Supported: float32 pools, uint8/int8 MaxPool, MaxPool's Indices output
 * with either storage_order, and the com.microsoft QLinearAveragePool and
 * QLinearGlobalAveragePool on uint8/int8 (KPOOL_QAVG: the geometry is
 * AveragePool's; scales and zero points are the model's constants, read
 * through the reference's ref_qlinear_pool_q_make; channels_last inputs
 * are N x H x W x C in the model, which is NHWC memory).
 */
#include <stdio.h>
#include <string.h>

#include "engine_format.h"
#include "generic/pool.h"
#include "lower.h"
#include "ref/ref.h"

#define POOL_TASK_WORK 16384 /* window reads per task, at least */
#define POOL_MAX_TASKS 64

/* Element strides of batch, channel and the spatial dims (right-aligned in
 * three) of a channel-first model tensor of shape |s| stored as |v|.
 * |flatten|: all spatial dims as one (channel-first only). */
static void nc_strides(const ir_shape *s, const cg_view *v, bool flatten,
                       int64_t *sn, int64_t *sc, int64_t *sp) {
  int nsp = s->rank - 2;
  sp[0] = sp[1] = sp[2] = 0;
  if (v->layout == INGOT_LAYOUT_NHWC) { /* N, H, W, C */
    *sc = 1;
    sp[2] = s->dims[1];
    sp[1] = s->dims[3] * s->dims[1];
    *sn = s->dims[2] * sp[1];
    return;
  }
  int64_t run = 1;
  for (int i = nsp - 1; i >= 0; i--) {
    if (!flatten) sp[3 - nsp + i] = run;
    run *= s->dims[2 + i];
  }
  if (flatten) sp[2] = 1;
  *sc = run;
  *sn = run * s->dims[1];
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* N x C x spatial view of a channels_last (N x spatial x C) shape. */
static ir_shape nchw_view(const ir_shape *s) {
  ir_shape v = *s;
  v.dims[1] = s->dims[s->rank - 1];
  for (int d = 2; d < s->rank; d++) v.dims[d] = s->dims[d - 1];
  return v;
}

/* The quantisation constants of a QLinear pool into |d|. */
static ingot_status qpool_params(const ir_graph *g, const ir_node *n,
                                 k_pool_desc *d) {
  ir_value in[5];
  memset(in, 0, sizeof in);
  int nin = n->n_in < 5 ? n->n_in : 5;
  for (int i = 0; i < nin; i++) {
    if (!n->in[i]) continue;
    const ir_tensor *t = &g->tensors[n->in[i]];
    if (i > 0 && (t->role != IR_ROLE_CONSTANT || !t->data))
      return ir_node_error(n, INGOT_UNIMPLEMENTED,
                           "input %d (a scale or zero point) is computed at "
                           "run time; an engine needs it constant",
                           i);
    ir_tensor_as_value(t, &in[i]);
  }
  ref_qlinear_pool_q q;
  INGOT_RETURN_IF_ERROR(ref_qlinear_pool_q_make(n, in, nin, &q));
  d->qsx = q.sx;
  d->qsy = q.sy;
  d->qzx = (int32_t)q.zx;
  d->qzy = (int32_t)q.zy;
  d->qlo = (int32_t)q.lo;
  d->qhi = (int32_t)q.hi;
  return NULL;
}

ingot_status cg_lower_pool(cg_lower_ctx *ctx, ir_node_id nid) {
  const ir_graph *g = cg_graph(ctx);
  const ir_node *n = &g->nodes[nid];
  const ir_tensor *tx = &g->tensors[n->in[0]], *ty = &g->tensors[n->out[0]];
  bool qavg = n->op == IR_OP_QLINEAR_AVERAGE_POOL ||
              n->op == IR_OP_QLINEAR_GLOBAL_AVERAGE_POOL;
  bool global = n->op == IR_OP_GLOBAL_AVERAGE_POOL ||
                n->op == IR_OP_GLOBAL_MAX_POOL ||
                n->op == IR_OP_QLINEAR_GLOBAL_AVERAGE_POOL;
  bool is_max = n->op == IR_OP_MAX_POOL || n->op == IR_OP_GLOBAL_MAX_POOL;
  bool q8 = tx->dtype == IR_U8 || tx->dtype == IR_I8;
  if (qavg ? !q8 : (tx->dtype != IR_F32 && !(is_max && q8)))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "%s of %s is not supported by the engine (float32; "
                         "uint8 and int8 for max and the QLinear pools)",
                         ir_op_get(n->op)->name, ir_dtype_name(tx->dtype));
  /* A channels_last QLinear pool: the model's tensors are N x spatial x C;
   * pooled as the N x C x spatial view stored NHWC. */
  const ir_p_qlinear_pool *qp = qavg ? n->params : NULL;
  if (qavg && !qp)
    return ir_node_error(n, INGOT_INTERNAL, "attributes were not parsed");
  bool cl = qp && qp->channels_last;
  ir_shape xcl, ycl;
  const ir_shape *xs = &tx->shape, *ys = &ty->shape;
  if (cl) {
    if (xs->rank != 4)
      return ir_node_error(n, INGOT_UNIMPLEMENTED,
                           "channels_last needs a rank-4 input in an engine; "
                           "it has rank %d",
                           xs->rank);
    xcl = nchw_view(xs);
    ycl = nchw_view(ys);
    xs = &xcl;
    ys = &ycl;
  }
  if (xs->rank < 2 || (!global && xs->rank > 5))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "rank %d input is not supported", xs->rank);
  if (ir_shape_numel(ys) == 0) return NULL;

  k_pool_desc d;
  memset(&d, 0, sizeof d);
  d.kind = is_max ? KPOOL_MAX : qavg ? KPOOL_QAVG : KPOOL_AVG;
  if (qavg) INGOT_RETURN_IF_ERROR(qpool_params(g, n, &d));
  d.dtype = (int32_t)tx->dtype;
  d.c = xs->dims[1];
  for (int j = 0; j < 3; j++) d.in[j] = d.out[j] = d.k[j] = d.s[j] = d.d[j] = 1;

  cg_view vx, vy;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], &vx));
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &vy));
  d.x = vx.buf;
  d.y = vy.buf;
  int nsp = xs->rank - 2;
  if (cl) {
    if (vx.layout != INGOT_LAYOUT_AS_MODEL || vy.layout != INGOT_LAYOUT_AS_MODEL)
      return ir_node_error(n, INGOT_INTERNAL,
                           "a channels_last pool must see the model's layout");
    vx.layout = vy.layout = INGOT_LAYOUT_NHWC; /* the same memory order */
  }
  bool flatten = global && vx.layout != INGOT_LAYOUT_NHWC && nsp > 1;
  nc_strides(xs, &vx, flatten, &d.xs_n, &d.xs_c, d.xs);
  nc_strides(ys, &vy, flatten, &d.ys_n, &d.ys_c, d.ys);

  if (global) {
    int64_t size = 1;
    for (int i = 0; i < nsp; i++) size *= xs->dims[2 + i];
    if (flatten) {
      d.in[2] = d.k[2] = size;
    } else {
      for (int i = 0; i < nsp; i++)
        d.in[3 - nsp + i] = d.k[3 - nsp + i] = xs->dims[2 + i];
    }
  } else {
    const ir_p_pool *p = qavg ? &qp->pool : n->params;
    if (!p)
      return ir_node_error(n, INGOT_INTERNAL, "attributes were not parsed");
    d.count_include_pad = p->count_include_pad;
    d.storage_order = (int32_t)p->storage_order;
    for (int i = 0; i < nsp; i++) {
      int j = 3 - nsp + i;
      int64_t in = xs->dims[2 + i], k = p->kernel[i], s = p->strides[i];
      int64_t dil = p->dilations[i], out = ys->dims[2 + i];
      int64_t ek = (k - 1) * dil + 1, pb = p->pads[i], pe = p->pads[nsp + i];
      if (p->auto_pad == IR_PAD_SAME_UPPER ||
          p->auto_pad == IR_PAD_SAME_LOWER) {
        int64_t total = (out - 1) * s + ek - in;
        if (total < 0) total = 0;
        pb = p->auto_pad == IR_PAD_SAME_UPPER ? total / 2 : total - total / 2;
        pe = total - pb;
      } else if (p->auto_pad == IR_PAD_VALID) {
        pb = pe = 0;
      }
      d.in[j] = in;
      d.out[j] = out;
      d.k[j] = k;
      d.s[j] = s;
      d.d[j] = dil;
      d.pb[j] = pb;
      d.pe[j] = pe;
    }
  }
  if (n->n_out > 1 && n->out[1]) {
    cg_view vi;
    INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[1], &vi));
    d.has_idx = 1;
    d.idx = vi.buf;
    nc_strides(&g->tensors[n->out[1]].shape, &vi, false, &d.is_n, &d.is_c,
               d.is);
  }

  d.rows = xs->dims[0] * d.out[0] * d.out[1];
  d.cblocks = (d.c + KPOOL_CB - 1) / KPOOL_CB;
  int64_t taps = d.k[0] * d.k[1] * d.k[2];
  double work = (double)d.rows * (double)d.out[2] * (double)d.c * (double)taps;
  int64_t want = (int64_t)(work / POOL_TASK_WORK);
  want = want < 1 ? 1 : want > POOL_MAX_TASKS ? POOL_MAX_TASKS : want;
  d.rsplit = min64(d.rows, want);
  d.csplit = min64(d.cblocks, (want + d.rsplit - 1) / d.rsplit);
  if (d.rsplit < 1) d.rsplit = 1;
  if (d.csplit < 1) d.csplit = 1;

  char summary[128];
  snprintf(summary, sizeof summary, "%s %lldx%lldx%lld/%lld %lldch %s",
           ir_op_get(n->op)->name, (long long)d.k[0], (long long)d.k[1],
           (long long)d.k[2], (long long)d.s[2], (long long)d.c,
           vx.layout == INGOT_LAYOUT_NHWC ? "NHWC" : "NC..");
  if (qavg) {
    size_t len = strlen(summary);
    snprintf(summary + len, sizeof summary - len, " %s",
             ir_dtype_name(tx->dtype));
  }
  size_t es = tx->dtype == IR_F32 ? 4 : 1;
  cg_step st = {.kernel = "k_pool",
                .desc = &d,
                .desc_size = sizeof d,
                .tasks = d.rsplit * d.csplit,
                .ops = (uint64_t)work,
                .bytes =
                    (uint64_t)(ir_shape_numel(xs) + ir_shape_numel(ys)) * es,
                .precision = tx->dtype,
                .summary = summary};
  return cg_emit(ctx, &st);
}
