/* simplify.c — removes what computes nothing.
 *
 * Requires: fold (Dropout's ratio/training_mode are constants by then).
 * Provides: no Identity, no inference-mode Dropout (whose output is its
 * input), and no node whose outputs nobody uses.  A node whose output is
 * a graph output is kept: the output tensor must be produced under its own
 * name (the planner lowers it to a copy).
 */
#include <stdlib.h>
#include <string.h>

#include "passes.h"

/* Dropout computes Identity unless training_mode is a constant true. */
static bool is_passthrough(const ir_graph *g, const ir_node *n) {
  if (n->op == IR_OP_IDENTITY) return true;
  if (n->op != IR_OP_DROPOUT) return false;
  if (n->n_out > 1 && n->out[1]) return false; /* the mask is used */
  if (n->n_in > 2 && n->in[2]) {
    const ir_tensor *t = &g->tensors[n->in[2]];
    if (t->role != IR_ROLE_CONSTANT || !t->data) return false;
    if (ir_load_i64(t->dtype, t->data, 0) != 0) return false;
  }
  return true;
}

ingot_status pass_simplify(ir_graph *g, const pass_options *opt) {
  bool *dead = calloc(g->n_nodes + 1, sizeof *dead);
  uint32_t *uses = calloc(g->n_tensors, sizeof *uses);
  ir_tensor_id *alias = calloc(g->n_tensors, sizeof *alias);
  if (!dead || !uses || !alias) {
    free(dead);
    free(uses);
    free(alias);
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  }
  int bypassed = 0, unused = 0;
  /* 1. Bypass pass-through nodes: their consumers read the input. */
  for (ir_node_id nid = 1; nid < g->n_nodes; nid++) {
    ir_node *n = &g->nodes[nid];
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k] && alias[n->in[k]]) n->in[k] = alias[n->in[k]];
    if (!is_passthrough(g, n) || !n->out[0] ||
        g->tensors[n->out[0]].is_output)
      continue;
    alias[n->out[0]] = n->in[0];
    dead[nid] = true;
    bypassed++;
  }
  /* 2. Dead code, from the back. */
  for (uint32_t i = 0; i < g->n_outputs; i++) uses[g->outputs[i]]++;
  for (ir_node_id nid = g->n_nodes - 1; nid >= 1; nid--) {
    ir_node *n = &g->nodes[nid];
    if (!dead[nid]) {
      bool used = false;
      for (int k = 0; k < n->n_out; k++) used |= n->out[k] && uses[n->out[k]];
      if (!used) {
        dead[nid] = true;
        unused++;
      }
    }
    if (dead[nid]) continue;
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k]) uses[n->in[k]]++;
    /* Outputs nobody reads become absent optional outputs. */
    for (int k = 1; k < n->n_out; k++)
      if (n->out[k] && !uses[n->out[k]] &&
          ir_op_get(n->op)->min_out <= k)
        n->out[k] = 0;
  }
  ir_graph_remove_dead(g, dead);
  free(dead);
  free(uses);
  free(alias);
  if (opt && opt->log && (bypassed || unused))
    fprintf(opt->log,
            "simplify: %d pass-through node(s) bypassed, %d unused node(s) "
            "removed\n",
            bypassed, unused);
  return NULL;
}

ingot_status pass_static_shapes(ir_graph *g, const pass_options *opt) {
  (void)opt;
  for (ir_node_id nid = 1; nid < g->n_nodes; nid++) {
    const ir_node *n = &g->nodes[nid];
    for (int k = 0; k < n->n_out; k++) {
      const ir_tensor *t = n->out[k] ? &g->tensors[n->out[k]] : NULL;
      if (!t || (t->shape_known && ir_shape_is_static(&t->shape) &&
                 t->dtype != IR_DT_UNDEF))
        continue;
      char b[128];
      return ir_node_error(
          n, INGOT_UNIMPLEMENTED,
          "output '%s' has shape %s, which depends on run-time data; an "
          "engine needs static shapes: fix input shapes with --shapes or "
          "freeze inputs with --const-input",
          t->name,
          t->shape_known ? ir_shape_str(&t->shape, b, sizeof b)
                         : "of unknown rank");
    }
  }
  for (uint32_t i = 0; i < g->n_inputs; i++) {
    const ir_tensor *t = &g->tensors[g->inputs[i]];
    if (!t->shape_known || !ir_shape_is_static(&t->shape))
      return ingot_make_status(INGOT_INVALID_ARGUMENT,
                               "input '%s' has symbolic dimensions; give "
                               "them with --shapes %s:DIMS",
                               t->name, t->name);
  }
  return NULL;
}

ingot_status pass_freeze_input(ir_graph *g, const char *name,
                               const ir_value *v) {
  ir_tensor_id id = ir_graph_find_tensor(g, name);
  uint32_t slot = g->n_inputs;
  for (uint32_t i = 0; i < g->n_inputs; i++)
    if (g->inputs[i] == id) slot = i;
  if (!id || slot == g->n_inputs)
    return ingot_make_status(INGOT_NOT_FOUND,
                             "--const-input: '%s' is not an input of the "
                             "model",
                             name);
  ir_tensor *t = &g->tensors[id];
  char a[128], b[128];
  if (v->dtype != t->dtype)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "--const-input: input '%s' is %s, the value is "
                             "%s",
                             name, ir_dtype_name(t->dtype),
                             ir_dtype_name(v->dtype));
  bool ok = !t->shape_known || t->shape.rank == v->shape.rank;
  for (int d = 0; ok && t->shape_known && d < t->shape.rank; d++)
    ok = t->shape.dims[d] < 0 || t->shape.dims[d] == v->shape.dims[d];
  if (!ok)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "--const-input: input '%s' has shape %s, the "
                             "value %s",
                             name, ir_shape_str(&t->shape, a, sizeof a),
                             ir_shape_str(&v->shape, b, sizeof b));
  size_t nb = ir_value_nbytes(v);
  t->data = ir_arena_alloc(&g->arena, nb);
  if (!t->data)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  if (nb) memcpy(t->data, v->data, nb);
  t->role = IR_ROLE_CONSTANT;
  t->shape = v->shape;
  t->shape_known = true;
  memmove(&g->inputs[slot], &g->inputs[slot + 1],
          (g->n_inputs - slot - 1) * sizeof *g->inputs);
  g->n_inputs--;
  return ir_infer_shapes(g);
}
