/* test_gpu_ops.c — the GPU kernels other than the int8 products, one op
 * per graph over randomised shapes (odd sizes, tails past a warp or a
 * block, broadcasting), each planned for the generic target as `ingot
 * build --target cuda` plans it and run step by step on its GPU kernel in
 * the SIMT emulator, against the reference interpreter.  Each case also
 * checks that the kernel it is about ran.  Tolerances: 0 (bit-exact) for
 * integer results, the elementwise ops (the same float expressions as
 * the CPU), max pooling and ReduceMax/Min; 1e-5 of max(1, max|want|) for
 * float sums in a different order (products, convolutions, averages,
 * Softmax, LayerNorm, ReduceMean).  KT_VERBOSE=1 lists the cases and
 * their kernels. */
#include "gpu_tg.h"

static int cases;

/* Runs |t|'s graph on the GPU kernels and the reference; the steps'
 * kernels must include |kernel|. */
static void gop_run(tg *t, double tol, const char *kernel, const char *what) {
  gpu_tg_run_kernel(t, tol, kernel, what);
  cases++;
}

/* Random float32 in [-2, 2) (not the multiples of 1/4 tg_input gives, so
 * sums round). */
static ir_tensor_id f32_input(tg *t, int rank, const int64_t *d) {
  ir_value v = kt_alloc_value(IR_F32, rank, d);
  size_t n = ir_shape_numel(&v.shape);
  for (size_t i = 0; i < n; i++)
    ((float *)v.data)[i] = (float)tg_rnd(t) / 16777216.0f * 4.0f - 2.0f;
  return tg_value_input(t, v);
}
static ir_tensor_id f32_const(tg *t, int rank, const int64_t *d) {
  ir_value v = kt_alloc_value(IR_F32, rank, d);
  size_t n = ir_shape_numel(&v.shape);
  for (size_t i = 0; i < n; i++)
    ((float *)v.data)[i] = (float)tg_rnd(t) / 16777216.0f - 0.5f;
  ir_tensor_id id = tg_const(t, &v);
  ir_value_free(&v);
  return id;
}
static ir_tensor_id u8_input(tg *t, int rank, const int64_t *d) {
  ir_value v = kt_alloc_value(IR_U8, rank, d);
  size_t n = ir_shape_numel(&v.shape);
  for (size_t i = 0; i < n; i++) ((uint8_t *)v.data)[i] = (uint8_t)tg_rnd(t);
  return tg_value_input(t, v);
}

static void binary_cases(uint32_t seed) {
  static const ir_op ops[] = {IR_OP_ADD, IR_OP_SUB, IR_OP_MUL, IR_OP_DIV,
                              IR_OP_MAX};
  for (int c = 0; c < 10; c++) {
    tg t;
    tg_init(&t, seed + (uint32_t)c);
    int rank = (int)tg_rnd_in(&t, 1, 4);
    int64_t a[4], b[4];
    for (int i = 0; i < rank; i++) {
      a[i] = tg_rnd_in(&t, 1, 9);
      b[i] = tg_rnd(&t) % 3 == 0 ? 1 : a[i]; /* broadcast some dims */
    }
    int u8 = c % 5 == 4;
    ir_tensor_id in[2], out;
    in[0] = u8 ? u8_input(&t, rank, a) : f32_input(&t, rank, a);
    in[1] = u8 ? u8_input(&t, rank, b) : f32_input(&t, rank, b);
    ir_op op = u8 ? IR_OP_MAX : ops[c % 5];
    tg_node(&t, op, 13, in, 2, 1, &out);
    char what[96];
    snprintf(what, sizeof what, "binary %s op %d rank %d (seed %u)",
             u8 ? "uint8" : "float32", (int)op, rank, seed + (uint32_t)c);
    gop_run(&t, 0, "g_ew_f32", what);
  }
}

static void pool_cases(uint32_t seed) {
  for (int c = 0; c < 8; c++) {
    tg t;
    tg_init(&t, seed + (uint32_t)c);
    int kind = c % 4; /* max, average, global average, global max */
    int u8 = kind == 0 && c >= 4; /* ONNX pools uint8 only in MaxPool */
    int64_t d[4] = {tg_rnd_in(&t, 1, 2), tg_rnd_in(&t, 1, 37),
                    tg_rnd_in(&t, 3, 9), tg_rnd_in(&t, 3, 11)};
    ir_tensor_id in = u8 ? u8_input(&t, 4, d) : f32_input(&t, 4, d), out;
    ir_op op = kind == 0   ? IR_OP_MAX_POOL
               : kind == 1 ? IR_OP_AVERAGE_POOL
               : kind == 2 ? IR_OP_GLOBAL_AVERAGE_POOL
                           : IR_OP_GLOBAL_MAX_POOL;
    ir_node_id nid = tg_node(&t, op, 11, &in, 1, 1, &out);
    if (kind < 2) {
      int64_t k[3] = {1, tg_rnd_in(&t, 1, 3), tg_rnd_in(&t, 1, 3)};
      int64_t s[3] = {1, tg_rnd_in(&t, 1, 2), tg_rnd_in(&t, 1, 2)};
      int64_t p[6] = {0, k[1] / 2, 0, 0, 0, (k[2] - 1) / 2};
      kt_attr_window(t.g, nid, 2, k, s, NULL, NULL, p);
    }
    char what[96];
    snprintf(what, sizeof what, "pool kind %d %s %lldx%lldx%lldx%lld (seed %u)",
             kind, u8 ? "uint8" : "float32", (long long)d[0], (long long)d[1],
             (long long)d[2], (long long)d[3], seed + (uint32_t)c);
    gop_run(&t, kind == 0 || kind == 3 ? 0 : 1e-5,
            kind < 2 ? "g_pool" : "g_gpool", what);
  }
}

static void norm_cases(uint32_t seed) {
  for (int c = 0; c < 8; c++) {
    tg t;
    tg_init(&t, seed + (uint32_t)c);
    int64_t d[3] = {tg_rnd_in(&t, 1, 2), tg_rnd_in(&t, 1, 5),
                    c % 2 ? tg_rnd_in(&t, 33, 80) : tg_rnd_in(&t, 1, 31)};
    ir_tensor_id in[3], out;
    in[0] = f32_input(&t, 3, d);
    char what[96];
    if (c < 4) {
      ir_node_id nid = tg_node(&t, IR_OP_SOFTMAX, 13, in, 1, 1, &out);
      kt_attr_int(t.g, nid, "axis", -1);
      snprintf(what, sizeof what, "Softmax %lldx%lldx%lld (seed %u)",
               (long long)d[0], (long long)d[1], (long long)d[2],
               seed + (uint32_t)c);
      gop_run(&t, 1e-5, "g_softmax", what);
    } else {
      in[1] = f32_const(&t, 1, &d[2]);
      in[2] = f32_const(&t, 1, &d[2]);
      ir_node_id nid =
          tg_node(&t, IR_OP_LAYER_NORM, 17, in, c % 2 ? 3 : 2, 1, &out);
      kt_attr_int(t.g, nid, "axis", -1);
      kt_attr_float(t.g, nid, "epsilon", 1e-3f);
      snprintf(what, sizeof what, "LayerNorm %lldx%lldx%lld (seed %u)",
               (long long)d[0], (long long)d[1], (long long)d[2],
               seed + (uint32_t)c);
      gop_run(&t, 1e-5, "g_layernorm", what);
    }
  }
}

static void product_cases(uint32_t seed) {
  for (int c = 0; c < 8; c++) {
    tg t;
    tg_init(&t, seed + (uint32_t)c);
    int64_t m = tg_rnd_in(&t, 1, 19), k = tg_rnd_in(&t, 1, 40),
            n = tg_rnd_in(&t, 1, 37), bt = tg_rnd_in(&t, 1, 3);
    ir_tensor_id in[3], out;
    char what[96];
    if (c % 3 == 0) { /* batched, both operands at run time */
      int64_t da[3] = {bt, m, k}, db[3] = {bt, k, n};
      in[0] = f32_input(&t, 3, da);
      in[1] = f32_input(&t, 3, db);
      tg_node(&t, IR_OP_MATMUL, 13, in, 2, 1, &out);
    } else if (c % 3 == 1) { /* constant (packed) B */
      int64_t da[2] = {m, k}, db[2] = {k, n};
      in[0] = f32_input(&t, 2, da);
      in[1] = f32_const(&t, 2, db);
      tg_node(&t, IR_OP_MATMUL, 13, in, 2, 1, &out);
    } else { /* Gemm, transB, a bias row */
      int64_t da[2] = {m, k}, db[2] = {n, k}, dc[1] = {n};
      in[0] = f32_input(&t, 2, da);
      in[1] = f32_const(&t, 2, db);
      in[2] = f32_const(&t, 1, dc);
      ir_node_id nid = tg_node(&t, IR_OP_GEMM, 13, in, 3, 1, &out);
      kt_attr_int(t.g, nid, "transB", 1);
      kt_attr_float(t.g, nid, "alpha", 0.5f);
    }
    snprintf(what, sizeof what, "product %d b%lld %lldx%lldx%lld (seed %u)",
             c % 3, (long long)bt, (long long)m, (long long)k, (long long)n,
             seed + (uint32_t)c);
    gop_run(&t, 1e-5, "g_mm_f32", what);
  }
}

static void conv_cases(uint32_t seed) {
  for (int c = 0; c < 8; c++) {
    tg t;
    tg_init(&t, seed + (uint32_t)c);
    int64_t group = c % 4 == 3 ? 1 : c % 4 == 2 ? 2 : 1;
    int dw = c % 4 == 1;
    int64_t cin_g = dw ? 1 : tg_rnd_in(&t, 1, 7);
    int64_t cout_g = dw ? 1 : tg_rnd_in(&t, 1, 19);
    int64_t ch = dw ? tg_rnd_in(&t, 2, 21) : group * cin_g;
    if (dw) group = ch;
    int64_t kk = tg_rnd_in(&t, 1, 3), st = tg_rnd_in(&t, 1, 2);
    int64_t dx[4] = {tg_rnd_in(&t, 1, 2), ch, tg_rnd_in(&t, 3, 9),
                     tg_rnd_in(&t, 3, 9)};
    int64_t dwt[4] = {group * cout_g, cin_g, kk, kk}, db[1] = {group * cout_g};
    ir_tensor_id in[3], out;
    in[0] = f32_input(&t, 4, dx);
    in[1] = f32_const(&t, 4, dwt);
    in[2] = f32_const(&t, 1, db);
    ir_node_id nid = tg_node(&t, IR_OP_CONV, 11, in, 3, 1, &out);
    int64_t k3[3] = {1, kk, kk}, s3[3] = {1, st, st};
    int64_t p[6] = {0, kk / 2, kk / 2, 0, (kk - 1) / 2, kk / 2};
    kt_attr_window(t.g, nid, 2, k3, s3, NULL, NULL, p);
    kt_attr_int(t.g, nid, "group", group);
    char what[128];
    snprintf(what, sizeof what,
             "Conv group %lld cin_g %lld cout_g %lld k %lld s %lld %lldx%lld "
             "(seed %u)",
             (long long)group, (long long)cin_g, (long long)cout_g,
             (long long)kk, (long long)st, (long long)dx[2], (long long)dx[3],
             seed + (uint32_t)c);
    gop_run(&t, 1e-5, "g_conv_f32", what);
  }
}

static void reduce_cases(uint32_t seed) {
  static const ir_op ops[] = {IR_OP_REDUCE_MEAN, IR_OP_REDUCE_MAX,
                              IR_OP_REDUCE_MIN};
  for (int c = 0; c < 6; c++) {
    tg t;
    tg_init(&t, seed + (uint32_t)c);
    int64_t d[3] = {tg_rnd_in(&t, 1, 3), tg_rnd_in(&t, 1, 17),
                    tg_rnd_in(&t, 1, 40)};
    int64_t axes[2] = {c % 3, (c + 1) % 3};
    int k = c < 3 ? 1 : 2;
    ir_tensor_id in = f32_input(&t, 3, d), out;
    ir_node_id nid = tg_node(&t, ops[c % 3], 13, &in, 1, 1, &out);
    kt_attr_ints(t.g, nid, "axes", axes, k);
    kt_attr_int(t.g, nid, "keepdims", c % 2);
    char what[96];
    snprintf(what, sizeof what, "Reduce op %d %lldx%lldx%lld axes %d (seed %u)",
             (int)ops[c % 3], (long long)d[0], (long long)d[1],
             (long long)d[2], k, seed + (uint32_t)c);
    gop_run(&t, c % 3 ? 0 : 1e-5, "g_red_f32", what);
  }
}

int main(void) {
  binary_cases(100);
  pool_cases(200);
  norm_cases(300);
  product_cases(400);
  conv_cases(500);
  reduce_cases(600);
  printf("test_gpu_ops: %d cases\n", cases);
  return check_report("test_gpu_ops");
}
