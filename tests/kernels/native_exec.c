/* native_exec.c — see native_exec.h.  The kernels are found with
 * dlsym(RTLD_DEFAULT, name): test executables link the native kernel
 * library whole and export their symbols (ENABLE_EXPORTS). */
#define _GNU_SOURCE
#include "native_exec.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "engine_format.h"
#include "plan.h"

typedef void (*kernel_fn)(const void *desc, uint8_t *arena,
                          const uint8_t *weights, int64_t t0, int64_t t1);

/* NCHW <-> NHWC of a 4-D value's bytes. */
static void relayout(const ir_value *v, const uint8_t *src, uint8_t *dst,
                     bool to_nhwc) {
  size_t es = ir_dtype_traits[v->dtype].size;
  int64_t N = v->shape.dims[0], C = v->shape.dims[1], H = v->shape.dims[2],
          W = v->shape.dims[3];
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t h = 0; h < H; h++)
        for (int64_t w = 0; w < W; w++) {
          size_t nchw = (size_t)(((n * C + c) * H + h) * W + w) * es;
          size_t nhwc = (size_t)(((n * H + h) * W + w) * C + c) * es;
          if (to_nhwc)
            memcpy(dst + nhwc, src + nchw, es);
          else
            memcpy(dst + nchw, src + nhwc, es);
        }
}

ingot_status native_run(ir_graph *g, const ir_value *inputs,
                        ir_value *outputs) {
  cg_target host;
  ingot_status s = cg_target_host(&host);
  if (!s) s = native_run_target(g, &host, inputs, outputs);
  return s;
}

ingot_status native_run_target(ir_graph *g, const cg_target *t,
                               const ir_value *inputs, ir_value *outputs) {
  return native_run_traced(g, t, inputs, outputs, NULL, 0);
}

ingot_status native_run_traced(ir_graph *g, const cg_target *t,
                               const ir_value *inputs, ir_value *outputs,
                               char *kernels, size_t kcap) {
  return native_run_hooked(g, t, inputs, outputs, kernels, kcap, NULL, NULL);
}

ingot_status native_run_hooked(ir_graph *g, const cg_target *t,
                               const ir_value *inputs, ir_value *outputs,
                               char *kernels, size_t kcap,
                               native_step_hook hook, void *ctx) {
  /* Inputs by name: planning may freeze or reorder nothing, but keep it
   * robust to passes that drop unused inputs. */
  uint32_t n_in = g->n_inputs;
  const char **names = calloc(n_in + 1, sizeof *names);
  if (!names) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "oom");
  for (uint32_t i = 0; i < n_in; i++) names[i] = g->tensors[g->inputs[i]].name;

  cg_plan *p = NULL;
  ingot_status s = cg_plan_build(g, t, NULL, &p);
  uint8_t *arena = NULL;
  if (!s) {
    size_t sz = ((size_t)p->arena_size + 63) & ~(size_t)63;
    arena = aligned_alloc(64, sz ? sz : 64);
    if (!arena)
      s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "oom");
    else
      memset(arena, 0xcd, sz); /* garbage: kernels must not read it */
  }
  if (kernels && kcap) kernels[0] = 0;
  for (uint32_t i = 0; !s && i < p->n_inputs; i++) {
    const cg_io_tensor *d = &p->tensors[i];
    const ir_value *v = NULL;
    for (uint32_t k = 0; k < n_in; k++)
      if (strcmp(names[k], d->name) == 0) v = &inputs[k];
    if (!v) {
      s = ingot_make_status(INGOT_INTERNAL, "no value for input '%s'", d->name);
      break;
    }
    if (d->layout == INGOT_LAYOUT_NHWC)
      relayout(v, v->data, arena + d->arena_offset, true);
    else
      memcpy(arena + d->arena_offset, v->data, (size_t)d->arena_bytes);
  }
  for (uint32_t k = 0; !s && k < p->n_steps; k++) {
    const cg_plan_step *st = &p->steps[k];
    if (hook) {
      char name[128] = "";
      int r = hook(ctx, p, k, arena, name, sizeof name, &s);
      if (r < 0) break;
      if (r > 0) {
        if (kernels && strlen(kernels) + strlen(name) + 2 < kcap) {
          if (kernels[0]) strcat(kernels, "|");
          strcat(kernels, name);
        }
        continue;
      }
    }
    kernel_fn fn = (kernel_fn)dlsym(RTLD_DEFAULT, st->kernel);
    if (!fn) {
      s = ingot_make_status(INGOT_NOT_FOUND,
                            "step %u (%s): kernel '%s' is not in the native "
                            "kernel library",
                            k, st->op, st->kernel);
      break;
    }
    if (kernels && strlen(kernels) + strlen(st->kernel) + 2 < kcap) {
      if (kernels[0]) strcat(kernels, "|");
      strcat(kernels, st->kernel);
    }
    /* Three uneven parts: catches kernels whose tasks are not
     * independent of the split. */
    int64_t a = st->tasks / 3, b = st->tasks - st->tasks / 4;
    fn(p->descs[k], arena, p->weights, 0, a);
    fn(p->descs[k], arena, p->weights, a, b);
    fn(p->descs[k], arena, p->weights, b, st->tasks);
  }
  for (uint32_t i = 0; !s && i < p->n_outputs; i++) {
    const cg_io_tensor *d = &p->tensors[p->n_inputs + i];
    ir_value *o = &outputs[i];
    memset(o, 0, sizeof *o);
    o->dtype = (ir_dtype)d->dtype;
    o->shape.rank = (int)d->rank;
    for (uint32_t r = 0; r < d->rank; r++) o->shape.dims[r] = d->dims[r];
    s = ir_value_alloc(o);
    if (s) break;
    if (d->layout == INGOT_LAYOUT_NHWC)
      relayout(o, arena + d->arena_offset, o->data, false);
    else
      memcpy(o->data, arena + d->arena_offset, (size_t)d->arena_bytes);
  }
  free(arena);
  free(names);
  cg_plan_destroy(p);
  return s;
}
