/* lower_norm.c — lowering of Softmax, LogSoftmax, LayerNormalization,
 * InstanceNormalization, BatchNormalization and LRN (templates in
 * kernels/generic/norm.c).
 *
 * The planner hands these ops their tensors in the model's layout, so
 * each becomes [outer, len, inner] or [batch, channels, spatial] over
 * row-major dims.  Softmax before opset 13 (params' |legacy|) coerces X to
 * 2-D at |axis|: the whole trailing block is one row.  LayerNormalization's
 * Scale and B may broadcast over the normalised dims: when they do not
 * cover them element for element they are expanded at build time (they
 * must then be constants).  BatchNormalization in training mode computes
 * the batch statistics and the running outputs as the reference does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_format.h"
#include "generic/norm.h"
#include "lower.h"

static bool dt_float(ir_dtype t) {
  const ir_dtype_info *i = ir_dtype_get(t);
  return i && i->size && i->is_float;
}

static int64_t prod(const cg_view *v, int from, int to) {
  int64_t p = 1;
  for (int d = from; d < to; d++) p *= v->dims[d];
  return p;
}

static const char *dims_str(const cg_view *v, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = '\0';
  if (v->rank == 0) snprintf(buf, cap, "scalar");
  for (int d = 0; d < v->rank && len + 1 < cap; d++) {
    int k = snprintf(buf + len, cap - len, "%s%lld", d ? "x" : "",
                     (long long)v->dims[d]);
    if (k < 0) break;
    len += (size_t)k;
  }
  return buf;
}

/* Tasks for |units| work items totalling |work| element operations. */
static int64_t nm_tasks(int64_t units, int64_t work) {
  int64_t t = work / 16384;
  if (t > 64) t = 64;
  if (t > units) t = units;
  return t < 1 ? 1 : t;
}

/* X (input 0) and Y (output 0): a float tensor of rank >= |min_rank| in
 * the model's layout. */
static ingot_status xy_views(cg_lower_ctx *ctx, const ir_node *n,
                             int min_rank, cg_view *x, cg_view *y) {
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], x));
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], y));
  if (!dt_float(x->dtype))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "input dtype %s is not supported (float types only)",
                         ir_dtype_name(x->dtype));
  if (x->rank < min_rank)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "input has rank %d; at least %d is needed", x->rank,
                         min_rank);
  if (x->layout != INGOT_LAYOUT_AS_MODEL || y->layout != INGOT_LAYOUT_AS_MODEL)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "the engine kernel needs the model's layout, got an "
                         "NHWC tensor");
  if (y->dtype != x->dtype)
    return ir_node_error(n, INGOT_INTERNAL, "output dtype %s != input %s",
                         ir_dtype_name(y->dtype), ir_dtype_name(x->dtype));
  return NULL;
}

static ingot_status norm_axis(const ir_node *n, int64_t axis, int rank,
                              int *out) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "axis %lld is out of range for rank %d",
                         (long long)axis, rank);
  *out = (int)a;
  return NULL;
}

/* Emits one step of |kernel| with descriptor |d|. */
static ingot_status emit(cg_lower_ctx *ctx, const char *kernel,
                         const void *d, size_t size, int64_t tasks,
                         uint64_t ops, uint64_t bytes, ir_dtype dt,
                         const char *summary) {
  cg_step st = {.kernel = kernel,
                .desc = d,
                .desc_size = size,
                .tasks = tasks,
                .ops = ops,
                .bytes = bytes,
                .precision = dt,
                .summary = summary};
  return cg_emit(ctx, &st);
}

/*===------------------------------------------------------------------===*/
/* Softmax, LogSoftmax                                                     */
/*===------------------------------------------------------------------===*/

/* The fused mask Add (plan_fuse_softmax.c): the step reads |scores|
 * instead of its input and adds |mask|, broadcast over it, to each
 * element.  Fills x with the scores' view and d's mask geometry. */
static ingot_status softmax_mask(cg_lower_ctx *ctx, const ir_node *n,
                                 ir_tensor_id scores, ir_tensor_id mask,
                                 int axis, cg_view *x, knorm_softmax *d) {
  cg_view s, m;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, scores, &s));
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, mask, &m));
  if (s.dtype != IR_F32 || m.dtype != IR_F32 || x->dtype != IR_F32 ||
      s.rank != x->rank || m.rank > x->rank || x->rank > KNORM_MASK_RANK ||
      s.layout != INGOT_LAYOUT_AS_MODEL ||
      (m.layout != INGOT_LAYOUT_AS_MODEL && m.buf.space != KB_WEIGHTS))
    return ir_node_error(n, INGOT_INTERNAL,
                         "the fused mask Add does not fit the Softmax step");
  for (int k = 0; k < x->rank; k++)
    if (s.dims[k] != x->dims[k])
      return ir_node_error(n, INGOT_INTERNAL,
                           "the fused mask Add's scores are not the "
                           "Softmax's shape");
  /* The mask's strides over x's dims, 0 where it broadcasts. */
  int64_t str[KNORM_MASK_RANK] = {0}, step = 1;
  for (int k = x->rank - 1, j = m.rank - 1; k >= 0; k--, j--) {
    if (j < 0) continue;
    if (m.dims[j] != 1 && m.dims[j] != x->dims[k])
      return ir_node_error(n, INGOT_INTERNAL,
                           "the fused mask does not broadcast onto the "
                           "scores");
    str[k] = m.dims[j] == 1 ? 0 : step;
    step *= m.dims[j];
  }
  x->buf = s.buf;
  d->x = s.buf;
  d->mask = m.buf;
  d->has_mask = 1;
  d->orank = axis;
  d->irank = x->rank - axis - 1;
  d->lstr = str[axis];
  for (int k = 0; k < axis; k++) {
    d->odims[k] = x->dims[k];
    d->ostr[k] = str[k];
  }
  for (int k = axis + 1; k < x->rank; k++) {
    d->idims[k - axis - 1] = x->dims[k];
    d->istr[k - axis - 1] = str[k];
  }
  return NULL;
}

ingot_status cg_lower_softmax(cg_lower_ctx *ctx, ir_node_id nid) {
  const ir_node *n = &cg_graph(ctx)->nodes[nid];
  const ir_p_softmax *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "node was not parsed");
  cg_view x, y;
  INGOT_RETURN_IF_ERROR(xy_views(ctx, n, 1, &x, &y));
  int axis;
  INGOT_RETURN_IF_ERROR(norm_axis(n, p->axis, x.rank, &axis));
  knorm_softmax d;
  memset(&d, 0, sizeof d);
  d.x = x.buf;
  d.y = y.buf;
  d.dtype = (int32_t)x.dtype;
  d.log = n->op == IR_OP_LOG_SOFTMAX;
  d.outer = prod(&x, 0, axis);
  d.len = p->legacy ? prod(&x, axis, x.rank) : x.dims[axis];
  d.inner = p->legacy ? 1 : prod(&x, axis + 1, x.rank);
  ir_tensor_id st, mt;
  bool masked = cg_fused_mask(ctx, &st, &mt);
  if (masked)
    INGOT_RETURN_IF_ERROR(softmax_mask(ctx, n, st, mt, axis, &x, &d));
  int64_t total = d.outer * d.len * d.inner;
  if (total == 0) return NULL;
  d.units = d.inner == 1 ? d.outer
                         : d.outer * ((d.inner + KNORM_COLS - 1) / KNORM_COLS);
  d.tasks = nm_tasks(d.units, total * 8);
  char shape[96], summary[192];
  snprintf(summary, sizeof summary, "%s %s axis %d%s%s %s",
           ir_op_get(n->op)->name, dims_str(&x, shape, sizeof shape), axis,
           p->legacy ? " (2-D)" : "", masked ? " + mask" : "",
           ir_dtype_name(x.dtype));
  uint64_t es = ir_dtype_traits[x.dtype].size;
  return emit(ctx, "k_norm_softmax", &d, sizeof d, d.tasks,
              (uint64_t)total * 20, (uint64_t)total * es * 2, x.dtype,
              summary);
}

/*===------------------------------------------------------------------===*/
/* LayerNormalization                                                      */
/*===------------------------------------------------------------------===*/

/* Scale or B (input |idx|) as |len| elements along the normalised dims
 * [axis, rank) of |x|: the tensor itself when it covers them element for
 * element, else a constant's values expanded into the weights. */
static ingot_status ln_param(cg_lower_ctx *ctx, const ir_node *n, int idx,
                             const char *what, const cg_view *x, int axis,
                             int64_t len, kbuf *out) {
  const ir_graph *g = cg_graph(ctx);
  cg_view v;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[idx], &v));
  if (v.dtype != x->dtype)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "%s has dtype %s, X has %s", what,
                         ir_dtype_name(v.dtype), ir_dtype_name(x->dtype));
  char a[96], b[96];
  if (v.rank > x->rank)
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "%s of shape %s does not broadcast to X of shape %s",
                         what, dims_str(&v, a, sizeof a),
                         dims_str(x, b, sizeof b));
  int64_t st[IR_MAX_RANK], s = 1;
  for (int d = x->rank - 1; d >= 0; d--) {
    int k = d - (x->rank - v.rank);
    if (k < 0) {
      st[d] = 0;
      continue;
    }
    if (v.dims[k] == x->dims[d])
      st[d] = s;
    else if (v.dims[k] == 1)
      st[d] = 0;
    else
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "%s of shape %s does not broadcast to X of "
                           "shape %s",
                           what, dims_str(&v, a, sizeof a),
                           dims_str(x, b, sizeof b));
    s *= v.dims[k];
  }
  for (int d = 0; d < axis; d++)
    if (st[d] != 0 && x->dims[d] != 1)
      return ir_node_error(n, INGOT_UNIMPLEMENTED,
                           "%s of shape %s varies along dims before axis %d",
                           what, dims_str(&v, a, sizeof a), axis);
  bool direct = true;
  s = 1;
  for (int d = x->rank - 1; d >= axis; d--) {
    if (x->dims[d] != 1 && st[d] != s) direct = false;
    s *= x->dims[d];
  }
  if (direct) {
    *out = v.buf;
    return NULL;
  }
  const ir_tensor *t = &g->tensors[n->in[idx]];
  if (t->role != IR_ROLE_CONSTANT || !t->data)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "%s of shape %s broadcasts over the normalised dims; "
                         "the engine needs it to be a constant then",
                         what, dims_str(&v, a, sizeof a));
  size_t es = ir_dtype_traits[v.dtype].size;
  uint8_t *buf = malloc((size_t)(len ? len : 1) * es);
  if (!buf)
    return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  for (int64_t j = 0; j < len; j++) {
    int64_t rem = j, off = 0;
    for (int d = x->rank - 1; d >= axis; d--) {
      off += (rem % x->dims[d]) * st[d];
      rem /= x->dims[d];
    }
    memcpy(buf + (size_t)j * es, (const uint8_t *)t->data + (size_t)off * es,
           es);
  }
  ingot_status s2 = cg_add_weights(ctx, buf, (size_t)len * es, out);
  free(buf);
  return s2;
}

ingot_status cg_lower_layernorm(cg_lower_ctx *ctx, ir_node_id nid) {
  const ir_node *n = &cg_graph(ctx)->nodes[nid];
  const ir_p_layernorm *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "node was not parsed");
  cg_view x, y;
  INGOT_RETURN_IF_ERROR(xy_views(ctx, n, 1, &x, &y));
  int axis;
  INGOT_RETURN_IF_ERROR(norm_axis(n, p->axis, x.rank, &axis));
  knorm_layer d;
  memset(&d, 0, sizeof d);
  d.x = x.buf;
  d.y = y.buf;
  d.dtype = (int32_t)x.dtype;
  d.stat_dtype = (int32_t)p->stash_type;
  d.outer = prod(&x, 0, axis);
  d.len = prod(&x, axis, x.rank);
  d.eps = (double)p->epsilon;
  INGOT_RETURN_IF_ERROR(
      ln_param(ctx, n, 1, "Scale", &x, axis, d.len, &d.scale));
  if (n->n_in > 2 && n->in[2]) {
    d.has_bias = 1;
    INGOT_RETURN_IF_ERROR(ln_param(ctx, n, 2, "B", &x, axis, d.len, &d.bias));
  }
  for (int k = 1; k <= 2; k++) {
    if (k >= n->n_out || !n->out[k]) continue;
    cg_view s;
    INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[k], &s));
    if (s.dtype != (ir_dtype)d.stat_dtype)
      return ir_node_error(n, INGOT_INTERNAL,
                           "output %d has dtype %s, stash_type is %s", k,
                           ir_dtype_name(s.dtype),
                           ir_dtype_name((ir_dtype)d.stat_dtype));
    if (k == 1) d.has_mean = 1, d.mean = s.buf;
    else d.has_inv = 1, d.inv = s.buf;
  }
  int64_t total = d.outer * d.len;
  if (total == 0) return NULL;
  d.tasks = nm_tasks(d.outer, total * 4);
  char shape[96], summary[192];
  snprintf(summary, sizeof summary, "LayerNorm %s axis %d %s",
           dims_str(&x, shape, sizeof shape), axis, ir_dtype_name(x.dtype));
  uint64_t es = ir_dtype_traits[x.dtype].size;
  return emit(ctx, "k_norm_layer", &d, sizeof d, d.tasks,
              (uint64_t)total * 8, (uint64_t)total * es * 3, x.dtype,
              summary);
}

/*===------------------------------------------------------------------===*/
/* BatchNormalization, InstanceNormalization                               */
/*===------------------------------------------------------------------===*/

/* Per-channel input |idx|: a float vector of |c| elements. */
static ingot_status channel_param(cg_lower_ctx *ctx, const ir_node *n,
                                  int idx, const char *what, int64_t c,
                                  cg_view *out) {
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[idx], out));
  if (!dt_float(out->dtype))
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "%s has dtype %s (float types only)", what,
                         ir_dtype_name(out->dtype));
  if (out->rank != 1 || out->dims[0] != c) {
    char b[96];
    return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                         "%s has shape %s; it must be a vector of the %lld "
                         "channels",
                         what, dims_str(out, b, sizeof b), (long long)c);
  }
  return NULL;
}

/* Fills the fields BatchNormalization and InstanceNormalization share. */
static ingot_status channel_common(cg_lower_ctx *ctx, const ir_node *n,
                                   knorm_channel *d, cg_view *x) {
  cg_view y, sc, b;
  INGOT_RETURN_IF_ERROR(xy_views(ctx, n, 2, x, &y));
  memset(d, 0, sizeof *d);
  d->x = x->buf;
  d->y = y.buf;
  d->dtype = (int32_t)x->dtype;
  d->batch = x->dims[0];
  d->channels = x->dims[1];
  d->spatial = prod(x, 2, x->rank);
  INGOT_RETURN_IF_ERROR(channel_param(ctx, n, 1, "scale", d->channels, &sc));
  INGOT_RETURN_IF_ERROR(channel_param(ctx, n, 2, "B", d->channels, &b));
  if (sc.dtype != b.dtype)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "scale (%s) and B (%s) have different dtypes",
                         ir_dtype_name(sc.dtype), ir_dtype_name(b.dtype));
  d->scale = sc.buf;
  d->bias = b.buf;
  d->pdtype = (int32_t)sc.dtype;
  d->sdtype = (int32_t)sc.dtype;
  return NULL;
}

static ingot_status emit_channel(cg_lower_ctx *ctx, const ir_node *n,
                                 knorm_channel *d, const cg_view *x) {
  int64_t total = d->batch * d->channels * d->spatial;
  if (d->channels == 0 || d->batch == 0) return NULL;
  d->units = d->mode == KNORM_BATCH_TRAIN ? d->channels
                                          : d->batch * d->channels;
  d->tasks = nm_tasks(d->units, total * 4);
  static const char *const mode[] = {"BatchNorm", "BatchNorm (training)",
                                     "InstanceNorm"};
  char shape[96], summary[192];
  snprintf(summary, sizeof summary, "%s %s %s", mode[d->mode],
           dims_str(x, shape, sizeof shape), ir_dtype_name(x->dtype));
  uint64_t es = ir_dtype_traits[x->dtype].size;
  return emit(ctx, "k_norm_channel", d, sizeof *d, d->tasks,
              (uint64_t)total * 4, (uint64_t)total * es * 3, x->dtype,
              summary);
}

ingot_status cg_lower_instancenorm(cg_lower_ctx *ctx, ir_node_id nid) {
  const ir_node *n = &cg_graph(ctx)->nodes[nid];
  const ir_p_norm *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "node was not parsed");
  knorm_channel d;
  cg_view x;
  INGOT_RETURN_IF_ERROR(channel_common(ctx, n, &d, &x));
  d.mode = KNORM_INSTANCE;
  d.eps = (double)p->epsilon;
  return emit_channel(ctx, n, &d, &x);
}

ingot_status cg_lower_batchnorm(cg_lower_ctx *ctx, ir_node_id nid) {
  const ir_node *n = &cg_graph(ctx)->nodes[nid];
  const ir_p_norm *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "node was not parsed");
  knorm_channel d;
  cg_view x, m, v;
  INGOT_RETURN_IF_ERROR(channel_common(ctx, n, &d, &x));
  INGOT_RETURN_IF_ERROR(
      channel_param(ctx, n, 3, "input_mean", d.channels, &m));
  INGOT_RETURN_IF_ERROR(channel_param(ctx, n, 4, "input_var", d.channels, &v));
  if (m.dtype != v.dtype)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "input_mean (%s) and input_var (%s) have different "
                         "dtypes",
                         ir_dtype_name(m.dtype), ir_dtype_name(v.dtype));
  d.mean = m.buf;
  d.var = v.buf;
  d.sdtype = (int32_t)m.dtype;
  d.eps = (double)p->epsilon;
  d.momentum = (double)p->momentum;
  d.mode = p->training_mode ? KNORM_BATCH_TRAIN : KNORM_BATCH;
  /* running_mean / running_var: updated in training mode, copies of the
   * inputs otherwise. */
  for (int k = 1; k <= 2 && k < n->n_out; k++) {
    if (!n->out[k]) continue;
    cg_view o;
    INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[k], &o));
    if (o.dtype != m.dtype || o.rank != 1 || o.dims[0] != d.channels)
      return ir_node_error(n, INGOT_INTERNAL,
                           "output %d does not match input_mean", k);
    if (k == 1) d.has_run_mean = 1, d.run_mean = o.buf;
    else d.has_run_var = 1, d.run_var = o.buf;
  }
  return emit_channel(ctx, n, &d, &x);
}

/*===------------------------------------------------------------------===*/
/* LRN                                                                     */
/*===------------------------------------------------------------------===*/

ingot_status cg_lower_lrn(cg_lower_ctx *ctx, ir_node_id nid) {
  const ir_node *n = &cg_graph(ctx)->nodes[nid];
  const ir_p_lrn *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "node was not parsed");
  cg_view x, y;
  INGOT_RETURN_IF_ERROR(xy_views(ctx, n, 2, &x, &y));
  knorm_lrn d;
  memset(&d, 0, sizeof d);
  d.x = x.buf;
  d.y = y.buf;
  d.dtype = (int32_t)x.dtype;
  d.batch = x.dims[0];
  d.channels = x.dims[1];
  d.spatial = prod(&x, 2, x.rank);
  d.size = p->size;
  d.alpha = (double)p->alpha;
  d.beta = (double)p->beta;
  d.bias = (double)p->bias;
  int64_t total = d.batch * d.channels * d.spatial;
  if (total == 0) return NULL;
  d.units = d.batch * d.channels;
  d.tasks = nm_tasks(d.units, total * (d.size + 16));
  char shape[96], summary[192];
  snprintf(summary, sizeof summary, "LRN %s size %lld %s",
           dims_str(&x, shape, sizeof shape), (long long)d.size,
           ir_dtype_name(x.dtype));
  uint64_t es = ir_dtype_traits[x.dtype].size;
  return emit(ctx, "k_norm_lrn", &d, sizeof d, d.tasks,
              (uint64_t)total * (uint64_t)(2 * d.size + 20),
              (uint64_t)total * es * 2, x.dtype, summary);
}
