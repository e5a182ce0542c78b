/* build.c — plan -> LLVM module -> object -> engine bytes (build.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "plan.h"

/* FNV-1a over the graph's structure: op, names, shapes, constant bytes.
 * Recorded in BUILD_INFO (the calibration cache keys on it too). */
static uint64_t graph_hash(const ir_graph *g) {
  uint64_t h = 1469598103934665603ull;
#define MIX(p, n)                                              \
  for (size_t i_ = 0; i_ < (size_t)(n); i_++)                  \
    h = (h ^ ((const uint8_t *)(p))[i_]) * 1099511628211ull;
  for (ir_node_id nid = 1; nid < g->n_nodes; nid++) {
    const ir_node *n = &g->nodes[nid];
    MIX(&n->op, sizeof n->op);
    for (int k = 0; k < n->n_in; k++) {
      const ir_tensor *t = n->in[k] ? &g->tensors[n->in[k]] : NULL;
      if (!t) continue;
      MIX(t->name, strlen(t->name));
      MIX(&t->shape.rank, sizeof t->shape.rank);
      MIX(t->shape.dims, (size_t)t->shape.rank * sizeof t->shape.dims[0]);
      if (t->role == IR_ROLE_CONSTANT && t->data) {
        ir_value v;
        ir_tensor_as_value(t, &v);
        MIX(t->data, ir_value_nbytes(&v));
      }
    }
  }
#undef MIX
  return h;
}

ingot_status cg_build_engine(ir_graph *g, const cg_build_options *opt,
                             void **out, size_t *size) {
  *out = NULL;
  *size = 0;
  cg_build_options none = {0};
  if (!opt) opt = &none;
  uint64_t hash = graph_hash(g);
  cg_target target;
  ingot_status s = opt->mcpu && strcmp(opt->mcpu, "native") != 0
                       ? cg_target_named(opt->mcpu, &target)
                       : cg_target_host(&target);
  cg_plan *plan = NULL;
  pass_options po = {.nhwc = true, .verify = true, .log = opt->log};
  if (!s) s = cg_plan_build(g, &target, opt->passes ? opt->passes : &po, &plan);
  cg_module *m = NULL;
  if (!s) s = cg_module_create(&target, &m);
  for (uint32_t k = 0; !s && k < plan->n_steps; k++)
    s = cg_module_add_step(m, plan->steps[k].symbol, plan->steps[k].kernel,
                           plan->descs[k], plan->desc_sizes[k]);
  void *obj = NULL;
  size_t obj_size = 0;
  if (!s) s = cg_module_emit(m, &obj, &obj_size);
  if (!s && opt->ir_out) s = cg_module_print_ir(m, opt->ir_out);
  cg_module_destroy(m);
  if (!s) {
    char feats[512], info[4096];
    snprintf(info, sizeof info,
             "producer: ingot " "0.1.0" "\n"
             "command: %s\n"
             "graph-hash: %016llx\n"
             "target-cpu: %s\n"
             "target-features: %s\n"
             "precision: fp32\n"
             "arena-bytes: %llu\n"
             "arena-naive-bytes: %llu\n",
             opt->command_line ? opt->command_line : "(api)",
             (unsigned long long)hash, target.cpu,
             cg_features_str(target.cpu_features, feats, sizeof feats),
             (unsigned long long)plan->arena_size,
             (unsigned long long)plan->naive_size);
    cg_engine_desc d;
    cg_plan_engine_desc(plan, obj, obj_size, info, &d);
    s = cg_engine_serialize(&d, out, size);
    if (!s && opt->log)
      fprintf(opt->log,
              "engine: %u steps, arena %llu bytes (naive %llu), weights %zu "
              "bytes, code %zu bytes, target %s\n",
              plan->n_steps, (unsigned long long)plan->arena_size,
              (unsigned long long)plan->naive_size, plan->weights_size,
              obj_size, target.cpu);
  }
  free(obj);
  cg_plan_destroy(plan);
  return s;
}
