/* k2_case.h — test scaffolding shared by test_elementwise.c and
 * test_norm.c: one-node graphs with random inputs of every dtype (special
 * values mixed in), run through the reference interpreter and through the
 * planner + lowering + native templates (kt_graph.h), compared element by
 * element with a tolerance per dtype.  Header-only (static functions).
 *
 * Comparison: exact mode is bit for bit (NaN matches any NaN); otherwise
 * |got - want| <= rtol |want| + atol with float32 4e-6/1e-7, float64
 * 1e-13/1e-300, float16 2e-3/1e-7, bfloat16 1.6e-2/1e-7 (two units in the
 * last place); infinities must match exactly; integers always exactly.
 */
#ifndef INGOT_TESTS_K2_CASE_H
#define INGOT_TESTS_K2_CASE_H

#include "kt_graph.h"
#include "params.h"

/*===------------------------------------------------------------------===*/
/* Cases                                                                   */
/*===------------------------------------------------------------------===*/

typedef struct tc {
  ir_graph *g;
  ir_value vals[KT_MAX_IO]; /* graph inputs, in order (owned) */
  int nin, nout;
  uint64_t seed;
  double atol_scale; /* > 0: atol is this times max|want| (normalised
                        outputs, where x - mean cancels) */
  double rtol;       /* > 0: replaces the dtype's rtol */
} tc;

static inline uint64_t rnd(tc *t) {
  t->seed = t->seed * 6364136223846793005ull + 1442695040888963407ull;
  return t->seed >> 17;
}
static inline int64_t rnd_in(tc *t, int64_t lo, int64_t hi) { /* [lo, hi] */
  return lo + (int64_t)(rnd(t) % (uint64_t)(hi - lo + 1));
}

static inline void tc_init(tc *t, uint64_t seed) {
  memset(t, 0, sizeof *t);
  t->seed = seed * 2654435761u + 1;
  t->g = kt_graph_new();
}

static const ir_dtype kFloats[] = {IR_F32, IR_F64, IR_F16, IR_BF16};
static const ir_dtype kInts[] = {IR_U8, IR_I8, IR_U16, IR_I16, IR_I32,
                                 IR_I64, IR_U32, IR_U64};
static const ir_dtype kAll[] = {IR_F32, IR_U8,  IR_I8,  IR_U16, IR_I16,
                                IR_I32, IR_I64, IR_BOOL, IR_F16, IR_F64,
                                IR_U32, IR_U64, IR_BF16};
#define N_OF(a) (int)(sizeof(a) / sizeof((a)[0]))

enum { V_PLAIN = 0, V_SPECIAL = 1, V_SMALLINT = 2, V_POSITIVE = 3 };

/* A random element: floats mostly in [-4, 4] (V_SPECIAL: one in eight is
 * NaN, +-inf, +-0, huge, subnormal or a half-integer), integers over the
 * type's range with its extremes (V_SMALLINT: in [-9, 9]), bools. */
static inline void rnd_elem(tc *t, ir_dtype dt, void *data, size_t i, int mode) {
  if (dt == IR_BOOL) {
    ((uint8_t *)data)[i] = (uint8_t)(rnd(t) & 1);
    return;
  }
  if (ir_dtype_traits[dt].is_float) {
    double v = (double)rnd_in(t, -4000000, 4000000) / 1e6;
    if (mode == V_POSITIVE) v = fabs(v) + 0.01;
    if (mode == V_SMALLINT) v = (double)rnd_in(t, -9, 9) / 2;
    if (mode == V_SPECIAL && rnd(t) % 8 == 0) {
      static const double sp[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0,
                                  3e38, -2e37, 1e-40, -3e-39, 2.5, -1.5,
                                  0.5, 89.0, -104.0, 1e6, 1.0};
      v = sp[rnd(t) % N_OF(sp)];
    }
    ir_store_f64(dt, data, i, v);
    return;
  }
  int64_t v;
  if (mode == V_SMALLINT) {
    v = rnd_in(t, -9, 9);
  } else {
    switch (rnd(t) % 10) {
    case 0: v = INT64_MIN; break;
    case 1: v = INT64_MAX; break;
    case 2: v = -1; break;
    case 3: v = 0; break;
    case 4: v = rnd_in(t, -3, 3); break;
    default: v = (int64_t)(rnd(t) * 0x9e3779b97f4a7c15ull); break;
    }
    if (mode == V_POSITIVE) v = rnd_in(t, 0, 100);
  }
  ir_store_i64(dt, data, i, v); /* keeps the low bits: the type's range */
}

static inline ir_value rnd_value(tc *t, ir_dtype dt, const ir_shape *s, int mode) {
  ir_value v = kt_alloc_value(dt, s->rank, s->dims);
  size_t n = ir_shape_numel(s);
  for (size_t i = 0; v.data && i < n; i++) rnd_elem(t, dt, v.data, i, mode);
  return v;
}

static inline ir_tensor_id tc_input(tc *t, ir_value v) {
  return kt_value_input(t->g, t->vals, &t->nin, v);
}

static inline ir_tensor_id tc_const(tc *t, ir_value v) {
  ir_tensor_id id = kt_const(t->g, NULL, &v);
  ir_value_free(&v);
  return id;
}

/* A node with |nout| new outputs, which become graph outputs. */
static inline ir_node_id tc_node(tc *t, ir_op op, int opset,
                                 const ir_tensor_id *in, int nin, int nout,
                                 ir_tensor_id *out) {
  return kt_node_outputs(t->g, &t->nout, op, opset, in, nin, nout, out);
}

/*===------------------------------------------------------------------===*/
/* Comparison                                                              */
/*===------------------------------------------------------------------===*/

static int cases, failed_cases; /* for the summary line */

static inline bool close_enough(const tc *t, ir_dtype dt, double g, double w,
                                 bool exact, double wmax) {
  if (isnan(w)) return isnan(g);
  if (exact) return g == w && signbit(g) == signbit(w);
  if (isinf(w) || isinf(g)) return g == w;
  double rtol = 4e-6, atol = 1e-7;
  if (dt == IR_F64) rtol = 1e-13, atol = 1e-300;
  if (dt == IR_F16) rtol = 2e-3;
  if (dt == IR_BF16) rtol = 1.6e-2;
  if (t->rtol > 0) rtol = t->rtol;
  if (t->atol_scale > 0) atol = t->atol_scale * wmax;
  return fabs(g - w) <= rtol * fabs(w) + atol;
}

static inline bool same_value(const tc *t, const ir_value *got,
                              const ir_value *want, bool exact,
                              const char *what) {
  if (got->dtype != want->dtype || !ir_shape_equal(&got->shape, &want->shape)) {
    char a[96], b[96];
    fprintf(stderr, "%s: got %s %s, want %s %s\n", what,
            ir_dtype_name(got->dtype), ir_shape_str(&got->shape, a, sizeof a),
            ir_dtype_name(want->dtype), ir_shape_str(&want->shape, b, sizeof b));
    return false;
  }
  size_t n = ir_shape_numel(&want->shape);
  ir_dtype dt = want->dtype;
  bool is_float = ir_dtype_traits[dt].is_float;
  size_t es = ir_dtype_traits[dt].size;
  double wmax = 0;
  for (size_t i = 0; is_float && i < n; i++) {
    double w = fabs(ir_load_f64(dt, want->data, i));
    if (isfinite(w) && w > wmax) wmax = w;
  }
  for (size_t i = 0; i < n; i++) {
    bool ok;
    if (is_float) {
      ok = close_enough(t, dt, ir_load_f64(dt, got->data, i),
                        ir_load_f64(dt, want->data, i), exact, wmax);
    } else {
      ok = memcmp((const char *)got->data + i * es,
                  (const char *)want->data + i * es, es) == 0;
    }
    if (!ok) {
      if (is_float)
        fprintf(stderr, "%s: element %zu is %.10g, want %.10g\n", what, i,
                ir_load_f64(dt, got->data, i), ir_load_f64(dt, want->data, i));
      else
        fprintf(stderr, "%s: element %zu is %llu, want %llu\n", what, i,
                (unsigned long long)ir_load_u64(dt, got->data, i),
                (unsigned long long)ir_load_u64(dt, want->data, i));
      return false;
    }
  }
  return true;
}

/* Parses, runs the reference and the native plan (host target), compares
 * every output.  Destroys the graph and the values. */
static inline void tc_run(tc *t, bool exact, const char *what) {
  ir_graph *g = t->g;
  uint32_t nout = g->n_outputs;
  ir_value want[KT_MAX_IO], got[KT_MAX_IO];
  memset(want, 0, sizeof want);
  memset(got, 0, sizeof got);
  char kernels[256] = "";
  ingot_status s =
      kt_run_host(g, t->vals, want, got, false, kernels, sizeof kernels);
  if (getenv("KT_VERBOSE")) fprintf(stderr, "%s: %s\n", what, kernels);
  bool ok = kt_ok(s, what);
  for (uint32_t i = 0; ok && i < nout; i++)
    ok = same_value(t, &got[i], &want[i], exact, what);
  kt_free_values(want, KT_MAX_IO);
  kt_free_values(got, KT_MAX_IO);
  kt_free_values(t->vals, t->nin);
  ir_graph_destroy(g);
  cases++;
  if (!ok) {
    failed_cases++;
    check_failures++;
  }
}

/* Expects planning to fail with UNIMPLEMENTED (the reference may run). */
static inline void tc_expect_unimplemented(tc *t, const char *what) {
  cg_target host;
  ingot_status s = kt_finish(t->g);
  if (!s) s = cg_target_host(&host);
  cg_plan *p = NULL;
  if (!s) s = cg_plan_build(t->g, &host, NULL, &p);
  cases++;
  if (ingot_status_code_of(s) != INGOT_UNIMPLEMENTED) {
    fprintf(stderr, "%s: expected UNIMPLEMENTED, got %s\n", what,
            s ? ingot_status_message(s) : "OK");
    failed_cases++;
    check_failures++;
  }
  ingot_status_free(s);
  cg_plan_destroy(p);
  kt_free_values(t->vals, t->nin);
  ir_graph_destroy(t->g);
}

/* A random shape: rank in [lo, hi], dims in [1, maxd]. */
static inline ir_shape rnd_shape(tc *t, int lo, int hi, int64_t maxd) {
  ir_shape s = {.rank = (int)rnd_in(t, lo, hi)};
  for (int d = 0; d < s.rank; d++) s.dims[d] = rnd_in(t, 1, maxd);
  return s;
}

/* A shape that broadcasts to |s|: a random suffix with dims set to 1. */
static inline ir_shape bcast_of(tc *t, const ir_shape *s) {
  ir_shape b = {.rank = (int)rnd_in(t, 0, s->rank)};
  for (int d = 0; d < b.rank; d++) {
    int64_t full = s->dims[s->rank - b.rank + d];
    b.dims[d] = rnd(t) % 3 == 0 ? 1 : full;
  }
  return b;
}

#endif /* INGOT_TESTS_K2_CASE_H */
