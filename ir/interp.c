/* interp.c — the reference interpreter: runs a graph node by node in
 * plain C.  It defines Ingot's semantics (fp32 per the ONNX spec, int8 per
 * DESIGN.md §5); calibration runs it and every test compares against it.
 *
 * Values are computed into malloc'd buffers and freed as soon as their last
 * consumer has run, so peak memory tracks the live set, not the model.
 * Shapes are recomputed from the actual inputs on every run (infer), so the
 * interpreter also runs graphs whose shapes depend on data.
 */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static ingot_status check_input(const ir_graph *g, uint32_t i,
                                const ir_value *v) {
  const ir_tensor *t = &g->tensors[g->inputs[i]];
  char a[128], b[128];
  if (v->dtype != t->dtype)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "input '%s' must be %s, got %s", t->name,
                             ir_dtype_name(t->dtype), ir_dtype_name(v->dtype));
  if (v->shape.rank < 0 || v->shape.rank > IR_MAX_RANK ||
      !ir_shape_is_static(&v->shape))
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "input '%s' has an invalid shape", t->name);
  bool ok = !t->shape_known || t->shape.rank == v->shape.rank;
  for (int d = 0; ok && t->shape_known && d < t->shape.rank; d++)
    ok = t->shape.dims[d] < 0 || t->shape.dims[d] == v->shape.dims[d];
  if (!ok)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "input '%s' must have shape %s, got %s", t->name,
                             ir_shape_str(&t->shape, a, sizeof a),
                             ir_shape_str(&v->shape, b, sizeof b));
  if (!v->data && ir_shape_numel(&v->shape))
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "input '%s' has no data", t->name);
  return NULL;
}

ingot_status ir_interp_run(const ir_graph *g, const ir_value *inputs,
                           ir_value *outputs, const ir_interp_options *opt) {
  for (uint32_t i = 0; i < g->n_outputs; i++)
    memset(&outputs[i], 0, sizeof outputs[i]);
  for (uint32_t i = 0; i < g->n_inputs; i++)
    INGOT_RETURN_IF_ERROR(check_input(g, i, &inputs[i]));

  ir_value *vals = calloc(g->n_tensors, sizeof *vals);
  uint32_t *uses = calloc(g->n_tensors, sizeof *uses);
  ir_value *in = NULL, *out = NULL;
  if (!vals || !uses) {
    free(vals);
    free(uses);
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  }
  /* Remaining consumers per tensor; UINT32_MAX marks graph outputs, which
   * are never freed early. */
  for (ir_node_id nid = 1; nid < g->n_nodes; nid++)
    for (int k = 0; k < g->nodes[nid].n_in; k++) uses[g->nodes[nid].in[k]]++;
  for (uint32_t i = 0; i < g->n_outputs; i++) uses[g->outputs[i]] = UINT32_MAX;
  for (ir_tensor_id t = 1; t < g->n_tensors; t++)
    if (g->tensors[t].role == IR_ROLE_CONSTANT)
      ir_tensor_as_value(&g->tensors[t], &vals[t]);
  for (uint32_t i = 0; i < g->n_inputs; i++) {
    vals[g->inputs[i]] = inputs[i];
    vals[g->inputs[i]].borrowed = true;
  }

  ingot_status s = NULL;
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
    for (int k = 0; k < n->n_in; k++) {
      in[k] = n->in[k] ? vals[n->in[k]] : (ir_value){0};
      in[k].borrowed = true;
      if (n->in[k] && in[k].dtype == IR_DT_UNDEF) {
        s = ir_node_error(n, INGOT_INTERNAL, "input '%s' has no value",
                          g->tensors[n->in[k]].name);
        break;
      }
    }
    if (s) break;
    memset(out, 0, cap * sizeof *out);
    s = info->infer(n, in, n->n_in, out, n->n_out);
    for (int k = 0; !s && k < n->n_out; k++) {
      s = ir_value_alloc(&out[k]);
      if (s) s = ingot_status_annotate(s, "node '%s' (%s): output %d: ",
                                       n->name, info->name, k);
    }
    if (!s) s = info->eval(n, in, n->n_in, out, n->n_out);
    if (s) {
      for (int k = 0; k < n->n_out; k++) ir_value_free(&out[k]);
      break;
    }
    for (int k = 0; k < n->n_out; k++) {
      ir_tensor_id t = n->out[k];
      if (!t) {
        ir_value_free(&out[k]);
        continue;
      }
      vals[t] = out[k];
      if (opt && opt->observe) opt->observe(opt->observe_ctx, g, t, &vals[t]);
    }
    for (int k = 0; k < n->n_in; k++) {
      ir_tensor_id t = n->in[k];
      if (t && uses[t] != UINT32_MAX && --uses[t] == 0)
        ir_value_free(&vals[t]);
    }
    for (int k = 0; k < n->n_out; k++) { /* produced but never consumed */
      ir_tensor_id t = n->out[k];
      if (t && uses[t] == 0) ir_value_free(&vals[t]);
    }
  }
  for (uint32_t i = 0; !s && i < g->n_outputs; i++) {
    ir_tensor_id t = g->outputs[i];
    bool owned_once = !vals[t].borrowed && vals[t].data;
    if (owned_once) {
      outputs[i] = vals[t];
      vals[t].data = NULL; /* moved */
      vals[t].borrowed = true;
      outputs[i].borrowed = false;
      /* a second listing of the same tensor copies from the moved value */
      for (uint32_t j = i + 1; j < g->n_outputs; j++)
        if (g->outputs[j] == t) {
          vals[t].data = outputs[i].data;
          break;
        }
    } else {
      s = ir_value_copy(&outputs[i], &vals[t]);
    }
  }
  if (s)
    for (uint32_t i = 0; i < g->n_outputs; i++) ir_value_free(&outputs[i]);
  for (ir_tensor_id t = 1; t < g->n_tensors; t++) ir_value_free(&vals[t]);
  free(vals);
  free(uses);
  free(in);
  free(out);
  return s;
}
