/* plan_fuse_softmax.c — the planner's fuse-softmax-mask (docs/fusion.md):
 * attention's additive mask runs inside the Softmax step.
 *
 * Pattern: s = Add(scores, mask) whose only reader is a Softmax (or
 * LogSoftmax) y over s, all float32 in the model's layout; mask broadcasts
 * over scores (numpy rules, right-aligned, each dim 1 or equal) and is a
 * constant, a graph input or any other activation; s is no graph output.
 * The scale before it (Mul or Div by a constant scalar) already runs in the
 * Q·Kᵀ MatMul's epilogue (plan_fuse.c), so the attention scores go from
 * the product to the probabilities in two steps.
 *
 * The Softmax step then reads scores + mask wherever it read s, rounding
 * each sum to float as the Add step does (k_norm_softmax's has_mask), so
 * the fused engine equals the unfused one bit for bit and no node of the
 * graph changes: the reference interpreter runs the Add and the Softmax
 * as they are, which is exactly what the kernel computes.  The Add emits
 * no step and s is never stored (hidden; its place is y's).  Softmax
 * before opset 13 (coerced to 2-D) fuses only over the last axis, where
 * the row is one axis.
 */
#include <string.h>

#include "generic/norm.h" /* KNORM_MASK_RANK */
#include "params.h"
#include "plan_fuse.h"

/* Does |m| broadcast onto |x| (numpy rules, no dim of x grows)? */
static bool broadcasts_onto(const ir_shape *m, const ir_shape *x) {
  if (m->rank > x->rank) return false;
  for (int k = 1; k <= m->rank; k++) {
    int64_t a = m->dims[m->rank - k], b = x->dims[x->rank - k];
    if (a != 1 && a != b) return false;
  }
  return true;
}

static bool f32_model_layout(const ir_graph *g, ir_tensor_id t) {
  const ir_tensor *x = &g->tensors[t];
  return t && x->dtype == IR_F32 &&
         (x->layout == 0 || x->role == IR_ROLE_CONSTANT);
}

ingot_status cg_fuse_softmax_mask(cg_fuse_state *st, ir_node_id nid,
                                  bool *hit) {
  ir_graph *g = st->g;
  cg_fusion *f = st->f;
  ir_node *y = &g->nodes[nid];
  *hit = false;
  if ((y->op != IR_OP_SOFTMAX && y->op != IR_OP_LOG_SOFTMAX) ||
      y->n_in != 1 || y->n_out != 1 || !y->params || !y->in[0] ||
      !y->out[0])
    return NULL;
  ir_tensor_id s = y->in[0];
  const ir_tensor *ts = &g->tensors[s];
  if (!f32_model_layout(g, s) || !f32_model_layout(g, y->out[0]) ||
      ts->role != IR_ROLE_ACTIVATION || ts->is_output || st->uses[s] != 1 ||
      f->hidden[s] || ts->shape.rank < 1 || ts->shape.rank > KNORM_MASK_RANK)
    return NULL;
  const ir_p_softmax *p = y->params;
  int64_t axis = p->axis < 0 ? p->axis + ts->shape.rank : p->axis;
  if (axis < 0 || axis >= ts->shape.rank ||
      (p->legacy && axis != ts->shape.rank - 1))
    return NULL;
  ir_node_id aid = st->writer[s];
  if (!aid || f->skip[aid] || f->epi[aid].n) return NULL;
  ir_node *a = &g->nodes[aid];
  if (a->op != IR_OP_ADD || a->n_in != 2 || a->n_out != 1 ||
      a->out[0] != s || !a->in[0] || !a->in[1])
    return NULL;
  /* scores: the operand of s's shape (the first when both are). */
  int k = ir_shape_equal(&g->tensors[a->in[0]].shape, &ts->shape) ? 0
          : ir_shape_equal(&g->tensors[a->in[1]].shape, &ts->shape) ? 1
                                                                   : -1;
  if (k < 0) return NULL;
  ir_tensor_id x = a->in[k], m = a->in[1 - k];
  if (!f32_model_layout(g, x) || !f32_model_layout(g, m) ||
      !broadcasts_onto(&g->tensors[m].shape, &ts->shape) ||
      (g->tensors[m].role == IR_ROLE_CONSTANT && !g->tensors[m].data))
    return NULL;
  f->skip[aid] = true;
  f->hidden[s] = true;
  f->canon[s] = y->out[0];
  f->mask_x[nid] = x;
  f->mask_m[nid] = m;
  st->writer[y->out[0]] = nid;
  *hit = true;
  if (st->log)
    fprintf(st->log,
            "fuse: Add '%s' (mask '%s') runs in %s '%s' (fuse-softmax-mask)\n",
            a->name, g->tensors[m].name, ir_op_get(y->op)->name, y->name);
  return cg_fuse_note(g, y, "fuse-softmax-mask", a);
}
