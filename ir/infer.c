/* infer.c — static shape inference over the whole graph.
 *
 * Walks the nodes in order and calls each op's infer function with the
 * dtypes and shapes known so far.  Values are propagated on the side for
 * nodes whose inputs are all known (constants, or computed here), so
 * PyTorch-style shape arithmetic (Shape -> Gather -> Concat -> Reshape)
 * resolves to static shapes.  The graph itself is not rewritten: turning
 * those values into constants is the constant-folding pass's job.
 *
 * An op that needs a value that is only known at run time answers
 * INGOT_FAILED_PRECONDITION; its outputs stay unknown.  Any other error is
 * an inconsistency in the model and is returned, naming the node.
 */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* Values larger than this are not propagated (shape arithmetic is tiny). */
#define FOLD_MAX_ELEMS ((size_t)1 << 16)

ingot_status ir_infer_shapes(ir_graph *g) {
  ir_value *known = calloc(g->n_tensors, sizeof *known);
  if (!known)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  ingot_status s = NULL;
  ir_value *in = NULL, *out = NULL;
  size_t cap = 0;
  for (ir_node_id nid = 1; !s && nid < g->n_nodes; nid++) {
    const ir_node *n = &g->nodes[nid];
    const ir_op_info *info = ir_op_get(n->op);
    size_t need = (size_t)(n->n_in > n->n_out ? n->n_in : n->n_out) + 1;
    if (need > cap) {
      free(in);
      free(out);
      cap = need * 2;
      in = calloc(cap, sizeof *in);
      out = calloc(cap, sizeof *out);
      if (!in || !out) {
        s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
        break;
      }
    }
    bool ready = true, all_values = true;
    for (int k = 0; k < n->n_in; k++) {
      memset(&in[k], 0, sizeof in[k]);
      ir_tensor_id id = n->in[k];
      if (!id) continue;
      const ir_tensor *t = &g->tensors[id];
      if (!t->shape_known || t->dtype == IR_DT_UNDEF) {
        ready = false;
        break;
      }
      in[k].dtype = t->dtype;
      in[k].shape = t->shape;
      in[k].borrowed = true;
      in[k].data = t->data ? t->data : known[id].data;
      if (!in[k].data) all_values = false;
    }
    if (!ready) continue;
    /* Shape and Size read only their input's shape, never its data, so
     * they fold as soon as that shape is static. */
    if ((n->op == IR_OP_SHAPE || n->op == IR_OP_SIZE) &&
        ir_shape_is_static(&in[0].shape))
      all_values = true;
    memset(out, 0, cap * sizeof *out);
    s = info->infer(n, in, n->n_in, out, n->n_out);
    if (s) {
      if (ingot_status_code_of(s) == INGOT_FAILED_PRECONDITION) {
        ingot_status_free(s);
        s = NULL;
      }
      continue;
    }
    bool foldable = all_values && !(info->flags & IR_OPF_NO_FOLD);
    for (int k = 0; k < n->n_out; k++) {
      if (out[k].shape.rank < 0 || out[k].shape.rank > IR_MAX_RANK) {
        s = ir_node_error(n, INGOT_INTERNAL, "inferred a bad rank %d",
                          out[k].shape.rank);
        break;
      }
      if (!ir_shape_is_static(&out[k].shape) ||
          ir_shape_numel(&out[k].shape) > FOLD_MAX_ELEMS)
        foldable = false;
      if (!n->out[k]) continue;
      ir_tensor *t = &g->tensors[n->out[k]];
      t->dtype = out[k].dtype;
      t->shape = out[k].shape;
      t->shape_known = true;
    }
    if (s || !foldable) continue;
    /* Evaluate now so later nodes can see the value. */
    int k;
    for (k = 0; k < n->n_out; k++)
      if ((s = ir_value_alloc(&out[k]))) break;
    if (!s) s = info->eval(n, in, n->n_in, out, n->n_out);
    if (s) {
      /* A node that fails on its constant inputs fails at run time too;
       * report it now with the node's name. */
      for (int j = 0; j < n->n_out; j++) ir_value_free(&out[j]);
      break;
    }
    for (k = 0; k < n->n_out; k++) {
      if (n->out[k] && !known[n->out[k]].data)
        known[n->out[k]] = out[k];
      else
        ir_value_free(&out[k]);
    }
  }
  for (ir_tensor_id t = 0; t < g->n_tensors; t++) ir_value_free(&known[t]);
  free(known);
  free(in);
  free(out);
  return s;
}
