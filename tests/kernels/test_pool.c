/* test_pool.c — MaxPool (with Indices), AveragePool, GlobalMaxPool and
 * GlobalAveragePool through the planner, lower_pool.c and the natively
 * compiled template, against the reference interpreter.
 *
 * Tolerance: float32 max|got - ref| <= 1e-6 * max(1, max|ref|) (averages
 * are summed in float32, the reference sums in double); max values,
 * indices and integer outputs exactly.  Cases: the conformance tests'
 * attribute combinations (pads, strides, dilations, ceil_mode,
 * count_include_pad, auto_pad, storage_order), 1-D/2-D/3-D, uint8/int8,
 * NaN and -inf inputs, channel counts around the kernel's block size,
 * and randomised shapes.
 */
#include "kt_graph.h"

#define TOL 1e-6

typedef struct pool_case {
  ir_op op;
  int nsp;
  ir_dtype dt;
  int64_t n, c, in[3], k[3], s[3], d[3], pads[6];
  const char *auto_pad;
  bool ceil_mode, include_pad, indices, storage_order, has_dil;
  int rank;     /* global pools: input rank */
  bool special; /* NaN and -inf among the inputs */
  ir_value x;
} pool_case;

static ir_graph *build_pool(void *vctx) {
  pool_case *pc = vctx;
  ir_graph *g = kt_graph_new();
  if (!g) return NULL;
  ir_tensor_id x = kt_input(g, "x", &pc->x);
  ir_tensor_id out[2] = {kt_tensor(g, "y", true), 0};
  if (pc->indices) out[1] = kt_tensor(g, "idx", true);
  ir_node_id nid = kt_node(g, pc->op, &x, 1, out, pc->indices ? 2 : 1);
  if (pc->op == IR_OP_MAX_POOL || pc->op == IR_OP_AVERAGE_POOL) {
    kt_attr_window(g, nid, pc->nsp, pc->k, pc->s, pc->has_dil ? pc->d : NULL,
                   pc->auto_pad, pc->pads);
    if (pc->ceil_mode) kt_attr_int(g, nid, "ceil_mode", 1);
    if (pc->include_pad) kt_attr_int(g, nid, "count_include_pad", 1);
    if (pc->storage_order) kt_attr_int(g, nid, "storage_order", 1);
  }
  CHECK_OK(kt_finish(g));
  return g;
}

/* Runs a copy of |spec| with its input filled in (random); strides,
 * dilations and kernel dims left at 0 are 1, the dtype float32. */
static void run_pool(const pool_case *spec, const char *what) {
  pool_case copy = *spec, *pc = &copy;
  int64_t dims[8] = {pc->n, pc->c};
  int rank = pc->rank ? pc->rank : pc->nsp + 2;
  int nsp = rank - 2;
  for (int i = 0; i < nsp; i++)
    dims[2 + i] = pc->rank ? 3 + i : pc->in[3 - nsp + i];
  for (int j = 0; j < 3; j++) {
    if (!pc->s[j]) pc->s[j] = 1;
    if (!pc->d[j]) pc->d[j] = 1;
    if (!pc->k[j]) pc->k[j] = 1;
  }
  if (!pc->dt) pc->dt = IR_F32;
  pc->x = kt_value(pc->dt, rank, dims);
  if (pc->special && pc->dt == IR_F32) {
    size_t n = ir_shape_numel(&pc->x.shape);
    float *f = pc->x.data;
    for (size_t i = 0; i < n; i += 7)
      f[i] = i % 3 ? -__builtin_inff() : __builtin_nanf("");
  }
  /* Ties exercise the first-tap rule of Indices. */
  if (pc->dt == IR_F32 && pc->indices) {
    size_t n = ir_shape_numel(&pc->x.shape);
    float *f = pc->x.data;
    for (size_t i = 0; i < n; i++) f[i] = (float)kt_irand(0, 4);
  }
  kt_check_case(build_pool, pc, &pc->x, TOL, what);
  ir_value_free(&pc->x);
}

/* A row of a case table. */
typedef struct named_case {
  const char *what;
  pool_case pc;
} named_case;

static void fixed_cases(void) {
  /* The conformance tests' attribute combinations, 2-D. */
  static const struct {
    const char *what;
    int64_t k, s, p;
    bool ceil, incl;
    const char *ap;
  } attrs[] = {
      {"default 2x2", 2, 1, 0, false, false, NULL},
      {"ceil 3x3/2", 3, 2, 0, true, false, NULL},
      {"pads 3x3 p2", 3, 1, 2, false, false, NULL},
      {"pads count_include_pad", 3, 1, 2, false, true, NULL},
      {"precomputed 5x5 p2", 5, 1, 2, false, false, NULL},
      {"precomputed same_upper 3x3/2", 3, 2, 0, false, false, "SAME_UPPER"},
      {"strides 5x5/3", 5, 3, 0, false, false, NULL},
      {"same_lower 2x2", 2, 1, 0, false, false, "SAME_LOWER"},
      {"same_upper 2x2", 2, 1, 0, false, false, "SAME_UPPER"},
      {"valid 3x3/2", 3, 2, 0, false, false, "VALID"},
      {"ceil pads include_pad", 3, 2, 1, true, true, NULL},
  };
  for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
    for (int op = 0; op < 2; op++) {
      char what[128];
      pool_case pc = {
          .op = op ? IR_OP_AVERAGE_POOL : IR_OP_MAX_POOL, .nsp = 2, .n = 1,
          .c = 3, .in = {1, 32, 31}, .k = {1, attrs[i].k, attrs[i].k},
          .s = {1, attrs[i].s, attrs[i].s},
          .pads = {0, attrs[i].p, attrs[i].p, 0, attrs[i].p, attrs[i].p},
          .ceil_mode = attrs[i].ceil, .include_pad = attrs[i].incl && op,
          .auto_pad = attrs[i].ap};
      snprintf(what, sizeof what, "%s %s", op ? "AveragePool" : "MaxPool",
               attrs[i].what);
      run_pool(&pc, what);
    }
  /* Dilations, uint8/int8, Indices, NaN and -inf, 1-D and 3-D. */
  static const named_case cases[] = {
      {"cnn MaxPool 2x2/2 16ch",
       {.op = IR_OP_MAX_POOL, .nsp = 2, .n = 1, .c = 16, .in = {1, 32, 32},
        .k = {1, 2, 2}, .s = {1, 2, 2}}},
      {"MaxPool dilations",
       {.op = IR_OP_MAX_POOL, .nsp = 2, .n = 1, .c = 1, .in = {1, 4, 4},
        .k = {1, 2, 2}, .d = {1, 2, 2}, .has_dil = true}},
      {"MaxPool stride padding dilation 60x80",
       {.op = IR_OP_MAX_POOL, .nsp = 2, .n = 1, .c = 2, .in = {1, 600, 800},
        .k = {1, 60, 80}, .s = {1, 10, 10}, .d = {1, 10, 10},
        .pads = {0, 10, 20, 0, 10, 20}, .has_dil = true}},
      {"MaxPool uint8",
       {.op = IR_OP_MAX_POOL, .nsp = 2, .dt = IR_U8, .n = 1, .c = 1,
        .in = {1, 5, 5}, .k = {1, 5, 5}, .pads = {0, 2, 2, 0, 2, 2}}},
      {"MaxPool int8 70ch",
       {.op = IR_OP_MAX_POOL, .nsp = 2, .dt = IR_I8, .n = 1, .c = 70,
        .in = {1, 5, 5}, .k = {1, 5, 5}, .pads = {0, 2, 2, 0, 2, 2}}},
      {"MaxPool indices pads",
       {.op = IR_OP_MAX_POOL, .nsp = 2, .n = 2, .c = 3, .in = {1, 5, 5},
        .k = {1, 5, 5}, .pads = {0, 2, 2, 0, 2, 2}, .indices = true}},
      {"MaxPool indices storage_order 1",
       {.op = IR_OP_MAX_POOL, .nsp = 2, .n = 2, .c = 3, .in = {1, 5, 5},
        .k = {1, 2, 2}, .s = {1, 2, 2}, .indices = true,
        .storage_order = true}},
      {"MaxPool indices 3d storage_order 1",
       {.op = IR_OP_MAX_POOL, .nsp = 3, .n = 2, .c = 3, .in = {4, 5, 5},
        .k = {2, 2, 2}, .s = {1, 2, 2}, .indices = true,
        .storage_order = true}},
      {"MaxPool NaN and -inf",
       {.op = IR_OP_MAX_POOL, .nsp = 2, .n = 1, .c = 5, .in = {1, 9, 9},
        .k = {1, 3, 3}, .s = {1, 2, 2}, .special = true}},
      {"AveragePool NaN and -inf",
       {.op = IR_OP_AVERAGE_POOL, .nsp = 2, .n = 1, .c = 5, .in = {1, 9, 9},
        .k = {1, 3, 3}, .s = {1, 2, 2}, .special = true}},
      {"MaxPool 1d",
       {.op = IR_OP_MAX_POOL, .nsp = 1, .n = 2, .c = 3, .in = {1, 1, 32},
        .k = {1, 1, 4}, .s = {1, 1, 3}, .pads = {0, 0, 1, 0, 0, 2}}},
      {"MaxPool 3d",
       {.op = IR_OP_MAX_POOL, .nsp = 3, .n = 1, .c = 4, .in = {6, 7, 8},
        .k = {2, 3, 2}, .s = {2, 1, 2}, .pads = {1, 0, 1, 0, 1, 1}}},
      {"AveragePool 1d",
       {.op = IR_OP_AVERAGE_POOL, .nsp = 1, .n = 2, .c = 3, .in = {1, 1, 32},
        .k = {1, 1, 4}, .s = {1, 1, 3}, .pads = {0, 0, 1, 0, 0, 2}}},
      {"AveragePool 3d",
       {.op = IR_OP_AVERAGE_POOL, .nsp = 3, .n = 1, .c = 4, .in = {6, 7, 8},
        .k = {2, 3, 2}, .s = {2, 1, 2}, .pads = {1, 0, 1, 0, 1, 1},
        .include_pad = true}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    run_pool(&cases[i].pc, cases[i].what);
  /* Global pools: NHWC (rank 4) and channel-first ranks 2, 3, 5, 6. */
  static const int ranks[] = {4, 2, 3, 5, 6};
  for (size_t r = 0; r < sizeof ranks / sizeof ranks[0]; r++)
    for (int op = 0; op < 2; op++) {
      char what[96];
      pool_case gp = {
          .op = op ? IR_OP_GLOBAL_AVERAGE_POOL : IR_OP_GLOBAL_MAX_POOL,
          .n = 2, .c = 67, .rank = ranks[r], .in = {3, 5, 6}};
      snprintf(what, sizeof what, "%s rank %d",
               op ? "GlobalAveragePool" : "GlobalMaxPool", ranks[r]);
      run_pool(&gp, what);
    }
  pool_case gap = {.op = IR_OP_GLOBAL_AVERAGE_POOL, .n = 1, .c = 64,
                   .rank = 4, .in = {1, 8, 8}};
  run_pool(&gap, "cnn GlobalAveragePool 64ch");
}

static void random_cases(int count) {
  for (int i = 0; i < count; i++) {
    pool_case pc;
    memset(&pc, 0, sizeof pc);
    pc.op = kt_irand(0, 1) ? IR_OP_AVERAGE_POOL : IR_OP_MAX_POOL;
    pc.nsp = (int)(kt_irand(0, 4) == 0 ? kt_irand(1, 3) : 2);
    pc.n = kt_irand(1, 2);
    pc.c = kt_irand(1, 140);
    pc.has_dil = kt_irand(0, 2) == 0;
    for (int j = 3 - pc.nsp; j < 3; j++) {
      pc.k[j] = kt_irand(1, 4);
      pc.s[j] = kt_irand(1, 3);
      pc.d[j] = pc.has_dil ? kt_irand(1, 2) : 1;
      int64_t ek = (pc.k[j] - 1) * pc.d[j] + 1;
      pc.pads[j] = kt_irand(0, ek - 1);
      pc.pads[3 + j] = kt_irand(0, ek - 1);
      pc.in[j] = kt_irand(ek, ek + 12);
    }
    pc.ceil_mode = kt_irand(0, 1);
    pc.include_pad = pc.op == IR_OP_AVERAGE_POOL && kt_irand(0, 1);
    pc.indices = pc.op == IR_OP_MAX_POOL && kt_irand(0, 2) == 0;
    pc.storage_order = pc.indices && kt_irand(0, 1);
    if (pc.op == IR_OP_MAX_POOL && kt_irand(0, 3) == 0)
      pc.dt = kt_irand(0, 1) ? IR_U8 : IR_I8;
    char what[160];
    snprintf(what, sizeof what,
             "random #%d %s %dd n%lld c%lld in %lldx%lldx%lld k %lldx%lldx%lld",
             i, pc.op == IR_OP_MAX_POOL ? "MaxPool" : "AveragePool", pc.nsp,
             (long long)pc.n, (long long)pc.c, (long long)pc.in[0],
             (long long)pc.in[1], (long long)pc.in[2], (long long)pc.k[0],
             (long long)pc.k[1], (long long)pc.k[2]);
    run_pool(&pc, what);
  }
}

int main(void) {
  fixed_cases();
  random_cases(150);
  return check_report("test_pool");
}
