/* lower_pool.c — MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool to
 * the pooling template (kernels/generic/pool.c).
 *
 * The geometry is recomputed here exactly as the reference's pool_shape
 * does (auto_pad SAME_* split, VALID, explicit pads; the output sizes,
 * including ceil_mode's, come from the inferred output shape).  Global
 * pools are a window as large as the input; on a channel-first tensor
 * their spatial dims are flattened into one, so any rank works.
 * Supported: float32 pools, uint8/int8 MaxPool, MaxPool's Indices output
 * with either storage_order.
 */
#include <stdio.h>
#include <string.h>

#include "engine_format.h"
#include "generic/pool.h"
#include "lower.h"

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

ingot_status cg_lower_pool(cg_lower_ctx *ctx, ir_node_id nid) {
  const ir_graph *g = cg_graph(ctx);
  const ir_node *n = &g->nodes[nid];
  const ir_tensor *tx = &g->tensors[n->in[0]], *ty = &g->tensors[n->out[0]];
  bool global =
      n->op == IR_OP_GLOBAL_AVERAGE_POOL || n->op == IR_OP_GLOBAL_MAX_POOL;
  bool is_max = n->op == IR_OP_MAX_POOL || n->op == IR_OP_GLOBAL_MAX_POOL;
  if (tx->dtype != IR_F32 &&
      !(is_max && (tx->dtype == IR_U8 || tx->dtype == IR_I8)))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "%s of %s is not supported by the engine (float32; "
                         "uint8 and int8 for max)",
                         ir_op_get(n->op)->name, ir_dtype_name(tx->dtype));
  const ir_shape *xs = &tx->shape, *ys = &ty->shape;
  if (xs->rank < 2 || (!global && xs->rank > 5))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "rank %d input is not supported", xs->rank);
  if (ir_shape_numel(ys) == 0) return NULL;

  k_pool_desc d;
  memset(&d, 0, sizeof d);
  d.kind = is_max ? KPOOL_MAX : KPOOL_AVG;
  d.dtype = (int32_t)tx->dtype;
  d.c = xs->dims[1];
  for (int j = 0; j < 3; j++) d.in[j] = d.out[j] = d.k[j] = d.s[j] = d.d[j] = 1;

  cg_view vx, vy;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], &vx));
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &vy));
  d.x = vx.buf;
  d.y = vy.buf;
  int nsp = xs->rank - 2;
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
    const ir_p_pool *p = n->params;
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
