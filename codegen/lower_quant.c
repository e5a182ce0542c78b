/* lower_quant.c — lowering of QuantizeLinear, DequantizeLinear and
 * DynamicQuantizeLinear (templates in kernels/generic/quant.c).
 *
 * Scale and zero point are per tensor (one element) or per axis (a vector
 * along |axis|), so the tensor is walked as [outer, channels, inner].  A
 * constant scale of any float dtype is converted to float32 at build time
 * (the reference converts it the same way); a run-time scale must already
 * be float32.  Quantize/DequantizeLinear work in any layout their two
 * operands share (the layout pass keeps per-tensor ones NHWC inside conv
 * regions): the walk is over memory order, and a per-axis channel axis is
 * mapped to its memory position (NHWC: C is innermost).
 * DynamicQuantizeLinear needs the model's layout.
 * DynamicQuantizeLinear becomes three steps (partial ranges, scale and
 * zero point, quantise) that pass the partial ranges through scratch
 * memory and scale and zero point through the node's own outputs (or
 * scratch when the graph does not use them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_format.h"
#include "generic/quant.h"
#include "lower.h"

static int64_t pick_tasks(int64_t units, uint64_t bytes) {
  int64_t t = (int64_t)(bytes / (64u * 1024u));
  if (t > 64) t = 64;
  if (t > units) t = units;
  return t < 1 ? 1 : t;
}

static bool row_major(const cg_view *v) {
  if (v->layout == INGOT_LAYOUT_AS_MODEL) return true;
  return v->layout == INGOT_LAYOUT_NHWC && v->rank == 4 &&
         (v->dims[3] == 1 || (v->dims[1] == 1 && v->dims[2] == 1));
}

/* Model-order dims of tensor |id|. */
static void model_dims(const ir_graph *g, ir_tensor_id id, int *rank,
                       int64_t *dims) {
  const ir_tensor *t = &g->tensors[id];
  *rank = t->shape.rank;
  for (int d = 0; d < t->shape.rank; d++) dims[d] = t->shape.dims[d];
}

static ingot_status lower_dynamic(cg_lower_ctx *ctx, const ir_node *n,
                                  const cg_view *xv, int64_t count) {
  kq_dynamic d;
  memset(&d, 0, sizeof d);
  d.x = xv->buf;
  d.n = count;
  cg_view yv;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &yv));
  d.y = yv.buf;
  for (int k = 1; k <= 2; k++) {
    kbuf *b = k == 1 ? &d.scale : &d.zp;
    if (k < n->n_out && n->out[k]) {
      cg_view v;
      INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[k], &v));
      *b = v.buf;
    } else {
      INGOT_RETURN_IF_ERROR(cg_scratch(ctx, 64, b));
    }
  }
  /* phase 0: partial ranges, one per task; 1: combine; 2: quantise */
  d.parts = pick_tasks((count + KQ_CHUNK - 1) / KQ_CHUNK, (uint64_t)count * 4u);
  INGOT_RETURN_IF_ERROR(cg_scratch(ctx, (size_t)d.parts * 8u, &d.part));
  char summary[96];
  snprintf(summary, sizeof summary, "DynamicQuantizeLinear range of %lld",
           (long long)count);
  d.phase = 0;
  d.units = d.tasks = d.parts;
  cg_step st = {.kernel = "k_q_dynamic", .desc = &d, .desc_size = sizeof d,
                .tasks = d.tasks, .bytes = (uint64_t)count * 4u,
                .ops = (uint64_t)count * 2u, .precision = IR_F32,
                .summary = summary};
  INGOT_RETURN_IF_ERROR(cg_emit(ctx, &st));
  snprintf(summary, sizeof summary, "DynamicQuantizeLinear scale");
  d.phase = 1;
  d.units = d.tasks = 1;
  st.desc = &d;
  st.tasks = 1;
  st.bytes = (uint64_t)d.parts * 8u;
  st.ops = (uint64_t)d.parts * 2u;
  INGOT_RETURN_IF_ERROR(cg_emit(ctx, &st));
  d.phase = 2;
  d.units = (count + KQ_CHUNK - 1) / KQ_CHUNK;
  d.tasks = pick_tasks(d.units, (uint64_t)count * 5u);
  snprintf(summary, sizeof summary, "DynamicQuantizeLinear %lld -> u8",
           (long long)count);
  cg_step st2 = {.kernel = "k_q_dynamic", .desc = &d, .desc_size = sizeof d,
                 .tasks = d.tasks, .bytes = (uint64_t)count * 5u,
                 .ops = (uint64_t)count * 3u, .precision = IR_U8,
                 .summary = summary};
  return cg_emit(ctx, &st2);
}

/* Scale (input 1) as float32: a constant is converted and stored; a
 * run-time scale is used in place. */
static ingot_status scale_buf(cg_lower_ctx *ctx, const ir_node *n,
                              int64_t count, kbuf *out) {
  const ir_graph *g = cg_graph(ctx);
  const ir_tensor *t = &g->tensors[n->in[1]];
  if (t->role == IR_ROLE_CONSTANT && t->data) {
    float *s = malloc((size_t)(count ? count : 1) * sizeof *s);
    if (!s) return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
    for (int64_t i = 0; i < count; i++)
      s[i] = (float)ir_load_f64(t->dtype, t->data, (size_t)i);
    ingot_status st = cg_add_weights(ctx, s, (size_t)count * sizeof *s, out);
    free(s);
    return st;
  }
  if (t->dtype != IR_F32)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "a run-time scale must be float32, not %s",
                         ir_dtype_name(t->dtype));
  cg_view v;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[1], &v));
  *out = v.buf;
  return NULL;
}

ingot_status cg_lower_quant(cg_lower_ctx *ctx, ir_node_id nid) {
  const ir_graph *g = cg_graph(ctx);
  const ir_node *n = &g->nodes[nid];
  const char *opname = ir_op_get(n->op)->name;
  cg_view xv, yv;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], &xv));
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &yv));
  bool same = xv.layout == yv.layout && xv.rank == yv.rank;
  if (!(row_major(&xv) && row_major(&yv)) &&
      (!same || n->op == IR_OP_DYNAMIC_QUANTIZE_LINEAR))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "%s needs operands in the model's layout", opname);
  int rank;
  int64_t dims[IR_MAX_RANK], count = 1;
  model_dims(g, n->in[0], &rank, dims);
  for (int d = 0; d < rank; d++) count *= dims[d];
  /* NHWC: walk memory order, channel axis 1 at position 3. */
  bool nhwc = xv.layout == INGOT_LAYOUT_NHWC && xv.rank == 4 && rank == 4;
  static const int nhwc_pos[4] = {0, 3, 1, 2};

  if (n->op == IR_OP_DYNAMIC_QUANTIZE_LINEAR) {
    if (xv.dtype != IR_F32)
      return ir_node_error(n, INGOT_UNIMPLEMENTED,
                           "input dtype %s has no engine kernel",
                           ir_dtype_name(xv.dtype));
    return lower_dynamic(ctx, n, &xv, count);
  }

  bool quantize = n->op == IR_OP_QUANTIZE_LINEAR;
  kq_linear d;
  memset(&d, 0, sizeof d);
  d.x = xv.buf;
  d.y = yv.buf;
  d.xdtype = xv.dtype;
  d.ydtype = yv.dtype;
  if (quantize ? (xv.dtype != IR_F32 && xv.dtype != IR_I32) ||
                     (yv.dtype != IR_U8 && yv.dtype != IR_I8)
               : (xv.dtype != IR_U8 && xv.dtype != IR_I8 &&
                  xv.dtype != IR_I32) ||
                     yv.dtype != IR_F32)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "%s from %s to %s has no engine kernel", opname,
                         ir_dtype_name(xv.dtype), ir_dtype_name(yv.dtype));

  /* Per tensor or per axis (the reference's q_check). */
  const ir_tensor *st = &g->tensors[n->in[1]];
  int64_t nscale = (int64_t)ir_shape_numel(&st->shape);
  if (st->shape.rank > 1 || nscale < 1)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "scale must be a scalar or a 1-D vector");
  d.outer = 1;
  d.ch = 1;
  d.inner = count;
  if (!(st->shape.rank == 0 || st->shape.dims[0] == 1)) {
    const ir_p_quant_axis *p = n->params;
    if (p->axis < -rank || p->axis >= rank)
      return ir_node_error(n, INGOT_OUT_OF_RANGE,
                           "axis %lld is out of range for rank %d",
                           (long long)p->axis, rank);
    int ax = (int)(p->axis < 0 ? p->axis + rank : p->axis);
    if (dims[ax] != nscale)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "%lld scales for axis %d of length %lld",
                           (long long)nscale, ax, (long long)dims[ax]);
    d.ch = dims[ax];
    if (nhwc) { /* memory dims and the axis' place among them */
      ax = nhwc_pos[ax];
      for (int k = 0; k < rank; k++) dims[k] = xv.dims[k];
    }
    d.outer = d.inner = 1;
    for (int k = 0; k < ax; k++) d.outer *= dims[k];
    for (int k = ax + 1; k < rank; k++) d.inner *= dims[k];
  }
  INGOT_RETURN_IF_ERROR(scale_buf(ctx, n, nscale, &d.scale));
  if (n->n_in > 2 && n->in[2]) {
    cg_view zv;
    INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[2], &zv));
    if (ir_shape_numel(&g->tensors[n->in[2]].shape) != (size_t)nscale)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "zero point and scale differ in length");
    d.zp = zv.buf;
    d.zdtype = zv.dtype;
    d.has_zp = 1;
    if (zv.dtype != (quantize ? yv.dtype : xv.dtype))
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "zero point dtype %s does not match",
                           ir_dtype_name(zv.dtype));
  } else {
    d.zp = d.scale; /* never read */
  }
  d.qmin = yv.dtype == IR_I8 ? -128.0f : 0.0f;
  d.qmax = yv.dtype == IR_I8 ? 127.0f : 255.0f;
  if (count == 0) return NULL;
  d.units = d.outer * d.ch * ((d.inner + KQ_CHUNK - 1) / KQ_CHUNK);
  uint64_t bytes = (uint64_t)count * (ir_dtype_get(xv.dtype)->size +
                                      ir_dtype_get(yv.dtype)->size);
  d.tasks = pick_tasks(d.units, bytes);
  char summary[128];
  snprintf(summary, sizeof summary, "%s %s %lld %s->%s", opname,
           d.ch > 1 ? "per-axis" : "per-tensor", (long long)count,
           ir_dtype_name(xv.dtype), ir_dtype_name(yv.dtype));
  cg_step s = {.kernel = quantize ? "k_q_quantize" : "k_q_dequantize",
               .desc = &d, .desc_size = sizeof d, .tasks = d.tasks,
               .bytes = bytes, .ops = (uint64_t)count * 3u,
               .precision = quantize ? yv.dtype : IR_F32,
               .summary = summary};
  return cg_emit(ctx, &s);
}
