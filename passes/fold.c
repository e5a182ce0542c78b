/* fold.c — constant folding.
 *
 * Requires: shapes inferred.  Provides: no node has only constant inputs
 * (except ops flagged IR_OPF_NO_FOLD and layout casts), and no Shape or
 * Size of a statically shaped tensor remains; their outputs are
 * constants computed by the reference interpreter's own eval functions, so
 * folding cannot change a result.  In an engine this is what makes Shape,
 * Size, Constant, ConstantOfShape, Range and weight-only subgraphs vanish.
 * DequantizeLinear is left to qdq-fold (QDQ weights must stay int8).
 */
#include <stdlib.h>
#include <string.h>

#include "passes.h"

/* Outputs larger than this stay computed at run time. */
#define FOLD_MAX_BYTES ((size_t)256 << 20)

ingot_status pass_fold(ir_graph *g, const pass_options *opt) {
  bool *dead = calloc(g->n_nodes + 1, sizeof *dead);
  if (!dead)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  ingot_status s = NULL;
  int folded = 0;
  ir_value in[256], out[256];
  for (ir_node_id nid = 1; !s && nid < g->n_nodes; nid++) {
    const ir_node *n = &g->nodes[nid];
    const ir_op_info *info = ir_op_get(n->op);
    if (info->flags & (IR_OPF_NO_FOLD | IR_OPF_INTERNAL)) continue;
    /* DequantizeLinear of a constant stays: qdq-fold needs the int8
     * weight and its scales, and computes the ones it does not use. */
    if (n->op == IR_OP_DEQUANTIZE_LINEAR) continue;
    if (n->n_in > 256 || n->n_out > 256) continue;
    bool all_const = true;
    for (int k = 0; k < n->n_in && all_const; k++)
      if (n->in[k]) all_const = g->tensors[n->in[k]].role == IR_ROLE_CONSTANT;
    /* Shape and Size read only their input's (static) shape. */
    bool shape_only = (n->op == IR_OP_SHAPE || n->op == IR_OP_SIZE) &&
                      g->tensors[n->in[0]].shape_known &&
                      ir_shape_is_static(&g->tensors[n->in[0]].shape);
    if (!all_const && !shape_only) continue;
    for (int k = 0; k < n->n_in; k++) {
      memset(&in[k], 0, sizeof in[k]);
      if (n->in[k]) ir_tensor_as_value(&g->tensors[n->in[k]], &in[k]);
    }
    memset(out, 0, sizeof(ir_value) * n->n_out);
    s = info->infer(n, in, n->n_in, out, n->n_out);
    size_t total = 0;
    for (int k = 0; !s && k < n->n_out; k++) total += ir_value_nbytes(&out[k]);
    if (s || total > FOLD_MAX_BYTES) {
      if (s) s = ingot_status_annotate(s, "fold: ");
      continue;
    }
    int k;
    for (k = 0; !s && k < n->n_out; k++) s = ir_value_alloc(&out[k]);
    if (!s) s = info->eval(n, in, n->n_in, out, n->n_out);
    for (k = 0; !s && k < n->n_out; k++) {
      ir_tensor_id id = n->out[k];
      if (!id) continue;
      ir_tensor *t = &g->tensors[id];
      size_t nb = ir_value_nbytes(&out[k]);
      void *data = ir_arena_alloc(&g->arena, nb);
      if (!data) {
        s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
        break;
      }
      if (nb) memcpy(data, out[k].data, nb);
      t->role = IR_ROLE_CONSTANT;
      t->data = data;
      t->dtype = out[k].dtype;
      t->shape = out[k].shape;
      t->shape_known = true;
      t->producer = 0;
    }
    for (k = 0; k < n->n_out; k++) ir_value_free(&out[k]);
    if (s) {
      s = ingot_status_annotate(s, "fold: ");
      break;
    }
    dead[nid] = true;
    folded++;
  }
  if (!s) ir_graph_remove_dead(g, dead);
  free(dead);
  if (!s && opt && opt->log && folded)
    fprintf(opt->log, "fold: %d node(s) computed at build time\n", folded);
  return s;
}
