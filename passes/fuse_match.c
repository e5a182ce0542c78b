/* fuse_match.c — helpers of the fusion passes (fuse_match.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_match.h"

static ingot_status oom(void) {
  return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
}

ingot_status fuse_graph_init(fuse_graph *f, ir_graph *g) {
  memset(f, 0, sizeof *f);
  f->g = g;
  f->n_tensors = g->n_tensors;
  f->uses = calloc(g->n_tensors, sizeof *f->uses);
  f->reader = calloc(g->n_tensors, sizeof *f->reader);
  f->dead = calloc(g->n_nodes + 1, sizeof *f->dead);
  if (!f->uses || !f->reader || !f->dead) {
    fuse_graph_finish(f);
    return oom();
  }
  for (uint32_t i = 0; i < g->n_outputs; i++) f->uses[g->outputs[i]]++;
  for (ir_node_id nid = 1; nid < g->n_nodes; nid++) {
    const ir_node *n = &g->nodes[nid];
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k]) {
        f->uses[n->in[k]]++;
        f->reader[n->in[k]] = nid;
      }
  }
  return NULL;
}

void fuse_graph_finish(fuse_graph *f) {
  if (f->g && f->dead) ir_graph_remove_dead(f->g, f->dead);
  free(f->uses);
  free(f->reader);
  free(f->dead);
  memset(f, 0, sizeof *f);
}

ir_node_id fuse_single_reader(const fuse_graph *f, ir_tensor_id t) {
  if (!t || t >= f->n_tensors || f->uses[t] != 1 || f->g->tensors[t].is_output) return 0;
  ir_node_id r = f->reader[t];
  return f->dead[r] ? 0 : r;
}

bool fuse_const_scalar(const ir_graph *g, ir_tensor_id t, float *v) {
  if (!t) return false;
  const ir_tensor *x = &g->tensors[t];
  if (x->role != IR_ROLE_CONSTANT || !x->data || x->dtype != IR_F32 ||
      ir_shape_numel(&x->shape) != 1)
    return false;
  *v = ((const float *)x->data)[0];
  return true;
}

ir_tensor_id fuse_other_input(const ir_node *n, ir_tensor_id x) {
  if (n->n_in != 2) return 0;
  if (n->in[0] == x && n->in[1] != x) return n->in[1];
  if (n->in[1] == x && n->in[0] != x) return n->in[0];
  return 0;
}

bool fuse_binary_with(const ir_graph *g, const ir_node *n, ir_op op,
                      ir_tensor_id x, float want, float tol, bool commutes) {
  if (n->op != op || n->n_in != 2) return false;
  if (!commutes && n->in[0] != x) return false;
  float v;
  if (!fuse_const_scalar(g, fuse_other_input(n, x), &v)) return false;
  return fabsf(v - want) <= tol;
}

ingot_status fuse_rewrite(fuse_graph *f, ir_node_id last, ir_op op,
                          const ir_tensor_id *in, int n_in,
                          const ir_attr *attrs, int n_attrs,
                          const ir_node_id *absorbed, int n_absorbed,
                          const char *pass) {
  ir_graph *g = f->g;
  ir_node *n = &g->nodes[last];
  size_t len = n->fused ? strlen(n->fused) + 1 : 0;
  for (int i = 0; i < n_absorbed; i++) {
    const ir_node *a = &g->nodes[absorbed[i]];
    len += strlen(pass) + strlen(ir_op_get(a->op)->name) + strlen(a->name) +
           3 + (a->fused ? strlen(a->fused) + 1 : 0);
  }
  char *fused = ir_arena_alloc(&g->arena, len + 1);
  ir_tensor_id *ins = ir_arena_calloc(&g->arena, (size_t)n_in, sizeof *ins);
  ir_attr *at = n_attrs ? ir_arena_calloc(&g->arena, (size_t)n_attrs,
                                          sizeof *at)
                        : NULL;
  if (!fused || !ins || (n_attrs && !at)) return oom();
  size_t k = 0;
  fused[0] = '\0';
  if (n->fused) k += (size_t)snprintf(fused + k, len + 1 - k, "%s", n->fused);
  for (int i = 0; i < n_absorbed; i++) {
    const ir_node *a = &g->nodes[absorbed[i]];
    k += (size_t)snprintf(fused + k, len + 1 - k, "%s%s %s %s", k ? "\n" : "",
                          pass, ir_op_get(a->op)->name, a->name);
    if (a->fused)
      k += (size_t)snprintf(fused + k, len + 1 - k, "\n%s", a->fused);
    f->dead[absorbed[i]] = true;
  }
  memcpy(ins, in, (size_t)n_in * sizeof *ins);
  if (n_attrs) memcpy(at, attrs, (size_t)n_attrs * sizeof *at);
  n->op = op;
  n->in = ins;
  n->n_in = (uint16_t)n_in;
  n->attrs = at;
  n->n_attrs = (uint32_t)n_attrs;
  n->params = NULL;
  n->fused = fused;
  const ir_op_info *info = ir_op_get(op);
  if (info->parse) INGOT_RETURN_IF_ERROR(info->parse(g, last));
  /* Readers of the inputs changed: keep the counts right for later
   * matches in the same pass. */
  for (int i = 0; i < n_in; i++)
    if (in[i] && in[i] < f->n_tensors) f->reader[in[i]] = last;
  return NULL;
}
