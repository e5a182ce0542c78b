/* verify.c — structural invariants of an ir_graph (ir_verify: passes run
 * it after themselves in debug builds and tests) and the importers' shared
 * node check (ir_parse_nodes).  Every failure names the node or tensor and
 * the broken rule. */
#include <stdlib.h>

#include "ir.h"

ingot_status ir_parse_nodes(ir_graph *g) {
  for (ir_node_id nid = 1; nid < g->n_nodes; nid++) {
    const ir_node *n = &g->nodes[nid];
    const ir_op_info *info = ir_op_get(n->op);
    if (n->n_in < info->min_in || (info->max_in >= 0 && n->n_in > info->max_in))
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "has %d inputs; the op takes %d to %d", n->n_in,
                           info->min_in, info->max_in);
    if (n->n_out < info->min_out ||
        (info->max_out >= 0 && n->n_out > info->max_out))
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "has %d outputs; the op makes %d to %d", n->n_out,
                           info->min_out, info->max_out);
    for (int k = 0; k < info->min_in && k < n->n_in; k++)
      if (!n->in[k])
        return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                             "required input %d is empty", k);
    INGOT_RETURN_IF_ERROR(info->parse(g, nid));
  }
  return NULL;
}

ingot_status ir_verify(const ir_graph *g) {
  bool *defined = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *defined);
  if (!defined)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  ingot_status s = NULL;
  for (ir_tensor_id t = 1; !s && t < g->n_tensors; t++) {
    const ir_tensor *ten = &g->tensors[t];
    if (!ten->name || !*ten->name)
      s = ingot_make_status(INGOT_INTERNAL, "tensor #%u has no name", t);
    else if (ten->role == IR_ROLE_CONSTANT && !ten->data)
      s = ingot_make_status(INGOT_INTERNAL, "constant '%s' has no data",
                            ten->name);
    else if (ten->role == IR_ROLE_CONSTANT &&
             !ir_shape_is_static(&ten->shape))
      s = ingot_make_status(INGOT_INTERNAL,
                            "constant '%s' has a non-static shape", ten->name);
    defined[t] = ten->role != IR_ROLE_ACTIVATION;
  }
  for (uint32_t i = 0; !s && i < g->n_inputs; i++)
    if (!g->inputs[i] || g->inputs[i] >= g->n_tensors ||
        g->tensors[g->inputs[i]].role != IR_ROLE_INPUT)
      s = ingot_make_status(INGOT_INTERNAL, "graph input #%u is invalid", i);
  for (ir_node_id nid = 1; !s && nid < g->n_nodes; nid++) {
    const ir_node *n = &g->nodes[nid];
    const ir_op_info *info = ir_op_get(n->op);
    if (!info) {
      s = ingot_make_status(INGOT_INTERNAL, "node #%u has invalid op %d", nid,
                            (int)n->op);
      break;
    }
    if (n->n_in < info->min_in ||
        (info->max_in >= 0 && n->n_in > info->max_in) ||
        n->n_out < info->min_out ||
        (info->max_out >= 0 && n->n_out > info->max_out)) {
      s = ir_node_error(n, INGOT_INTERNAL, "wrong number of inputs/outputs");
      break;
    }
    for (int k = 0; !s && k < n->n_in; k++) {
      ir_tensor_id t = n->in[k];
      if (t >= g->n_tensors)
        s = ir_node_error(n, INGOT_INTERNAL, "input %d has bad id %u", k, t);
      else if (t && !defined[t])
        s = ir_node_error(n, INGOT_INTERNAL,
                          "input '%s' is used before it is defined",
                          g->tensors[t].name);
    }
    for (int k = 0; !s && k < n->n_out; k++) {
      ir_tensor_id t = n->out[k];
      if (!t) continue;
      if (t >= g->n_tensors)
        s = ir_node_error(n, INGOT_INTERNAL, "output %d has bad id %u", k, t);
      else if (defined[t])
        s = ir_node_error(n, INGOT_INTERNAL, "output '%s' is defined twice",
                          g->tensors[t].name);
      else if (g->tensors[t].producer != nid)
        s = ir_node_error(n, INGOT_INTERNAL,
                          "output '%s' has a stale producer",
                          g->tensors[t].name);
      else
        defined[t] = true;
    }
  }
  for (uint32_t i = 0; !s && i < g->n_outputs; i++) {
    ir_tensor_id t = g->outputs[i];
    if (!t || t >= g->n_tensors || !defined[t])
      s = ingot_make_status(INGOT_INTERNAL,
                            "graph output #%u is not defined", i);
  }
  free(defined);
  return s;
}
