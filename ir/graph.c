/* graph.c — creating and growing an ir_graph.
 *
 * Tensors and nodes are flat arrays that grow by doubling (ids stay valid,
 * pointers into the arrays do not: callers keep ids).  Names are interned in
 * the arena and indexed by an open-addressing hash table so importers and
 * tools can look tensors up by name in O(1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static uint32_t hash_str(const char *s) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static ingot_status oom(void) {
  return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
}

ingot_status ir_graph_create(ir_graph **out) {
  ir_graph *g = calloc(1, sizeof *g);
  if (!g) return oom();
  ir_arena_init(&g->arena);
  g->cap_tensors = 64;
  g->cap_nodes = 64;
  g->tensors = calloc(g->cap_tensors, sizeof *g->tensors);
  g->nodes = calloc(g->cap_nodes, sizeof *g->nodes);
  g->name_index_cap = 128;
  g->name_index = calloc(g->name_index_cap, sizeof *g->name_index);
  if (!g->tensors || !g->nodes || !g->name_index) {
    ir_graph_destroy(g);
    return oom();
  }
  g->n_tensors = 1; /* id 0 is "none" */
  g->n_nodes = 1;
  g->name = "";
  g->source_path = "";
  g->producer = "";
  *out = g;
  return NULL;
}

void ir_graph_destroy(ir_graph *g) {
  if (!g) return;
  free(g->tensors);
  free(g->nodes);
  free(g->name_index);
  ir_arena_release(&g->arena);
  free(g);
}

static void index_insert(ir_graph *g, ir_tensor_id id) {
  uint32_t mask = g->name_index_cap - 1;
  uint32_t h = hash_str(g->tensors[id].name) & mask;
  while (g->name_index[h]) h = (h + 1) & mask;
  g->name_index[h] = id;
}

static ingot_status index_grow(ir_graph *g) {
  uint32_t cap = g->name_index_cap * 2;
  uint32_t *idx = calloc(cap, sizeof *idx);
  if (!idx) return oom();
  free(g->name_index);
  g->name_index = idx;
  g->name_index_cap = cap;
  for (ir_tensor_id t = 1; t < g->n_tensors; t++) index_insert(g, t);
  return NULL;
}

ir_tensor_id ir_graph_find_tensor(const ir_graph *g, const char *name) {
  if (!name) return 0;
  uint32_t mask = g->name_index_cap - 1;
  uint32_t h = hash_str(name) & mask;
  while (g->name_index[h]) {
    ir_tensor_id id = g->name_index[h];
    if (strcmp(g->tensors[id].name, name) == 0) return id;
    h = (h + 1) & mask;
  }
  return 0;
}

ingot_status ir_graph_add_tensor(ir_graph *g, const char *name,
                                 ir_tensor_id *out) {
  if (!name || !*name)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "a tensor needs a non-empty name");
  if (ir_graph_find_tensor(g, name))
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "tensor '%s' is defined twice", name);
  if (g->n_tensors >= 0x7fffffffu)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "too many tensors");
  if (g->n_tensors == g->cap_tensors) {
    uint32_t cap = g->cap_tensors * 2;
    ir_tensor *t = realloc(g->tensors, cap * sizeof *t);
    if (!t) return oom();
    memset(t + g->cap_tensors, 0, (cap - g->cap_tensors) * sizeof *t);
    g->tensors = t;
    g->cap_tensors = cap;
  }
  if ((g->n_tensors + 1) * 2 > g->name_index_cap)
    INGOT_RETURN_IF_ERROR(index_grow(g));
  ir_tensor_id id = g->n_tensors;
  ir_tensor *t = &g->tensors[id];
  memset(t, 0, sizeof *t);
  t->name = ir_arena_strdup(&g->arena, name);
  if (!t->name) return oom();
  g->n_tensors++;
  index_insert(g, id);
  *out = id;
  return NULL;
}

ingot_status ir_graph_add_constant(ir_graph *g, const char *name,
                                   const char *hint, const ir_value *v,
                                   ir_tensor_id *out) {
  char buf[256];
  if (!name) {
    for (unsigned k = g->n_tensors;; k++) {
      snprintf(buf, sizeof buf, "%s__const%u", hint ? hint : "", k);
      if (!ir_graph_find_tensor(g, buf)) break;
    }
    name = buf;
  }
  if (!ir_dtype_supported(v->dtype))
    return ingot_make_status(INGOT_UNIMPLEMENTED,
                             "constant '%s' has unsupported dtype %s", name,
                             ir_dtype_name(v->dtype));
  ir_tensor_id id;
  INGOT_RETURN_IF_ERROR(ir_graph_add_tensor(g, name, &id));
  ir_tensor *t = &g->tensors[id];
  t->role = IR_ROLE_CONSTANT;
  t->dtype = v->dtype;
  t->shape = v->shape;
  t->shape_known = true;
  size_t nb = ir_value_nbytes(v);
  t->data = ir_arena_alloc(&g->arena, nb);
  if (!t->data) return oom();
  if (nb && v->data) memcpy(t->data, v->data, nb);
  *out = id;
  return NULL;
}

ingot_status ir_graph_add_node(ir_graph *g, ir_op op, const char *name,
                               const ir_tensor_id *in, int n_in,
                               const ir_tensor_id *out, int n_out,
                               ir_node_id *out_id) {
  if (n_in < 0 || n_in > 0xffff || n_out < 0 || n_out > 0xffff)
    return ingot_make_status(INGOT_OUT_OF_RANGE,
                             "node '%s' has too many inputs or outputs",
                             name ? name : "");
  if (g->n_nodes == g->cap_nodes) {
    uint32_t cap = g->cap_nodes * 2;
    ir_node *n = realloc(g->nodes, cap * sizeof *n);
    if (!n) return oom();
    memset(n + g->cap_nodes, 0, (cap - g->cap_nodes) * sizeof *n);
    g->nodes = n;
    g->cap_nodes = cap;
  }
  ir_node_id id = g->n_nodes;
  ir_node *n = &g->nodes[id];
  memset(n, 0, sizeof *n);
  n->op = op;
  n->name = ir_arena_strdup(&g->arena, name ? name : "");
  n->domain = "";
  n->opset = (int)g->opset;
  n->n_in = (uint16_t)n_in;
  n->n_out = (uint16_t)n_out;
  n->in = ir_arena_calloc(&g->arena, n_in ? n_in : 1, sizeof *n->in);
  n->out = ir_arena_calloc(&g->arena, n_out ? n_out : 1, sizeof *n->out);
  if (!n->name || !n->in || !n->out) return oom();
  if (n_in) memcpy(n->in, in, n_in * sizeof *in);
  if (n_out) memcpy(n->out, out, n_out * sizeof *out);
  for (int i = 0; i < n_out; i++)
    if (out[i]) g->tensors[out[i]].producer = id;
  g->n_nodes++;
  if (out_id) *out_id = id;
  return NULL;
}

ingot_status ir_graph_insert_node(ir_graph *g, ir_node_id pos, ir_op op,
                                  const char *name, const ir_tensor_id *in,
                                  int n_in, const ir_tensor_id *out,
                                  int n_out, ir_node_id *out_id) {
  if (pos < 1 || pos > g->n_nodes)
    return ingot_make_status(INGOT_INTERNAL, "bad node position %u", pos);
  ir_node_id last;
  INGOT_RETURN_IF_ERROR(
      ir_graph_add_node(g, op, name, in, n_in, out, n_out, &last));
  ir_node moved = g->nodes[last];
  memmove(&g->nodes[pos + 1], &g->nodes[pos],
          (size_t)(last - pos) * sizeof *g->nodes);
  g->nodes[pos] = moved;
  for (ir_node_id nid = pos; nid <= last; nid++)
    for (int k = 0; k < g->nodes[nid].n_out; k++)
      if (g->nodes[nid].out[k]) g->tensors[g->nodes[nid].out[k]].producer = nid;
  if (out_id) *out_id = pos;
  return NULL;
}

void ir_graph_remove_dead(ir_graph *g, const bool *dead) {
  ir_node_id w = 1;
  for (ir_node_id r = 1; r < g->n_nodes; r++) {
    if (dead[r]) {
      for (int k = 0; k < g->nodes[r].n_out; k++)
        if (g->nodes[r].out[k]) g->tensors[g->nodes[r].out[k]].producer = 0;
      continue;
    }
    if (w != r) g->nodes[w] = g->nodes[r];
    for (int k = 0; k < g->nodes[w].n_out; k++)
      if (g->nodes[w].out[k]) g->tensors[g->nodes[w].out[k]].producer = w;
    w++;
  }
  g->n_nodes = w;
}

ingot_status ir_node_set_const_input(ir_graph *g, ir_node_id id, int idx,
                                     const ir_value *v) {
  ir_node *n = &g->nodes[id];
  if (idx < 0 || idx >= 0xffff)
    return ingot_make_status(INGOT_INTERNAL, "bad input index %d", idx);
  char hint[200];
  snprintf(hint, sizeof hint, "%s_in%d", *n->name ? n->name : "node", idx);
  ir_tensor_id t;
  INGOT_RETURN_IF_ERROR(ir_graph_add_constant(g, NULL, hint, v, &t));
  n = &g->nodes[id];
  if (idx >= n->n_in) {
    ir_tensor_id *in = ir_arena_calloc(&g->arena, (size_t)idx + 1, sizeof *in);
    if (!in) return oom();
    memcpy(in, n->in, n->n_in * sizeof *in);
    n->in = in;
    n->n_in = (uint16_t)(idx + 1);
  }
  n->in[idx] = t;
  return NULL;
}

void ir_tensor_as_value(const ir_tensor *t, ir_value *out) {
  out->dtype = t->dtype;
  out->shape = t->shape;
  out->data = t->data;
  out->borrowed = true;
}

ingot_status ir_node_error(const ir_node *n, ingot_status_code code,
                           const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const ir_op_info *info = ir_op_get(n->op);
  return ingot_make_status(code, "node '%s' (%s): %s", n->name,
                           info ? info->name : "?", msg);
}

ingot_status ir_needs_value(const ir_node *n, int idx) {
  return ir_node_error(n, INGOT_FAILED_PRECONDITION,
                       "the value of input %d is needed but not known", idx);
}
