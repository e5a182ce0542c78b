/* plan_fuse_concat.c — the planner's fold-concat (docs/fusion.md): a
 * Concat whose inputs can be slices of its output emits no step; each
 * producer writes its output straight into its slice.
 *
 * Two kinds of slices:
 *  - contiguous: every dim of the output before the concat axis (in memory
 *    order) is 1, so input k is a plain byte range of the output at the
 *    sum of the sizes before it.  Any producer can write it.
 *  - channel-strided: a 4-D NHWC output concatenated over channels (the
 *    last memory dim).  Input k's pixels are C_total channels apart, at
 *    channel offset c0: pitch[t] = C_total, canon_off[t] = c0 bytes.  Only
 *    producers whose templates address their output pixel by pixel with a
 *    pitch take it (stride_producer below): Conv and QLinearConv (their
 *    descriptors' ys strides, lower_conv.c) and the NCHW->NHWC layout cast
 *    (k_plan_relayout's dst pitch).  The slice must be read by the Concat
 *    only (no other step knows the pitch), and no other tensor may share
 *    its place except an epilogue chain ending in it (never stored) or,
 *    for a nested concat, inputs that are strided slices of its rows.
 * Otherwise the Concat keeps its step (all or nothing).
 *
 * Each input must be an activation that a step writes (not a graph input
 * or output, not a constant), with the output's layout and dtype, with no
 * place of its own yet shared (the root of its canon chain) and listed
 * once.  The inputs' places become offsets into the output's (canon,
 * canon_off, pitch); the placement then gives the output a lifetime that
 * covers every slice's (plan.c), so nothing else is placed there while any
 * slice is live.  A Concat's output may itself be a slice of a later
 * Concat (nested concats fold into one buffer; plan_fuse.c composes the
 * offsets and keeps the outermost pitch).
 *
 * A plain Concat copies bytes, so an int8 Concat folds with no condition on
 * quantisation parameters.  QLinearConcat folds input by input: an input
 * whose scale and zero point give the multiplier 1 and the output's zero
 * point is a byte copy (the reference's rne(float(x − z)·1) + z = x, the
 * test lower_qlinear.c uses), and its producer writes the slice; the other
 * inputs keep their k_ql_concat steps, which write into the same buffer
 * (f->sliced tells the lowering which inputs to skip).  The node emits no
 * step when every input folds.  Requantising inputs are never folded into
 * their producer's requantisation: rounding twice (producer, then concat)
 * and once differ, and the int8 engine is bit-exact with the reference.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_format.h"
#include "params.h"
#include "plan_fuse.h"
#include "ref/ref.h"

/* The memory-order dims of |t| (NHWC 4-D: N,H,W,C) and its memory axis
 * for model axis |axis|. */
static int memory_dims(const ir_tensor *t, int64_t axis, int64_t *dims) {
  int r = t->shape.rank;
  for (int d = 0; d < r; d++) dims[d] = t->shape.dims[d];
  if (t->layout != INGOT_LAYOUT_NHWC || r != 4) return (int)axis;
  dims[1] = t->shape.dims[2];
  dims[2] = t->shape.dims[3];
  dims[3] = t->shape.dims[1];
  static const int pos[4] = {0, 3, 1, 2};
  return pos[axis];
}

/* Whether node |w|'s step writes its NHWC output |t| with any pixel pitch
 * (the lowering reads cg_view.pitch). */
static bool stride_producer(const ir_graph *g, const ir_node *w,
                            ir_tensor_id t) {
  const ir_tensor *tt = &g->tensors[t];
  if (tt->layout != INGOT_LAYOUT_NHWC || tt->shape.rank != 4) return false;
  switch (w->op) {
  case IR_OP_CONV:
  case IR_OP_QLINEAR_CONV:
    /* bf16 layers (lower_bf16.c) have their own templates: no pitch. */
    return w->compute != IR_BF16;
  case IR_OP_LAYOUT_CAST: /* NCHW -> NHWC */
    return w->out[0] == t;
  default:
    return false;
  }
}

/* QLinearConcat data input |i| (in[i], scale in[i+1], zp in[i+2]) maps
 * every code to itself. */
static bool qcat_copies(const ir_graph *g, const ir_node *c, int i) {
  ir_value in[3 * 64 + 2];
  if (c->n_in > (int)(sizeof in / sizeof in[0])) return false;
  memset(in, 0, sizeof in);
  for (int k = 0; k < c->n_in; k++) {
    if (!c->in[k]) continue;
    const ir_tensor *t = &g->tensors[c->in[k]];
    bool data = k >= 2 && (k - 2) % 3 == 0;
    if (data) continue;
    if (t->role != IR_ROLE_CONSTANT || !t->data) return false;
    ir_tensor_as_value(t, &in[k]);
  }
  float m;
  int64_t zi;
  ingot_status s = ref_qlinear_concat_q(c, in, c->n_in, i, &m, &zi);
  if (s) {
    ingot_status_free(s);
    return false;
  }
  int64_t zy = in[1].data ? ir_load_i64(in[1].dtype, in[1].data, 0) : 0;
  return m == 1.0f && zi == zy &&
         g->tensors[c->in[i]].dtype == g->tensors[c->out[0]].dtype;
}

/* Whether input |t| of a channel-strided fold can take the pitch: read by
 * the Concat only, and every tensor that shares its place is either never
 * stored (an epilogue chain) or, when |t| is a folded Concat's output, a
 * strided slice of its rows (|t_c| channels per pixel). */
static bool takes_pitch(cg_fuse_state *st, ir_tensor_id t, int64_t t_c) {
  ir_graph *g = st->g;
  cg_fusion *f = st->f;
  if (st->uses[t] != 1) return false;
  ir_node_id w = st->writer[t];
  bool nested = st->concat_buf[t] && f->skip[w];
  if (!nested && !stride_producer(g, &g->nodes[w], t)) return false;
  for (ir_tensor_id u = 1; u < g->n_tensors; u++) {
    if (u == t || f->canon[u] != t || f->hidden[u]) continue;
    if (!nested || f->pitch[u] != t_c) return false;
  }
  return true;
}

ingot_status cg_fuse_concat(cg_fuse_state *st, ir_node_id nid, bool *hit) {
  ir_graph *g = st->g;
  cg_fusion *f = st->f;
  ir_node *c = &g->nodes[nid];
  *hit = false;
  bool qcat = c->op == IR_OP_QLINEAR_CONCAT;
  if ((c->op != IR_OP_CONCAT && !qcat) || f->skip[nid] || c->n_out != 1 ||
      !c->out[0] || !c->params || c->n_in < 1)
    return NULL;
  ir_tensor_id o = c->out[0];
  const ir_tensor *to = &g->tensors[o];
  if (to->role != IR_ROLE_ACTIVATION || to->shape.rank < 1 || f->hidden[o])
    return NULL;
  const ir_p_axis *p = c->params;
  int64_t axis = p->axis < 0 ? p->axis + to->shape.rank : p->axis;
  if (axis < 0 || axis >= to->shape.rank) return NULL;
  int64_t od[IR_MAX_RANK];
  int ax = memory_dims(to, axis, od);
  bool contiguous = true;
  for (int d = 0; d < ax; d++) contiguous = contiguous && od[d] == 1;
  /* Strided: channels of a 4-D NHWC tensor. */
  bool strided = !contiguous && to->layout == INGOT_LAYOUT_NHWC &&
                 to->shape.rank == 4 && ax == 3;
  if (!contiguous && !strided) return NULL;
  if (contiguous && to->layout != 0) return NULL; /* as before */
  size_t es = ir_dtype_traits[to->dtype].size;
  if (!es) return NULL;
  int first = qcat ? 2 : 0, step = qcat ? 3 : 1;
  bool fold[3 * 64 + 2] = {false};
  if (c->n_in > (int)(sizeof fold / sizeof fold[0])) return NULL;
  int n_fold = 0, n_data = 0;
  uint64_t at = 0;
  for (int k = first; k < c->n_in; k += step) {
    n_data++;
    ir_tensor_id t = c->in[k];
    if (!t || t == o) return NULL;
    const ir_tensor *ti = &g->tensors[t];
    int64_t td[IR_MAX_RANK];
    memory_dims(ti, axis, td);
    at += (uint64_t)(strided ? td[3] : ir_shape_numel(&ti->shape)) * es;
    bool ok = ti->role == IR_ROLE_ACTIVATION && !ti->is_output &&
              ti->layout == to->layout && ti->dtype == to->dtype &&
              f->canon[t] == t && !f->hidden[t] && st->writer[t] &&
              ti->shape.rank == to->shape.rank;
    for (int j = first; ok && j < k; j += step)
      ok = c->in[j] != t;
    if (ok && strided) ok = takes_pitch(st, t, td[3]);
    if (ok && qcat) ok = qcat_copies(g, c, k);
    if (!ok && !qcat) return NULL; /* Concat: all or nothing */
    fold[k] = ok;
    n_fold += ok;
  }
  if (!n_fold) return NULL;
  uint64_t total =
      (uint64_t)(strided ? od[3] : ir_shape_numel(&to->shape)) * es;
  if (at != total) return NULL;
  /* A tensor that other tensors' places already hang on (a folded Reshape
   * of it, an epilogue chain ending in it, a nested Concat's slices) moves
   * with it: their canon points at it and plan_fuse.c flattens the
   * chains. */
  at = 0;
  for (int k = first; k < c->n_in; k += step) {
    ir_tensor_id t = c->in[k];
    const ir_tensor *ti = &g->tensors[t];
    int64_t td[IR_MAX_RANK];
    memory_dims(ti, axis, td);
    if (fold[k]) {
      f->canon[t] = o;
      f->canon_off[t] = (int64_t)at;
      f->pitch[t] = strided ? od[3] : 0;
      f->sliced[t] = true;
    }
    at += (uint64_t)(strided ? td[3] : ir_shape_numel(&ti->shape)) * es;
  }
  f->skip[nid] = n_fold == n_data;
  st->concat_buf[o] = true;
  *hit = true;
  if (st->log) {
    if (n_fold == n_data)
      fprintf(st->log,
              "fuse: %s '%s' folded: its %d input(s) are written into "
              "%sslices of '%s' (fold-concat)\n",
              ir_op_get(c->op)->name, c->name, n_data,
              strided ? "channel-strided " : "", to->name);
    else
      fprintf(st->log,
              "fuse: %s '%s' folded: %d of its %d input(s) are written into "
              "%sslices of '%s', the others keep their copy steps "
              "(fold-concat)\n",
              ir_op_get(c->op)->name, c->name, n_fold, n_data,
              strided ? "channel-strided " : "", to->name);
  }
  /* Noted on the first folded input's writer, whose step starts the
   * buffer. */
  for (int k = first; k < c->n_in; k += step)
    if (fold[k])
      return cg_fuse_note(g, &g->nodes[st->writer[c->in[k]]], "fold-concat",
                          c);
  return NULL;
}
