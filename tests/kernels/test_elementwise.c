/* test_elementwise.c — the elementwise lowering (codegen/lower_elementwise.c)
 * and templates (kernels/generic/elementwise.c) against the reference
 * interpreter, through the real planner (kt_graph.h: passes, layout,
 * memory plan, lowering, natively compiled templates, tasks run in three
 * uneven parts).
 *
 * Covered: every unary op on float32/float64/float16/bfloat16 (and the
 * integer types where the op takes them) on random shapes with NaN, +-inf,
 * +-0, subnormals and huge values mixed in; Clip with constant, run-time
 * and absent bounds; Cast between every pair of the 13 dtypes; Identity;
 * Dropout (opsets 7, 10, 12, masks, training_mode false / ratio 0;
 * run-time training_mode is rejected at build time); every
 * binary op over random numpy broadcasts (ranks 0..5, size-1 dims, lower
 * ranks) on every dtype it accepts, integer division by zero and
 * INT_MIN / -1, integer and mixed-type Pow, PRelu incl. the opset-6
 * channel slope, Where, variadic Max/Min/Sum/Mean with 1..4 inputs; and
 * an NHWC region (Conv -> Add bias -> Sigmoid -> Mul -> Sub -> Conv) where
 * the planner permutes constants (compared within 1e-4 relative to the
 * largest output: the convolutions sum in float, the reference in
 * double).
 *
 * Tolerances: exact ops (arithmetic + - * / of floats, Max/Min, PRelu,
 * LeakyRelu, Abs, Neg, Ceil, Floor, Round, Sign, Relu, Sqrt, Reciprocal,
 * Clip, Cast, comparisons, logic, integers of every op) bit for bit (NaN
 * matches any NaN); the rest |got - want| <= rtol |want| + atol with
 * float32 rtol 4e-6 atol 1e-7 (kmath's float functions are within 2 ulp,
 * the reference computes in double), float64 1e-13/1e-300, float16
 * 2e-3/1e-7, bfloat16 1.6e-2/1e-7 (two units in the last place); infinities
 * must match exactly.
 */
#include "k2_case.h"

/*===------------------------------------------------------------------===*/
/* Unary                                                                   */
/*===------------------------------------------------------------------===*/

typedef struct uop {
  ir_op op;
  bool ints;  /* takes integer types too */
  bool exact; /* float results must be bit-exact */
} uop;

static const uop kUnary[] = {
    {IR_OP_ABS, true, true},         {IR_OP_NEG, true, true},
    {IR_OP_CEIL, false, true},       {IR_OP_FLOOR, false, true},
    {IR_OP_ROUND, false, true},      {IR_OP_SIGN, true, true},
    {IR_OP_SQRT, false, true},       {IR_OP_EXP, false, false},
    {IR_OP_LOG, false, false},       {IR_OP_SIN, false, false},
    {IR_OP_COS, false, false},       {IR_OP_TANH, false, false},
    {IR_OP_ERF, true, false},        {IR_OP_SIGMOID, false, false},
    {IR_OP_RELU, true, true},        {IR_OP_RECIPROCAL, false, true},
    {IR_OP_SOFTPLUS, false, false},  {IR_OP_SOFTSIGN, false, false},
    {IR_OP_ELU, false, false},       {IR_OP_SELU, false, false},
    {IR_OP_LEAKY_RELU, false, true}, {IR_OP_HARD_SIGMOID, false, false},
    {IR_OP_HARD_SWISH, false, false},
};

static void unary_case(uint64_t seed, const uop *u, ir_dtype dt,
                       int64_t big) {
  tc t;
  tc_init(&t, seed);
  ir_shape s = rnd_shape(&t, 0, 5, 6);
  if (big) { /* a long tensor: several tasks, vector tails */
    s.rank = 2;
    s.dims[0] = 3;
    s.dims[1] = big;
  }
  ir_tensor_id x = tc_input(&t, rnd_value(&t, dt, &s, V_SPECIAL)), y;
  if (u->op == IR_OP_SIN || u->op == IR_OP_COS) { /* huge arguments too */
    ir_value *v = &t.vals[0];
    size_t n = ir_shape_numel(&v->shape);
    for (size_t i = 0; i < n; i += 5)
      ir_store_f64(dt, v->data, i, ir_load_f64(dt, v->data, i) * 1e7);
  }
  ir_node_id nid = tc_node(&t, u->op, 13, &x, 1, 1, &y);
  if (u->op == IR_OP_ELU || u->op == IR_OP_LEAKY_RELU ||
      u->op == IR_OP_HARD_SIGMOID)
    kt_attr_float(t.g, nid, "alpha", 0.3f);
  if (u->op == IR_OP_HARD_SIGMOID) kt_attr_float(t.g, nid, "beta", 0.4f);
  if (u->op == IR_OP_SELU) kt_attr_float(t.g, nid, "gamma", 1.1f);
  char what[128];
  snprintf(what, sizeof what, "%s %s (seed %llu)", ir_op_get(u->op)->name,
           ir_dtype_name(dt), (unsigned long long)seed);
  tc_run(&t, u->exact || !ir_dtype_traits[dt].is_float, what);
}

static void test_unary(void) {
  uint64_t seed = 1;
  for (int k = 0; k < N_OF(kUnary); k++) {
    for (int f = 0; f < N_OF(kFloats); f++)
      for (int rep = 0; rep < 3; rep++)
        unary_case(seed++, &kUnary[k], kFloats[f], 0);
    unary_case(seed++, &kUnary[k], IR_F32, 4099);
    if (kUnary[k].ints)
      for (int i = 0; i < N_OF(kInts); i++)
        unary_case(seed++, &kUnary[k], kInts[i], 0);
  }
  /* Not */
  for (int rep = 0; rep < 4; rep++) {
    tc t;
    tc_init(&t, 900 + (uint64_t)rep);
    ir_shape s = rnd_shape(&t, 0, 4, 7);
    ir_tensor_id x = tc_input(&t, rnd_value(&t, IR_BOOL, &s, V_PLAIN)), y;
    tc_node(&t, IR_OP_NOT, 13, &x, 1, 1, &y);
    tc_run(&t, true, "Not");
  }
  /* dtypes the kernels do not take: Sqrt of an integer */
  tc t;
  tc_init(&t, 950);
  ir_shape s = {1, {5}};
  ir_tensor_id x = tc_input(&t, rnd_value(&t, IR_I32, &s, V_PLAIN)), y;
  tc_node(&t, IR_OP_SQRT, 13, &x, 1, 1, &y);
  tc_expect_unimplemented(&t, "Sqrt int32");
}

/* Clip: bounds as constants, graph inputs or absent; min > max too. */
static void test_clip(void) {
  uint64_t seed = 1000;
  ir_dtype types[N_OF(kFloats) + N_OF(kInts)];
  int nt = 0;
  for (int i = 0; i < N_OF(kFloats); i++) types[nt++] = kFloats[i];
  for (int i = 0; i < N_OF(kInts); i++) types[nt++] = kInts[i];
  for (int k = 0; k < nt; k++)
    for (int mode = 0; mode < 9; mode++) {
      ir_dtype dt = types[k];
      tc t;
      tc_init(&t, seed++);
      ir_shape s = rnd_shape(&t, 0, 4, 6), sc = {0, {0}};
      ir_tensor_id in[3] = {tc_input(&t, rnd_value(&t, dt, &s, V_SPECIAL)),
                            0, 0};
      int nin = 1;
      for (int b = 0; b < 2; b++) { /* mode: 3 x 3 bound sources */
        int src = b == 0 ? mode % 3 : mode / 3;
        if (src == 0) continue;
        ir_value v = rnd_value(&t, dt, &sc, V_SMALLINT);
        ir_store_f64(dt, v.data, 0, b == 0 ? -1.5 + (mode == 8) * 5 : 2.0);
        in[1 + b] = src == 1 ? tc_const(&t, v) : tc_input(&t, v);
        nin = 2 + b;
      }
      ir_tensor_id y;
      tc_node(&t, IR_OP_CLIP, 13, in, nin, 1, &y);
      char what[96];
      snprintf(what, sizeof what, "Clip %s mode %d", ir_dtype_name(dt), mode);
      tc_run(&t, true, what);
    }
  /* Clip-6: float attributes */
  tc t;
  tc_init(&t, seed++);
  ir_shape s = {2, {3, 5}};
  ir_tensor_id x = tc_input(&t, rnd_value(&t, IR_F32, &s, V_SPECIAL)), y;
  ir_node_id nid = tc_node(&t, IR_OP_CLIP, 6, &x, 1, 1, &y);
  kt_attr_float(t.g, nid, "min", -0.5f);
  kt_attr_float(t.g, nid, "max", 0.75f);
  tc_run(&t, true, "Clip-6");
}

static void test_cast(void) {
  uint64_t seed = 2000;
  for (int a = 0; a < N_OF(kAll); a++)
    for (int b = 0; b < N_OF(kAll); b++) {
      tc t;
      tc_init(&t, seed++);
      ir_shape s = rnd_shape(&t, 1, 3, 9);
      ir_tensor_id x =
          tc_input(&t, rnd_value(&t, kAll[a], &s, V_SPECIAL)), y;
      /* integers beyond 2^24 and 2^53 reach floats through double */
      if (!ir_dtype_traits[kAll[a]].is_float && kAll[a] != IR_BOOL &&
          ir_shape_numel(&s) > 1)
        ir_store_i64(kAll[a], t.vals[0].data, 0, 9007199254740993LL);
      ir_node_id nid = tc_node(&t, IR_OP_CAST, 13, &x, 1, 1, &y);
      kt_attr_int(t.g, nid, "to", kAll[b]);
      char what[96];
      snprintf(what, sizeof what, "Cast %s -> %s", ir_dtype_name(kAll[a]),
               ir_dtype_name(kAll[b]));
      tc_run(&t, true, what);
    }
}

static void test_identity_dropout(void) {
  for (int a = 0; a < N_OF(kAll); a++) {
    tc t;
    tc_init(&t, 3000 + (uint64_t)a);
    ir_shape s = rnd_shape(&t, 0, 4, 5);
    ir_tensor_id x = tc_input(&t, rnd_value(&t, kAll[a], &s, V_SPECIAL)), y;
    tc_node(&t, IR_OP_IDENTITY, 13, &x, 1, 1, &y);
    tc_run(&t, true, "Identity");
  }
  /* opset, number of outputs, training_mode (0 absent, 1 false, 2 true
   * with ratio 0, 3 true with ratio 0.5: unimplemented; 4 false and 5 true
   * with ratio 0 as graph inputs: unimplemented too, since an engine needs
   * training_mode as a constant) */
  static const int cfg[][3] = {{7, 1, 0},  {7, 2, 0},  {10, 2, 0},
                               {12, 1, 0}, {12, 2, 1}, {13, 2, 2},
                               {13, 1, 3}, {13, 2, 4}, {13, 1, 5}};
  for (int c = 0; c < N_OF(cfg); c++)
    for (int f = 0; f < N_OF(kFloats); f++) {
      tc t;
      tc_init(&t, 3100 + (uint64_t)(c * 8 + f));
      ir_shape s = rnd_shape(&t, 1, 4, 6), sc = {0, {0}};
      ir_tensor_id in[3] = {
          tc_input(&t, rnd_value(&t, kFloats[f], &s, V_SPECIAL)), 0, 0};
      int nin = 1;
      if (cfg[c][2]) {
        ir_value r = rnd_value(&t, IR_F32, &sc, V_PLAIN);
        ((float *)r.data)[0] = cfg[c][2] == 3 ? 0.5f : 0.0f;
        ir_value m = rnd_value(&t, IR_BOOL, &sc, V_PLAIN);
        ((uint8_t *)m.data)[0] = cfg[c][2] == 2 || cfg[c][2] >= 3;
        if (cfg[c][2] == 4) {
          ((float *)r.data)[0] = 0.5f;
          ((uint8_t *)m.data)[0] = 0;
        }
        in[1] = cfg[c][2] >= 4 ? tc_input(&t, r) : tc_const(&t, r);
        in[2] = cfg[c][2] >= 4 ? tc_input(&t, m) : tc_const(&t, m);
        nin = 3;
      }
      ir_tensor_id y[2];
      tc_node(&t, IR_OP_DROPOUT, cfg[c][0], in, nin, cfg[c][1], y);
      char what[96];
      snprintf(what, sizeof what, "Dropout-%d outputs %d training %d %s",
               cfg[c][0], cfg[c][1], cfg[c][2], ir_dtype_name(kFloats[f]));
      if (cfg[c][2] >= 3)
        tc_expect_unimplemented(&t, what);
      else
        tc_run(&t, true, what);
    }
}

/*===------------------------------------------------------------------===*/
/* Binary                                                                  */
/*===------------------------------------------------------------------===*/

typedef struct bop {
  ir_op op;
  int kind; /* 0 arithmetic, 1 logic (bool), 2 comparison */
  bool exact;
} bop;

static const bop kBinary[] = {
    {IR_OP_ADD, 0, true},     {IR_OP_SUB, 0, true},
    {IR_OP_MUL, 0, true},     {IR_OP_DIV, 0, true},
    {IR_OP_POW, 0, false},    {IR_OP_PRELU, 0, true},
    {IR_OP_AND, 1, true},     {IR_OP_OR, 1, true},
    {IR_OP_XOR, 1, true},     {IR_OP_EQUAL, 2, true},
    {IR_OP_GREATER, 2, true}, {IR_OP_GREATER_OR_EQUAL, 2, true},
    {IR_OP_LESS, 2, true},    {IR_OP_LESS_OR_EQUAL, 2, true},
};

/* One binary node over random broadcast shapes; operand 1 a constant when
 * |konst|. */
static void binary_case(uint64_t seed, const bop *b, ir_dtype ta, ir_dtype tb,
                        bool konst, int64_t big) {
  tc t;
  tc_init(&t, seed);
  ir_shape so = rnd_shape(&t, 0, 5, 5);
  if (big) so = (ir_shape){3, {2, 3, big}};
  ir_shape sa = rnd(&t) % 3 ? so : bcast_of(&t, &so);
  ir_shape sb = bcast_of(&t, &so);
  if (rnd(&t) % 2) { /* swap which side is full */
    ir_shape tmp = sa;
    sa = sb;
    sb = tmp;
  }
  if (b->op == IR_OP_PRELU) sa = so; /* the slope broadcasts to X */
  int mode = V_SPECIAL;
  if (b->op == IR_OP_POW && !ir_dtype_traits[ta].is_float) mode = V_SMALLINT;
  ir_tensor_id in[2], y;
  in[0] = tc_input(&t, rnd_value(&t, ta, &sa, mode));
  ir_value vb = rnd_value(&t, tb, &sb,
                          b->op == IR_OP_POW ? V_SMALLINT : mode);
  in[1] = konst ? tc_const(&t, vb) : tc_input(&t, vb);
  tc_node(&t, b->op, 14, in, 2, 1, &y);
  char what[128];
  snprintf(what, sizeof what, "%s %s,%s%s (seed %llu)",
           ir_op_get(b->op)->name, ir_dtype_name(ta), ir_dtype_name(tb),
           konst ? " const" : "", (unsigned long long)seed);
  tc_run(&t, b->exact || !ir_dtype_traits[ta].is_float, what);
}

static void test_binary(void) {
  uint64_t seed = 4000;
  for (int k = 0; k < N_OF(kBinary); k++) {
    const bop *b = &kBinary[k];
    if (b->kind == 1) {
      for (int rep = 0; rep < 6; rep++)
        binary_case(seed++, b, IR_BOOL, IR_BOOL, rep & 1, 0);
      continue;
    }
    for (int f = 0; f < N_OF(kFloats); f++)
      for (int rep = 0; rep < 4; rep++)
        binary_case(seed++, b, kFloats[f], kFloats[f], rep & 1, 0);
    binary_case(seed++, b, IR_F32, IR_F32, false, 1001);
    for (int i = 0; i < N_OF(kInts); i++)
      for (int rep = 0; rep < 2; rep++)
        binary_case(seed++, b, kInts[i], kInts[i], rep & 1, 0);
    if (b->op == IR_OP_EQUAL)
      binary_case(seed++, b, IR_BOOL, IR_BOOL, false, 0);
  }
  /* Pow with mixed base and exponent types */
  static const ir_dtype pt[][2] = {
      {IR_F32, IR_I32}, {IR_F32, IR_I64}, {IR_F32, IR_U32}, {IR_F32, IR_U64},
      {IR_I32, IR_F32}, {IR_I64, IR_F32}, {IR_I32, IR_I64}, {IR_F16, IR_F32},
      {IR_U8, IR_I8},   {IR_F64, IR_I16}};
  for (int i = 0; i < N_OF(pt); i++)
    for (int rep = 0; rep < 3; rep++)
      binary_case(seed++, &kBinary[4], pt[i][0], pt[i][1], rep == 1, 0);
  /* Pow(x, 2) becomes x * x: bit-exact */
  for (int f = 0; f < N_OF(kFloats); f++) {
    tc t;
    tc_init(&t, seed++);
    ir_shape s = rnd_shape(&t, 0, 4, 6), sc = {0, {0}};
    ir_value two = rnd_value(&t, kFloats[f], &sc, V_PLAIN);
    ir_store_f64(kFloats[f], two.data, 0, 2.0);
    ir_tensor_id in[2] = {tc_input(&t, rnd_value(&t, kFloats[f], &s, V_SPECIAL)),
                          tc_const(&t, two)}, y;
    tc_node(&t, IR_OP_POW, 15, in, 2, 1, &y);
    tc_run(&t, true, "Pow(x, 2)");
  }
}

/* Integer Div with zeros, -1 and INT_MIN on both sides. */
static void test_int_div(void) {
  for (int i = 0; i < N_OF(kInts); i++) {
    tc t;
    tc_init(&t, 5000 + (uint64_t)i);
    ir_shape s = {1, {64}};
    ir_value a = rnd_value(&t, kInts[i], &s, V_PLAIN);
    ir_value b = rnd_value(&t, kInts[i], &s, V_PLAIN);
    for (int k = 0; k < 64; k += 4) {
      ir_store_i64(kInts[i], b.data, (size_t)k, 0);
      ir_store_i64(kInts[i], b.data, (size_t)k + 1, -1);
      ir_store_i64(kInts[i], a.data, (size_t)k + 1, INT64_MIN);
    }
    ir_tensor_id in[2] = {tc_input(&t, a), tc_input(&t, b)}, y;
    tc_node(&t, IR_OP_DIV, 14, in, 2, 1, &y);
    char what[64];
    snprintf(what, sizeof what, "Div %s by 0, -1", ir_dtype_name(kInts[i]));
    tc_run(&t, true, what);
  }
}

/* PRelu-6: a slope of C values applies along axis 1. */
static void test_prelu_legacy(void) {
  for (int rank = 2; rank <= 5; rank++) {
    tc t;
    tc_init(&t, 5100 + (uint64_t)rank);
    ir_shape s = rnd_shape(&t, rank, rank, 5);
    s.dims[1] = 3;
    ir_shape sw = {1, {3}};
    ir_tensor_id in[2] = {tc_input(&t, rnd_value(&t, IR_F32, &s, V_SPECIAL)),
                          0};
    in[1] = tc_const(&t, rnd_value(&t, IR_F32, &sw, V_PLAIN));
    ir_tensor_id y;
    tc_node(&t, IR_OP_PRELU, 6, in, 2, 1, &y);
    tc_run(&t, true, "PRelu-6 channel slope");
  }
}

static void test_where(void) {
  for (int a = 0; a < N_OF(kAll); a++)
    for (int rep = 0; rep < 3; rep++) {
      tc t;
      tc_init(&t, 6000 + (uint64_t)(a * 4 + rep));
      ir_shape so = rnd_shape(&t, 0, 5, 4);
      if (rep == 2) so = (ir_shape){2, {7, 301}};
      ir_shape s0 = bcast_of(&t, &so), s1 = bcast_of(&t, &so), s2 = so;
      ir_tensor_id in[3];
      in[0] = tc_input(&t, rnd_value(&t, IR_BOOL, &s0, V_PLAIN));
      in[1] = tc_input(&t, rnd_value(&t, kAll[a], &s1, V_SPECIAL));
      in[2] = rep == 1 ? tc_const(&t, rnd_value(&t, kAll[a], &s2, V_SPECIAL))
                       : tc_input(&t, rnd_value(&t, kAll[a], &s2, V_SPECIAL));
      ir_tensor_id y;
      tc_node(&t, IR_OP_WHERE, 16, in, 3, 1, &y);
      char what[64];
      snprintf(what, sizeof what, "Where %s", ir_dtype_name(kAll[a]));
      tc_run(&t, true, what);
    }
}

static void test_variadic(void) {
  static const ir_op ops[] = {IR_OP_MAX, IR_OP_MIN, IR_OP_SUM, IR_OP_MEAN};
  uint64_t seed = 7000;
  for (int k = 0; k < N_OF(ops); k++)
    for (int a = 0; a < N_OF(kAll); a++) {
      ir_dtype dt = kAll[a];
      if (dt == IR_BOOL) continue;
      if (ops[k] == IR_OP_MEAN && !ir_dtype_traits[dt].is_float) continue;
      for (int nin = 1; nin <= 4; nin++) {
        tc t;
        tc_init(&t, seed++);
        ir_shape so = rnd_shape(&t, 0, 4, 5);
        ir_tensor_id in[4], y;
        for (int i = 0; i < nin; i++) {
          ir_shape s = i == nin - 1 || rnd(&t) % 2 ? so : bcast_of(&t, &so);
          ir_value v = rnd_value(&t, dt, &s, V_SPECIAL);
          in[i] = rnd(&t) % 4 == 0 ? tc_const(&t, v) : tc_input(&t, v);
        }
        tc_node(&t, ops[k], 13, in, nin, 1, &y);
        char what[96];
        snprintf(what, sizeof what, "%s of %d %s", ir_op_get(ops[k])->name,
                 nin, ir_dtype_name(dt));
        tc_run(&t, true, what);
      }
    }
}

/*===------------------------------------------------------------------===*/
/* NHWC: elementwise ops between convolutions                              */
/*===------------------------------------------------------------------===*/

static void test_nhwc_region(void) {
  for (int rep = 0; rep < 3; rep++) {
    tc t;
    tc_init(&t, 8000 + (uint64_t)rep);
    int64_t C = 3 + rep * 5, H = 5 + rep, W = 7;
    ir_shape sx = {4, {1, 2, H, W}}, sw = {4, {C, 2, 1, 1}};
    ir_shape sw2 = {4, {2, C, 1, 1}}, sb = {3, {C, 1, 1}};
    ir_shape sscale = {4, {1, C, 1, W}}, sone = {0, {0}};
    ir_tensor_id x = tc_input(&t, rnd_value(&t, IR_F32, &sx, V_PLAIN));
    ir_tensor_id w = tc_const(&t, rnd_value(&t, IR_F32, &sw, V_PLAIN));
    ir_tensor_id w2 = tc_const(&t, rnd_value(&t, IR_F32, &sw2, V_PLAIN));
    ir_tensor_id b = tc_const(&t, rnd_value(&t, IR_F32, &sb, V_PLAIN));
    ir_tensor_id sc = tc_const(&t, rnd_value(&t, IR_F32, &sscale, V_PLAIN));
    ir_tensor_id half = tc_const(&t, rnd_value(&t, IR_F32, &sone, V_PLAIN));
    ir_tensor_id c1 = kt_tensor(t.g, "c1", false), a1 = kt_tensor(t.g, "a1", false);
    ir_tensor_id s1 = kt_tensor(t.g, "s1", false), m1 = kt_tensor(t.g, "m1", false);
    ir_tensor_id m2 = kt_tensor(t.g, "m2", false), y = kt_tensor(t.g, "y", true);
    t.nout = 1;
    ir_tensor_id cin[2] = {x, w}, ain[2] = {c1, b}, min[2] = {s1, sc};
    ir_tensor_id hin[2] = {half, m1}, c2in[2] = {m2, w2};
    kt_node(t.g, IR_OP_CONV, cin, 2, &c1, 1);
    kt_node(t.g, IR_OP_ADD, ain, 2, &a1, 1);
    kt_node(t.g, IR_OP_SIGMOID, &a1, 1, &s1, 1);
    kt_node(t.g, IR_OP_MUL, min, 2, &m1, 1);
    kt_node(t.g, IR_OP_SUB, hin, 2, &m2, 1);
    kt_node(t.g, IR_OP_CONV, c2in, 2, &y, 1);
    t.rtol = 1e-4; /* the convolutions sum in float */
    t.atol_scale = 1e-5;
    tc_run(&t, false, "NHWC Conv-Add-Sigmoid-Mul-Sub-Conv");
  }
}

int main(void) {
  test_unary();
  test_clip();
  test_cast();
  test_identity_dropout();
  test_binary();
  test_int_div();
  test_prelu_legacy();
  test_where();
  test_variadic();
  test_nhwc_region();
  printf("test_elementwise: %d cases, %d failed\n", cases, failed_cases);
  return check_report("test_elementwise");
}
