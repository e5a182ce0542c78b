/* kt_graph.h — small helpers for kernel tests that build one-op graphs in
 * C, run them through the reference interpreter and through the planner +
 * lowering + natively compiled templates for a chosen target, and compare.
 * Header-only (static functions), shared by tests/kernels/test_conv.c,
 * test_pool.c and test_matmul.c.
 *
 * kt_run_native is native_run (native_exec.c) with the target as a
 * parameter, so one test covers the generic, AVX2 and AVX-512 templates.
 * KT_VERBOSE=1 in the environment prints every case with the kernels its
 * steps used on each target.
 */
#ifndef INGOT_TESTS_KT_GRAPH_H
#define INGOT_TESTS_KT_GRAPH_H

#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine_format.h"
#include "ir.h"
#include "plan.h"

#define KT_MAX_IO 16

/*===--- deterministic random numbers -----------------------------------===*/
static uint64_t kt_rng = 0x9e3779b97f4a7c15ull;
static inline uint32_t kt_rand(void) {
  kt_rng = kt_rng * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(kt_rng >> 33);
}
/* Uniform integer in [lo, hi]. */
static inline int64_t kt_irand(int64_t lo, int64_t hi) {
  return lo + (int64_t)(kt_rand() % (uint32_t)(hi - lo + 1));
}
static inline float kt_frand(void) {
  return (float)kt_rand() / 2147483648.0f - 1.0f;
}

/* A value of |dtype| and shape, filled with random data (floats in [-1, 1),
 * integers over the type's range). */
static inline ir_value kt_value(ir_dtype dt, int rank, const int64_t *dims) {
  ir_value v;
  memset(&v, 0, sizeof v);
  v.dtype = dt;
  v.shape.rank = rank;
  for (int i = 0; i < rank; i++) v.shape.dims[i] = dims[i];
  CHECK_OK(ir_value_alloc(&v));
  size_t n = ir_shape_numel(&v.shape);
  for (size_t i = 0; v.data && i < n; i++) {
    switch (dt) {
    case IR_F32:
      ((float *)v.data)[i] = kt_frand();
      break;
    case IR_U8:
      ((uint8_t *)v.data)[i] = (uint8_t)kt_rand();
      break;
    case IR_I8:
      ((int8_t *)v.data)[i] = (int8_t)kt_rand();
      break;
    case IR_I32:
      ((int32_t *)v.data)[i] = (int32_t)kt_irand(-100000, 100000);
      break;
    default:
      break;
    }
  }
  return v;
}

/*===--- graph building -------------------------------------------------===*/
static inline ir_graph *kt_graph_new(void) {
  ir_graph *g = NULL;
  CHECK_OK(ir_graph_create(&g));
  if (!g) return NULL;
  g->opset = 19;
  g->inputs = ir_arena_calloc(&g->arena, KT_MAX_IO, sizeof *g->inputs);
  g->outputs = ir_arena_calloc(&g->arena, KT_MAX_IO, sizeof *g->outputs);
  return g;
}

/* A graph input named |name| with |v|'s dtype and shape. */
static inline ir_tensor_id kt_input(ir_graph *g, const char *name,
                                    const ir_value *v) {
  ir_tensor_id id = 0;
  CHECK_OK(ir_graph_add_tensor(g, name, &id));
  if (!id) return 0;
  ir_tensor *t = &g->tensors[id];
  t->role = IR_ROLE_INPUT;
  t->dtype = v->dtype;
  t->shape = v->shape;
  t->shape_known = true;
  g->inputs[g->n_inputs++] = id;
  return id;
}

static inline ir_tensor_id kt_const(ir_graph *g, const char *name,
                                    const ir_value *v) {
  ir_tensor_id id = 0;
  CHECK_OK(ir_graph_add_constant(g, name, NULL, v, &id));
  return id;
}

/* An activation tensor; |output|: also a graph output. */
static inline ir_tensor_id kt_tensor(ir_graph *g, const char *name,
                                     bool output) {
  ir_tensor_id id = 0;
  CHECK_OK(ir_graph_add_tensor(g, name, &id));
  if (id && output) {
    g->tensors[id].is_output = true;
    g->outputs[g->n_outputs++] = id;
  }
  return id;
}

static inline ir_node_id kt_node(ir_graph *g, ir_op op, const ir_tensor_id *in,
                                 int nin, const ir_tensor_id *out, int nout) {
  ir_node_id nid = 0;
  CHECK_OK(ir_graph_add_node(g, op, "node", in, nin, out, nout, &nid));
  if (!nid) return 0;
  g->nodes[nid].domain = "";
  g->nodes[nid].opset = (int)g->opset;
  g->nodes[nid].attrs = ir_arena_calloc(&g->arena, 16, sizeof(ir_attr));
  return nid;
}

static inline ir_attr *kt_attr(ir_graph *g, ir_node_id nid, const char *name,
                               ir_attr_kind kind) {
  ir_node *n = &g->nodes[nid];
  ir_attr *a = &n->attrs[n->n_attrs++];
  a->name = ir_arena_strdup(&g->arena, name);
  a->kind = kind;
  return a;
}

static inline void kt_attr_int(ir_graph *g, ir_node_id nid, const char *name,
                               int64_t v) {
  kt_attr(g, nid, name, IR_ATTR_INT)->i = v;
}

static inline void kt_attr_float(ir_graph *g, ir_node_id nid, const char *name,
                                 float v) {
  kt_attr(g, nid, name, IR_ATTR_FLOAT)->f = v;
}

static inline void kt_attr_string(ir_graph *g, ir_node_id nid, const char *name,
                                  const char *v) {
  kt_attr(g, nid, name, IR_ATTR_STRING)->s = ir_arena_strdup(&g->arena, v);
}

static inline void kt_attr_ints(ir_graph *g, ir_node_id nid, const char *name,
                                const int64_t *v, int n) {
  ir_attr *a = kt_attr(g, nid, name, IR_ATTR_INTS);
  a->n = n;
  a->ints = ir_arena_memdup(&g->arena, v, (size_t)n * sizeof *v);
}

/* Parses every node's attributes and infers shapes. */
static inline ingot_status kt_finish(ir_graph *g) {
  for (ir_node_id nid = 1; nid < g->n_nodes; nid++)
    INGOT_RETURN_IF_ERROR(ir_op_get(g->nodes[nid].op)->parse(g, nid));
  return ir_infer_shapes(g);
}

/*===--- running --------------------------------------------------------===*/
typedef void (*kt_kernel_fn)(const void *desc, uint8_t *arena,
                             const uint8_t *weights, int64_t t0, int64_t t1);

/* NCHW <-> NHWC of a 4-D value's bytes. */
static inline void kt_relayout(const ir_value *v, const uint8_t *src,
                               uint8_t *dst, bool to_nhwc) {
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

/* Plans |g| (mutated) for |target| and runs every step natively, the
 * tasks split in three uneven parts; |kernels| (optional) receives the
 * '|'-joined kernel names of the steps. */
static inline ingot_status kt_run_native(ir_graph *g, const cg_target *target,
                                         const ir_value *inputs,
                                         ir_value *outputs, char *kernels,
                                         size_t kcap) {
  const char *names[KT_MAX_IO];
  for (uint32_t i = 0; i < g->n_inputs; i++)
    names[i] = g->tensors[g->inputs[i]].name;
  uint32_t n_in = g->n_inputs;
  cg_plan *p = NULL;
  ingot_status s = cg_plan_build(g, target, NULL, &p);
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
      kt_relayout(v, v->data, arena + d->arena_offset, true);
    else
      memcpy(arena + d->arena_offset, v->data, (size_t)d->arena_bytes);
  }
  for (uint32_t k = 0; !s && k < p->n_steps; k++) {
    const cg_plan_step *st = &p->steps[k];
    kt_kernel_fn fn = (kt_kernel_fn)dlsym(RTLD_DEFAULT, st->kernel);
    if (!fn) {
      s = ingot_make_status(INGOT_NOT_FOUND, "kernel '%s' is not linked",
                            st->kernel);
      break;
    }
    if (kernels && strlen(kernels) + strlen(st->kernel) + 2 < kcap) {
      if (kernels[0]) strcat(kernels, "|");
      strcat(kernels, st->kernel);
    }
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
      kt_relayout(o, arena + d->arena_offset, o->data, false);
    else
      memcpy(o->data, arena + d->arena_offset, (size_t)d->arena_bytes);
  }
  free(arena);
  cg_plan_destroy(p);
  return s;
}

/* The targets this machine can run: generic x86-64, AVX2 (x86-64-v3),
 * AVX-512 (x86-64-v4 features) when the CPU has them. */
static inline int kt_targets(cg_target *out, const char **names) {
  static const char *const cpus[] = {"x86-64", "x86-64-v3", "x86-64-v4"};
  cg_target host;
  int n = 0;
  ingot_status s = cg_target_host(&host);
  if (s) {
    ingot_status_free(s);
    host.cpu_features = 0;
  }
  for (int i = 0; i < 3; i++) {
    cg_target t;
    s = cg_target_named(cpus[i], &t);
    if (s) {
      ingot_status_free(s);
      continue;
    }
    if ((t.cpu_features & host.cpu_features) != t.cpu_features) continue;
    names[n] = cpus[i];
    out[n++] = t;
  }
  return n;
}

/* Compares |got| with the reference |want|: same dtype and shape; floats
 * within max|got - want| <= tol * max(1, max|want|) (NaN must match NaN),
 * integers exactly.  Prints the first mismatch with |what|. */
static inline bool kt_same(const ir_value *got, const ir_value *want,
                           double tol, const char *what) {
  if (got->dtype != want->dtype || !ir_shape_equal(&got->shape, &want->shape)) {
    char a[96], b[96];
    fprintf(stderr, "%s: got %s %s, want %s %s\n", what,
            ir_dtype_name(got->dtype), ir_shape_str(&got->shape, a, sizeof a),
            ir_dtype_name(want->dtype),
            ir_shape_str(&want->shape, b, sizeof b));
    return false;
  }
  size_t n = ir_shape_numel(&want->shape);
  const ir_dtype_info *ti = ir_dtype_get(want->dtype);
  if (ti->is_float) {
    double scale = 1.0;
    for (size_t i = 0; i < n; i++) {
      double w = fabs(ir_load_f64(want->dtype, want->data, i));
      if (w > scale && isfinite(w)) scale = w;
    }
    for (size_t i = 0; i < n; i++) {
      double gv = ir_load_f64(got->dtype, got->data, i);
      double wv = ir_load_f64(want->dtype, want->data, i);
      bool ok = isnan(wv)   ? isnan(gv)
                : isinf(wv) ? gv == wv
                            : fabs(gv - wv) <= tol * scale;
      if (!ok) {
        fprintf(stderr, "%s: element %zu is %.9g, want %.9g\n", what, i, gv,
                wv);
        return false;
      }
    }
    return true;
  }
  for (size_t i = 0; i < n; i++) {
    int64_t gv = ir_load_i64(got->dtype, got->data, i);
    int64_t wv = ir_load_i64(want->dtype, want->data, i);
    if (gv != wv) {
      fprintf(stderr, "%s: element %zu is %lld, want %lld\n", what, i,
              (long long)gv, (long long)wv);
      return false;
    }
  }
  return true;
}

/* A test case: |build| makes the graph (same graph every call, inputs in
 * |in|).  Runs the reference once and the native plan for every target;
 * |expect_kernel| (optional) must be among the steps' kernels for the
 * target index |expect_on| (or every target when -1). */
typedef ir_graph *(*kt_build_fn)(void *ctx);

static inline void kt_check_case(kt_build_fn build, void *ctx,
                                 const ir_value *in, double tol,
                                 const char *what) {
  ir_graph *g = build(ctx);
  if (!g) return;
  ir_value want[KT_MAX_IO], got[KT_MAX_IO];
  uint32_t nout = g->n_outputs;
  memset(want, 0, sizeof want);
  ingot_status s = ir_interp_run(g, in, want, NULL);
  ir_graph_destroy(g);
  if (s) {
    fprintf(stderr, "%s: reference failed: %s\n", what,
            ingot_status_message(s));
    ingot_status_free(s);
    check_failures++;
    return;
  }
  cg_target targets[3];
  const char *names[3];
  int nt = kt_targets(targets, names);
  for (int t = 0; t < nt; t++) {
    char label[256], kernels[256];
    g = build(ctx);
    if (!g) break;
    memset(got, 0, sizeof got);
    s = kt_run_native(g, &targets[t], in, got, kernels, sizeof kernels);
    ir_graph_destroy(g);
    snprintf(label, sizeof label, "%s [%s: %s]", what, names[t], kernels);
    if (getenv("KT_VERBOSE")) printf("%s\n", label);
    if (s) {
      fprintf(stderr, "%s: %s\n", label, ingot_status_message(s));
      ingot_status_free(s);
      check_failures++;
      continue;
    }
    for (uint32_t o = 0; o < nout; o++) {
      if (!kt_same(&got[o], &want[o], tol, label)) check_failures++;
      ir_value_free(&got[o]);
    }
  }
  for (uint32_t o = 0; o < nout; o++) ir_value_free(&want[o]);
}

#endif /* INGOT_TESTS_KT_GRAPH_H */
