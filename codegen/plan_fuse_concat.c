/* plan_fuse_concat.c — the planner's fold-concat (docs/fusion.md): a
 * Concat whose inputs can be slices of its output emits no step; each
 * producer writes its output straight into its slice.
 *
 * This holds when the slices are contiguous: every dim of the output
 * before the concat axis is 1 (the axis is the outermost non-unit one, in
 * the model's layout), so input k is a plain byte range of the output at
 * the sum of the sizes before it.  Each input must be an activation that a
 * step writes (not a graph input or output, not a constant), stored in the
 * model's layout, with no place of its own yet shared (the root of its
 * canon chain) and listed once; otherwise the Concat keeps its step (all
 * or nothing).  The inputs' places become offsets into the output's
 * (canon, canon_off); the placement then gives the output a lifetime that
 * covers every slice's (plan.c), so nothing else is placed there while
 * any slice is live.  A Concat's output may itself be a slice of a later
 * Concat (nested concats fold into one buffer).
 *
 * Only the plain Concat: it copies bytes, so an int8 Concat folds with no
 * condition on quantisation parameters.  QLinearConcat requantises its
 * inputs unless their scales and zero points equal the output's, and keeps
 * its step (not folded yet).  NHWC tensors concatenated over channels
 * would need strided outputs in the conv and elementwise templates; they
 * keep their step too.
 */
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "plan_fuse.h"

ingot_status cg_fuse_concat(cg_fuse_state *st, ir_node_id nid, bool *hit) {
  ir_graph *g = st->g;
  cg_fusion *f = st->f;
  ir_node *c = &g->nodes[nid];
  *hit = false;
  if (c->op != IR_OP_CONCAT || f->skip[nid] || c->n_out != 1 || !c->out[0] ||
      !c->params || c->n_in < 1)
    return NULL;
  ir_tensor_id o = c->out[0];
  const ir_tensor *to = &g->tensors[o];
  if (to->role != IR_ROLE_ACTIVATION || to->layout != 0 ||
      to->shape.rank < 1 || f->hidden[o])
    return NULL;
  const ir_p_axis *p = c->params;
  int64_t axis = p->axis < 0 ? p->axis + to->shape.rank : p->axis;
  if (axis < 0 || axis >= to->shape.rank) return NULL;
  for (int64_t d = 0; d < axis; d++)
    if (to->shape.dims[d] != 1) return NULL;
  size_t es = ir_dtype_traits[to->dtype].size;
  if (!es) return NULL;
  uint64_t at = 0;
  for (int k = 0; k < c->n_in; k++) {
    ir_tensor_id t = c->in[k];
    if (!t || t == o) return NULL;
    const ir_tensor *ti = &g->tensors[t];
    if (ti->role != IR_ROLE_ACTIVATION || ti->is_output || ti->layout != 0 ||
        ti->dtype != to->dtype || f->canon[t] != t || f->hidden[t] ||
        !st->writer[t] || ti->shape.rank != to->shape.rank)
      return NULL;
    for (int j = 0; j < k; j++)
      if (c->in[j] == t) return NULL;
    at += ir_shape_numel(&ti->shape) * es;
  }
  if (at != ir_shape_numel(&to->shape) * es) return NULL;
  /* A tensor that other tensors' places already hang on (a folded Reshape
   * of it, an epilogue chain ending in it) moves with it: their canon
   * points at it and plan_fuse.c flattens the chains. */
  at = 0;
  for (int k = 0; k < c->n_in; k++) {
    ir_tensor_id t = c->in[k];
    f->canon[t] = o;
    f->canon_off[t] = (int64_t)at;
    at += ir_shape_numel(&g->tensors[t].shape) * es;
  }
  f->skip[nid] = true;
  st->concat_buf[o] = true;
  *hit = true;
  if (st->log)
    fprintf(st->log,
            "fuse: Concat '%s' folded: its %d input(s) are written into "
            "slices of '%s' (fold-concat)\n",
            c->name, c->n_in, to->name);
  /* Noted on the first input's writer, whose step starts the buffer. */
  return cg_fuse_note(g, &g->nodes[st->writer[c->in[0]]], "fold-concat", c);
}
