/* build.c — plan -> LLVM module -> object -> engine bytes (build.h).
 *
 * BUILD_INFO records what the build decided, as "key: value" lines that
 * `ingot inspect` reads (docs/inspect-format.md): the command, the target,
 * the precision asked for and the rule that chose each step's, the memory
 * plan against the naive sum, and one "fused:" line per model node a pass
 * folded into another ("PASS OP NAME", as ir_node.fused).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "engine_format.h"
#include "gpu.h"
#include "plan.h"
#include "quantize.h"

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

/* A growing NUL-terminated text buffer; |oom| sticks. */
typedef struct text {
  char *p;
  size_t len, cap;
  bool oom;
} text;

static void add(text *t, const char *fmt, ...) INGOT_PRINTF(2, 3);
static void add(text *t, const char *fmt, ...) {
  if (t->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0,
                      fmt, ap);
    va_end(ap);
    if (n < 0) {
      t->oom = true;
      return;
    }
    if (t->p && t->len + (size_t)n < t->cap) {
      t->len += (size_t)n;
      return;
    }
    size_t cap = t->cap ? t->cap * 2 : 4096;
    while (cap <= t->len + (size_t)n) cap *= 2;
    char *grown = realloc(t->p, cap);
    if (!grown) {
      t->oom = true;
      return;
    }
    t->p = grown;
    t->cap = cap;
  }
}

static void build_info(text *t, const cg_build_options *opt, uint64_t hash,
                       const cg_target *target, const cg_plan *plan,
                       const ir_graph *g) {
  char feats[512];
  const quant_options *q = opt->passes && opt->passes->int8 &&
                                   opt->passes->int8->int8
                               ? opt->passes->int8
                               : NULL;
  add(t,
      "producer: ingot " "0.1.0" "\n"
      "command: %s\n"
      "graph-hash: %016llx\n"
      "target-cpu: %s\n"
      "target-features: %s\n"
      "precision: %s\n"
      "precision-why: %s\n"
      "precision-rule: %s\n"
      "arena-bytes: %llu\n"
      "arena-activations-bytes: %llu\n"
      "arena-scratch-bytes: %llu\n"
      "arena-naive-bytes: %llu\n",
      opt->command_line ? opt->command_line : "(api)",
      (unsigned long long)hash, target->cpu,
      cg_features_str(target->cpu_features, feats, sizeof feats),
      q ? "int8" : "fp32",
      !q ? "ingot build --fp32, the default"
      : q->calib ? "ingot build --int8 --calib: layers calibrated and quantised"
                 : "ingot build --int8: the model's own quantisation "
                   "parameters (explicit quantisation)",
      q ? "each layer as the per-layer table says (layer: lines: node, op, "
          "requested, chosen, why); layers with no int8 form compute in "
          "fp32; quantised ops compute in int8 with int32 accumulation"
        : "float steps compute in fp32 as requested; steps of integer or "
          "quantised ops (the model's own, or made by qdq-fold from its "
          "QDQ patterns) compute in the integer types they carry",
      (unsigned long long)plan->arena_size,
      (unsigned long long)plan->activations_size,
      (unsigned long long)(plan->arena_size - plan->activations_size),
      (unsigned long long)plan->naive_size);
  if (q && q->calib) {
    static const char *const methods[] = {"minmax", "percentile", "entropy",
                                          "mse"};
    unsigned m = (unsigned)q->calib->method;
    add(t, "calibration-method: %s", m < 4 ? methods[m] : "?");
    if (q->calib->method == CALIB_PERCENTILE)
      add(t, "=%g", q->calib->percentile > 0 ? q->calib->percentile : 99.99);
    add(t, "\ncalibration-samples: %d%s\n", q->table ? q->table->samples : 0,
        q->table && q->table->from_cache ? " (from the cache)" : "");
  }
  if (q)
    add(t, "activation-scheme: %s\n",
        q->act == QUANT_ACT_S8 ? "s8 (int8 symmetric)"
                               : "u8 (uint8 asymmetric)");
  /* The per-layer table: "layer: NODE | OP | requested | chosen | why". */
  for (int i = 0; q && q->report && i < q->report->n; i++) {
    const quant_layer *l = &q->report->rows[i];
    add(t, "layer: %s | %s | %s | %s | %s\n", *l->node ? l->node : "-",
        l->op, quant_layer_requested(l), quant_layer_chosen(l), l->why);
  }
  if (q && q->report && q->report->search) add(t, "%s", q->report->search);
  for (ir_node_id nid = 1; nid < g->n_nodes; nid++) {
    const char *f = g->nodes[nid].fused;
    while (f && *f) {
      size_t n = strcspn(f, "\n");
      add(t, "fused: %.*s\n", (int)n, f);
      f += n + (f[n] == '\n');
    }
  }
}

ingot_status cg_build_engine(ir_graph *g, const cg_build_options *opt,
                             void **out, size_t *size) {
  *out = NULL;
  *size = 0;
  cg_build_options none = {0};
  if (!opt) opt = &none;
  uint64_t hash = graph_hash(g);
  cg_target target;
  /* A GPU engine shares one plan between the CPU and the GPU: the generic
   * target's, whose descriptors and packed weights the GPU templates read
   * (gpu.h). */
  ingot_status s = opt->gpu_sm ? cg_target_named("x86-64", &target)
                   : opt->mcpu && strcmp(opt->mcpu, "native") != 0
                       ? cg_target_named(opt->mcpu, &target)
                       : cg_target_host(&target);
  if (!s) target.amx = opt->amx;
  cg_plan *plan = NULL;
  pass_options po = {.nhwc = true, .verify = true, .log = opt->log};
  if (!s) s = cg_plan_build(g, &target, opt->passes ? opt->passes : &po, &plan);
  cg_gpu_sections gpu = {0};
  if (!s && opt->gpu_sm)
    s = cg_gpu_build_sections(plan, opt->gpu_sm, opt->n_gpu_sm, opt->log,
                              &gpu);
  if (opt->gpu_note && opt->gpu_note_cap)
    snprintf(opt->gpu_note, opt->gpu_note_cap, "%s", s ? "" : gpu.note);
  cg_module *m = NULL;
  if (!s) s = cg_module_create(&target, &m);
  for (uint32_t k = 0; !s && k < plan->n_steps; k++)
    s = cg_module_add_step(m, plan->steps[k].symbol, plan->steps[k].kernel,
                           plan->descs[k], plan->desc_sizes[k]);
  void *obj = NULL;
  size_t obj_size = 0;
  char *ir = NULL;
  if (!s) s = cg_module_emit(m, &obj, &obj_size);
  if (!s && (opt->ir_out || opt->embed_ir)) s = cg_module_print_ir(m, &ir);
  cg_module_destroy(m);
  text info = {0};
  if (!s) {
    build_info(&info, opt, hash, &target, plan, g);
    if (opt->gpu_sm) {
      add(&info, "gpu-target: cuda, sm");
      for (size_t i = 0; i < opt->n_gpu_sm; i++)
        add(&info, "%s%u", i ? "," : " ", opt->gpu_sm[i]);
      add(&info, "\ngpu-cubin: %s\n",
          gpu.cubin ? "yes (ptxas)" : gpu.note[0] ? gpu.note : "no");
    }
    if (info.oom)
      s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                            "engine build: out of memory for BUILD_INFO");
  }
  if (!s) {
    cg_engine_desc d;
    cg_plan_engine_desc(plan, obj, obj_size, info.p, &d);
    d.llvm_ir = opt->embed_ir ? ir : NULL;
    if (opt->gpu_sm) {
      int x = 0;
      d.extra[x].kind = INGOT_SECTION_GPU_PTX;
      d.extra[x].data = gpu.ptx, d.extra[x++].size = gpu.ptx_size;
      if (gpu.cubin) {
        d.extra[x].kind = INGOT_SECTION_GPU_CUBIN;
        d.extra[x].data = gpu.cubin, d.extra[x++].size = gpu.cubin_size;
      }
      d.extra[x].kind = INGOT_SECTION_GPU_PLAN;
      d.extra[x].data = gpu.plan, d.extra[x++].size = gpu.plan_size;
      d.gpu_arch = gpu.lowest_sm;
    }
    s = cg_engine_serialize(&d, out, size);
    if (!s && opt->log)
      fprintf(opt->log,
              "engine: %u steps, arena %llu bytes (naive %llu), weights %zu "
              "bytes, code %zu bytes, target %s\n",
              plan->n_steps, (unsigned long long)plan->arena_size,
              (unsigned long long)plan->naive_size, plan->weights_size,
              obj_size, target.cpu);
  }
  if (!s && opt->ir_out) {
    *opt->ir_out = ir;
    ir = NULL;
  }
  cg_gpu_sections_free(&gpu);
  free(ir);
  free(info.p);
  free(obj);
  cg_plan_destroy(plan);
  return s;
}
