/* kt_graph.h — small helpers for kernel tests that build one-op graphs in
 * C, run them through the reference interpreter and through the planner +
 * lowering + natively compiled templates (native_exec.h) for a chosen
 * target, or through an engine built with LLVM and loaded by the runtime,
 * and compare.  Header-only (static functions), shared by every test in
 * tests/kernels (k2_case.h builds on it).
 *
 * kt_check_case runs a case on the generic, AVX2 and AVX-512 templates
 * (test_conv.c, test_pool.c, test_matmul.c); KT_VERBOSE=1 in the
 * environment prints every case with the kernels its steps used on each
 * target.  The tg_* kit (test_movement.c, test_reduce.c, test_resize.c,
 * test_quant.c) builds cases from values every dtype holds exactly and runs
 * them on the host target, every eighth through the engine; K3_VERBOSE=1
 * prints every case with its output shape and kernels.
 */
#ifndef INGOT_TESTS_KT_GRAPH_H
#define INGOT_TESTS_KT_GRAPH_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "check.h"
#include "ir.h"
#include "native_exec.h"
#include "plan.h"

#define KT_MAX_IO 16

/* The AMX policy of the builds and native runs here (cg_amx_policy): test_amx
 * sets CG_AMX_ALWAYS to reach every shape AMX supports. */
static int kt_amx_policy = 0;

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

/* A value of |dtype| and shape, allocated (data not set). */
static inline ir_value kt_alloc_value(ir_dtype dt, int rank,
                                     const int64_t *dims) {
  ir_value v;
  memset(&v, 0, sizeof v);
  v.dtype = dt;
  v.shape.rank = rank;
  for (int i = 0; i < rank; i++) v.shape.dims[i] = dims[i];
  CHECK_OK(ir_value_alloc(&v));
  return v;
}

/* A value of |dtype| and shape, filled with random data (floats in [-1, 1),
 * integers over the type's range). */
static inline ir_value kt_value(ir_dtype dt, int rank, const int64_t *dims) {
  ir_value v = kt_alloc_value(dt, rank, dims);
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

/* A node of |opset| with |nout| new tensors as outputs, which become graph
 * outputs, named out<k> with k counted by |*counter|. */
static inline ir_node_id kt_node_outputs(ir_graph *g, int *counter, ir_op op,
                                         int opset, const ir_tensor_id *in,
                                         int nin, int nout, ir_tensor_id *out) {
  for (int i = 0; i < nout; i++) {
    char name[16];
    snprintf(name, sizeof name, "out%d", (*counter)++);
    out[i] = kt_tensor(g, name, true);
  }
  ir_node_id nid = kt_node(g, op, in, nin, out, nout);
  g->nodes[nid].opset = opset;
  return nid;
}

/* A graph input named in<k> holding |v|, kept as vals[k] (owned) with k
 * counted by |*counter|. */
static inline ir_tensor_id kt_value_input(ir_graph *g, ir_value *vals,
                                          int *counter, ir_value v) {
  char name[16];
  snprintf(name, sizeof name, "in%d", *counter);
  vals[*counter] = v;
  return kt_input(g, name, &vals[(*counter)++]);
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

/* The window attributes of a Conv or pooling node with |nsp| spatial dims:
 * kernel_shape, strides, dilations (unless |d| is NULL), and auto_pad when
 * set, else pads.  |k|, |s| and |d| hold 3 dims and |pads| 3 begins then 3
 * ends, right-aligned: the last |nsp| of each are used. */
static inline void kt_attr_window(ir_graph *g, ir_node_id nid, int nsp,
                                  const int64_t *k, const int64_t *s,
                                  const int64_t *d, const char *auto_pad,
                                  const int64_t *pads) {
  kt_attr_ints(g, nid, "kernel_shape", k + 3 - nsp, nsp);
  kt_attr_ints(g, nid, "strides", s + 3 - nsp, nsp);
  if (d) kt_attr_ints(g, nid, "dilations", d + 3 - nsp, nsp);
  if (auto_pad) {
    kt_attr_string(g, nid, "auto_pad", auto_pad);
  } else {
    int64_t p[6];
    for (int i = 0; i < nsp; i++) {
      p[i] = pads[3 - nsp + i];
      p[nsp + i] = pads[3 + 3 - nsp + i];
    }
    kt_attr_ints(g, nid, "pads", p, 2 * nsp);
  }
}

/* Parses every node's attributes and infers shapes. */
static inline ingot_status kt_finish(ir_graph *g) {
  for (ir_node_id nid = 1; nid < g->n_nodes; nid++)
    INGOT_RETURN_IF_ERROR(ir_op_get(g->nodes[nid].op)->parse(g, nid));
  return ir_infer_shapes(g);
}

/*===--- running --------------------------------------------------------===*/
static inline void kt_free_values(ir_value *v, int n) {
  for (int i = 0; i < n; i++) ir_value_free(&v[i]);
}

/* Prints |s| with |what| and frees it; true when |s| is OK. */
static inline bool kt_ok(ingot_status s, const char *what) {
  if (!s) return true;
  fprintf(stderr, "%s: %s\n", what, ingot_status_message(s));
  ingot_status_free(s);
  return false;
}

/* Builds an engine for |g| (mutated) with LLVM, loads it with the runtime
 * and runs it on |in| (graph inputs in order): the path `ingot build` and
 * `ingot run` take. */
static inline ingot_status kt_run_engine_mcpu(ir_graph *g, const char *mcpu,
                                              const ir_value *in,
                                              ir_value *out);
static inline ingot_status kt_run_engine(ir_graph *g, const ir_value *in,
                                         ir_value *out) {
  return kt_run_engine_mcpu(g, NULL, in, out);
}

/* kt_run_engine for CPU |mcpu| (--mcpu; NULL: the build machine). */
static inline ingot_status kt_run_engine_mcpu(ir_graph *g, const char *mcpu,
                                              const ir_value *in,
                                              ir_value *out) {
  const char *names[KT_MAX_IO];
  uint32_t n_in = g->n_inputs;
  for (uint32_t i = 0; i < n_in; i++) names[i] = g->tensors[g->inputs[i]].name;
  void *bytes = NULL;
  size_t size = 0;
  ingot_engine *e = NULL;
  ingot_session *ss = NULL;
  cg_build_options opt = {.mcpu = mcpu, .amx = kt_amx_policy};
  ingot_status s = cg_build_engine(g, &opt, &bytes, &size);
  if (!s) s = ingot_engine_load_memory(bytes, size, &e);
  free(bytes);
  if (!s) s = ingot_session_create(e, NULL, &ss);
  for (int i = 0; !s && i < ingot_engine_input_count(e); i++) {
    ingot_tensor_info info;
    s = ingot_engine_input_info(e, i, &info);
    for (uint32_t k = 0; !s && k < n_in; k++)
      if (strcmp(names[k], info.name) == 0)
        s = ingot_session_set_input(ss, i, (ingot_dtype)in[k].dtype,
                                    in[k].data, ir_value_nbytes(&in[k]));
  }
  if (!s) s = ingot_session_run(ss);
  for (int k = 0; !s && k < ingot_engine_output_count(e); k++) {
    ingot_tensor_info info;
    s = ingot_engine_output_info(e, k, &info);
    if (s) break;
    out[k].dtype = (ir_dtype)info.dtype;
    out[k].shape.rank = info.rank;
    for (int r = 0; r < info.rank; r++) out[k].shape.dims[r] = info.dims[r];
    s = ir_value_alloc(&out[k]);
    if (!s)
      s = ingot_session_get_output(ss, k, info.dtype, out[k].data,
                                   ir_value_nbytes(&out[k]));
  }
  ingot_session_destroy(ss);
  ingot_engine_release(e);
  return s;
}

/* Parses |g| (mutated), runs the reference on |in| into |want| and the
 * native plan for the host target into |got| (|kernels|: its steps'
 * kernels, see native_run_traced) — or, when |engine|, the LLVM-built
 * engine (kt_run_engine). */
static inline ingot_status kt_run_host(ir_graph *g, const ir_value *in,
                                       ir_value *want, ir_value *got,
                                       bool engine, char *kernels,
                                       size_t kcap) {
  cg_target host;
  ingot_status s = kt_finish(g);
  if (!s) s = ir_interp_run(g, in, want, NULL);
  if (!s) s = cg_target_host(&host);
  host.amx = kt_amx_policy;
  if (!s && engine)
    s = kt_run_engine(g, in, got);
  else if (!s)
    s = native_run_traced(g, &host, in, got, kernels, kcap);
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
 * |in|).  Runs the reference once and the native plan for every target
 * (kt_targets), and compares every output with kt_same. */
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
    s = native_run_traced(g, &targets[t], in, got, kernels, sizeof kernels);
    ir_graph_destroy(g);
    snprintf(label, sizeof label, "%s [%s: %s]", what, names[t], kernels);
    if (getenv("KT_VERBOSE")) printf("%s\n", label);
    if (!kt_ok(s, label)) {
      check_failures++;
      continue;
    }
    for (uint32_t o = 0; o < nout; o++) {
      if (!kt_same(&got[o], &want[o], tol, label)) check_failures++;
      ir_value_free(&got[o]);
    }
  }
  kt_free_values(want, (int)nout);
}

/*===--- tg: cases of values every dtype holds exactly ------------------===*/
/* For test_movement.c, test_reduce.c, test_resize.c and test_quant.c: a
 * graph, its inputs' values and a random stream of its own. */
typedef struct tg {
  ir_graph *g;
  ir_value vals[KT_MAX_IO]; /* values of the graph inputs, in order */
  int nin, nout;
  uint32_t seed;
} tg;

static inline uint32_t tg_rnd(tg *t) {
  t->seed = t->seed * 1664525u + 1013904223u;
  return t->seed >> 8;
}
static inline int64_t tg_rnd_in(tg *t, int64_t lo, int64_t hi) { /* [lo, hi] */
  return lo + (int64_t)(tg_rnd(t) % (uint32_t)(hi - lo + 1));
}

static inline void tg_init(tg *t, uint32_t seed) {
  memset(t, 0, sizeof *t);
  t->seed = seed;
  t->g = kt_graph_new();
}

/* A graph input holding |v| (owned by |t| from here on). */
static inline ir_tensor_id tg_value_input(tg *t, ir_value v) {
  return kt_value_input(t->g, t->vals, &t->nin, v);
}

/* A graph input of random multiples of 1/4 in [-15, 15] (integers in
 * [-60, 60], wrapped for unsigned types). */
static inline ir_tensor_id tg_input(tg *t, ir_dtype dt, int rank,
                                    const int64_t *dims) {
  ir_value v = kt_alloc_value(dt, rank, dims);
  size_t n = ir_shape_numel(&v.shape);
  for (size_t i = 0; i < n; i++) {
    int64_t k = tg_rnd_in(t, -60, 60);
    if (ir_dtype_traits[dt].is_float)
      ir_store_f64(dt, v.data, i, (double)k / 4.0);
    else
      ir_store_i64(dt, v.data, i, k);
  }
  return tg_value_input(t, v);
}

static inline ir_tensor_id tg_const(tg *t, const ir_value *v) {
  return kt_const(t->g, NULL, v);
}

/* 1-D int64 and float32 constants. */
static inline ir_tensor_id tg_ints(tg *t, const int64_t *v, int n) {
  ir_value c = {.dtype = IR_I64, .shape = {1, {n}}, .data = (void *)v};
  return tg_const(t, &c);
}
static inline ir_tensor_id tg_floats(tg *t, const float *v, int n) {
  ir_value c = {.dtype = IR_F32, .shape = {1, {n}}, .data = (void *)v};
  return tg_const(t, &c);
}

/* A node with |nout| new outputs, which become graph outputs. */
static inline ir_node_id tg_node(tg *t, ir_op op, int opset,
                                 const ir_tensor_id *in, int nin, int nout,
                                 ir_tensor_id *out) {
  return kt_node_outputs(t->g, &t->nout, op, opset, in, nin, nout, out);
}

/* The end of a case: |s| is the run's status; compares every output of
 * |got| with |want| (kt_same), frees both, the inputs and the graph, and
 * CHECKs the result.  |what| labels the failures. */
static inline bool tg_settle(tg *t, ingot_status s, ir_value *want,
                             ir_value *got, double tol, const char *what) {
  bool ok = kt_ok(s, what);
  for (uint32_t i = 0; ok && i < t->g->n_outputs; i++)
    ok = kt_same(&got[i], &want[i], tol, what);
  kt_free_values(want, KT_MAX_IO);
  kt_free_values(got, KT_MAX_IO);
  kt_free_values(t->vals, t->nin);
  ir_graph_destroy(t->g);
  CHECK(ok);
  return ok;
}

/* Parses, runs the reference and the native plan (host target) — every
 * eighth case the LLVM-built engine instead — and compares every output
 * (kt_same: |got - want| <= tol * max(1, max|want|), integers and tol 0
 * exact).  Destroys the graph. */
static inline bool tg_run(tg *t, double tol, const char *what) {
  ir_graph *g = t->g;
  ir_value want[KT_MAX_IO], got[KT_MAX_IO];
  memset(want, 0, sizeof want);
  memset(got, 0, sizeof got);
  char kernels[256] = "engine", shape[96] = "";
  static int runs; /* this test's tg_run calls so far */
  bool engine = runs++ % 8 == 7;
  ingot_status s =
      kt_run_host(g, t->vals, want, got, engine, kernels, sizeof kernels);
  if (getenv("K3_VERBOSE")) /* which steps ran, for test maintenance */
    fprintf(stderr, "%s -> %s: %s\n", what,
            ir_shape_str(&want[0].shape, shape, sizeof shape), kernels);
  return tg_settle(t, s, want, got, tol, what);
}

#endif /* INGOT_TESTS_KT_GRAPH_H */
