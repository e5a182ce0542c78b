/* plan_fuse_inplace.c — the memory planner's in-place elementwise
 * (docs/fusion.md): a unary or binary elementwise step writes its output
 * over an input that dies at that step.
 *
 * The step (Relu, Sigmoid, Clip, ..., Add, Sub, Mul, Div, Pow, Max, Min,
 * PRelu with two inputs: one step each, lower_elementwise.c) computes
 * element i of its output from element i of every operand of the output's
 * shape (the others broadcast), each task over its own range, and any
 * epilogue works on the output alone.  So when input t has the output's
 * shape, dtype and layout, is an activation a step writes (never a graph
 * input: a session keeps those across runs; never a graph output), and no
 * step reads t — or any tensor sharing t's place — after this one, the
 * output takes t's place: canon[out] = t, and the placement merges the
 * two lifetimes (plan.c).  Tensors in a folded Concat's buffer keep their
 * places.  The step reads element i before it writes element i, which is
 * all the aliasing needs.
 *
 * A read is counted at the node that reads, or, for a node another step
 * computes (an epilogue op), at that node — later than the real read, so
 * the test only errs towards not sharing.  A fused Softmax's mask Add
 * reads at the Softmax.  Run after the other fusions (the canon classes
 * are final) and before the chains are flattened.
 */
#include <stdlib.h>
#include <string.h>

#include "plan_fuse.h"

static ir_tensor_id root(const ir_tensor_id *canon, ir_tensor_id t) {
  while (canon[t] != t) t = canon[t];
  return t;
}

static bool elementwise(const ir_node *n) {
  switch (n->op) {
  case IR_OP_ADD: case IR_OP_SUB: case IR_OP_MUL: case IR_OP_DIV:
  case IR_OP_POW: case IR_OP_MAX: case IR_OP_MIN: case IR_OP_PRELU:
    return n->n_in == 2;
  case IR_OP_ABS: case IR_OP_NEG: case IR_OP_CEIL: case IR_OP_FLOOR:
  case IR_OP_ROUND: case IR_OP_SIGN: case IR_OP_SQRT: case IR_OP_EXP:
  case IR_OP_LOG: case IR_OP_SIN: case IR_OP_COS: case IR_OP_TANH:
  case IR_OP_ERF: case IR_OP_SIGMOID: case IR_OP_RELU:
  case IR_OP_RECIPROCAL: case IR_OP_SOFTPLUS: case IR_OP_SOFTSIGN:
  case IR_OP_ELU: case IR_OP_SELU: case IR_OP_LEAKY_RELU:
  case IR_OP_HARD_SIGMOID: case IR_OP_HARD_SWISH: case IR_OP_GELU:
  case IR_OP_CLIP:
    return n->n_in >= 1;
  default:
    return false;
  }
}

static bool placeable(const ir_graph *g, ir_tensor_id t) {
  const ir_tensor *x = &g->tensors[t];
  return x->role == IR_ROLE_ACTIVATION && !x->is_output;
}

ingot_status cg_fuse_inplace(cg_fuse_state *st, int *count) {
  ir_graph *g = st->g;
  cg_fusion *f = st->f;
  uint32_t nt = g->n_tensors, nn = g->n_nodes;
  *count = 0;
  /* last[r]: the last node reading a tensor whose place is r's. */
  uint32_t *last = calloc(nt ? nt : 1, sizeof *last);
  if (!last)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  for (ir_node_id nid = 1; nid < nn; nid++) {
    const ir_node *n = &g->nodes[nid];
    for (int k = 0; k < n->n_in + 2; k++) {
      ir_tensor_id t = k < n->n_in ? n->in[k]
                       : k == n->n_in ? f->mask_x[nid] : f->mask_m[nid];
      if (!t) continue;
      ir_tensor_id r = root(f->canon, t);
      if (last[r] < nid) last[r] = nid;
    }
  }
  for (uint32_t i = 0; i < g->n_outputs; i++)
    last[root(f->canon, g->outputs[i])] = UINT32_MAX;

  ingot_status s = NULL;
  for (ir_node_id nid = 1; !s && nid < nn; nid++) {
    ir_node *x = &g->nodes[nid];
    if (f->skip[nid] || x->n_out != 1 || !x->out[0] || !elementwise(x))
      continue;
    ir_tensor_id o = x->out[0];
    ir_tensor_id w = root(f->canon, o); /* the tensor the step writes */
    const ir_tensor *to = &g->tensors[o];
    if (!placeable(g, o) || !placeable(g, w) || st->concat_buf[w] ||
        f->canon_off[o] || st->writer[w] != nid)
      continue;
    for (int k = 0; k < x->n_in; k++) {
      ir_tensor_id t = x->in[k];
      if (!t) continue;
      const ir_tensor *ti = &g->tensors[t];
      ir_tensor_id r = root(f->canon, t);
      if (r == w || !placeable(g, t) || !placeable(g, r) || st->concat_buf[r] ||
          f->canon_off[t] || !st->writer[r] || last[r] != nid ||
          ti->dtype != to->dtype || ti->layout != to->layout ||
          !ir_shape_equal(&ti->shape, &to->shape) ||
          g->tensors[r].dtype != ti->dtype ||
          !ir_shape_equal(&g->tensors[r].shape, &ti->shape))
        continue;
      f->canon[w] = r;
      if (last[r] < last[w]) last[r] = last[w];
      (*count)++;
      if (st->log)
        fprintf(st->log,
                "fuse: %s '%s' writes '%s' over its input '%s' (in-place)\n",
                ir_op_get(x->op)->name, x->name, g->tensors[w].name,
                ti->name);
      s = cg_fuse_note(g, x, "in-place", x);
      break;
    }
  }
  free(last);
  return s;
}
