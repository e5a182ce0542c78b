/* test_gpu_ptx.c — the GPU templates specialised per step into PTX
 * (codegen/gpu.c) for every --sm, and every PTX module assembled by ptxas
 * for sm_80 and sm_90 (Done-means 2 of issue 7).
 *
 * The steps come from real plans: int8 convolutions (3x3 with padding and
 * stride, grouped, depthwise, 1x1), QLinearMatMul with odd sizes and
 * weight zero points (the Σa correction and its warp shuffles) and the
 * layout conversions around them, planned for the generic target as
 * `ingot build --target cuda` plans.  Each plan's steps map to GPU
 * templates (cg_gpu_step_of), one module per sm is emitted, and checked:
 * PTX text with one .entry per step for the right .target; ptxas accepts
 * it and reports every kernel (registers > 0; the g_qconv steps' static
 * shared memory equals the launch's); bad --sm values are refused naming
 * the value.  Without ptxas (no /usr/local/cuda/bin/ptxas, $INGOT_PTXAS or
 * ptxas on PATH) the PTX part runs and the test says ptxas was skipped.
 */
#include "gpu.h"
#include "kt_graph.h"
#include "nvptx/nvptx.h"

static int ptxas_runs;

/* One-op int8 graph: QLinearConv (conv) or QLinearMatMul. */
static ir_graph *qgraph(bool conv, int64_t n, int64_t c, int64_t m,
                        int64_t group, int64_t h, int64_t w, int64_t k,
                        int64_t s, int64_t pad, int wzp, ir_value *xv,
                        ir_value *vals, int *nvals) {
  ir_graph *g = kt_graph_new();
  int64_t one = 1;
  int nv = 0;
  if (conv) {
    int64_t xd[4] = {n, c, h, w}, wd[4] = {m, c / group, k, k};
    *xv = kt_value(IR_U8, 4, xd);
    vals[nv++] = kt_value(IR_I8, 4, wd);
  } else {
    int64_t xd[2] = {h, c}, wd[2] = {c, m};
    *xv = kt_value(IR_U8, 2, xd);
    vals[nv++] = kt_value(IR_I8, 2, wd);
  }
  const char *names[7] = {"w", "xs", "xz", "ws", "wz", "ys", "yz"};
  ir_dtype dts[6] = {IR_F32, IR_U8, IR_F32, IR_I8, IR_F32, IR_U8};
  double v[6] = {0.02, 7, 0.01, wzp, 0.5, 100};
  for (int i = 0; i < 6; i++) {
    vals[nv] = kt_alloc_value(dts[i], 0, &one);
    ir_store_f64(dts[i], vals[nv].data, 0, v[i]);
    nv++;
  }
  ir_tensor_id in[9];
  in[0] = kt_input(g, "x", xv);
  in[3] = kt_const(g, names[0], &vals[0]);
  in[1] = kt_const(g, names[1], &vals[1]);
  in[2] = kt_const(g, names[2], &vals[2]);
  in[4] = kt_const(g, names[3], &vals[3]);
  in[5] = kt_const(g, names[4], &vals[4]);
  in[6] = kt_const(g, names[5], &vals[5]);
  in[7] = kt_const(g, names[6], &vals[6]);
  ir_tensor_id out = kt_tensor(g, "y", true);
  ir_node_id nid = kt_node(g, conv ? IR_OP_QLINEAR_CONV : IR_OP_QLINEAR_MATMUL,
                           in, 8, &out, 1);
  if (conv) {
    int64_t kk[3] = {1, k, k}, ss[3] = {1, s, s}, dd[3] = {1, 1, 1};
    int64_t pads[6] = {0, pad, pad, 0, pad, pad};
    kt_attr_window(g, nid, 2, kk, ss, dd, NULL, pads);
    kt_attr_int(g, nid, "group", group);
  }
  CHECK_OK(kt_finish(g));
  *nvals = nv;
  return g;
}

/* The module for sm_|sm| of an engine whose lowest sm is |lowest| (75:
 * every product on g_qconv, dp4a; >= 80: g_qconv_mma where K fits). */
static void check_ptx(const char *what, const cg_plan *p, uint32_t sm,
                      uint32_t lowest, const char *ptxas) {
  cg_gpu_module *m = NULL;
  CHECK_OK(cg_gpu_module_create(sm, &m));
  if (!m) return;
  cg_gpu_step gs[16];
  uint32_t ns = p->n_steps < 16 ? p->n_steps : 16;
  for (uint32_t k = 0; k < ns; k++) {
    CHECK_OK(cg_gpu_step_for(p->steps[k].kernel, p->descs[k],
                             p->desc_sizes[k], lowest, &gs[k]));
    char sym[64];
    snprintf(sym, sizeof sym, "gk_%u", k);
    CHECK_OK(cg_gpu_module_add_step(m, sym, gs[k].kernel, p->descs[k],
                                    p->desc_sizes[k]));
  }
  char *ptx = NULL;
  size_t n = 0;
  CHECK_OK(cg_gpu_module_emit(m, &ptx, &n));
  cg_gpu_module_destroy(m);
  if (!ptx) return;
  char target[32];
  snprintf(target, sizeof target, ".target sm_%u", sm);
  CHECK(strstr(ptx, target) != NULL);
  uint32_t entries = 0;
  for (const char *q = ptx; (q = strstr(q, ".entry ")); q++) entries++;
  if (entries != ns) {
    fprintf(stderr, "%s sm_%u: %u .entry in the PTX, want %u\n", what, sm,
            entries, ns);
    check_failures++;
  }
  for (uint32_t k = 0; k < ns; k++)
    if (strcmp(gs[k].kernel, "g_qconv") == 0 && !strstr(ptx, "dp4a.u32.s32")) {
      fprintf(stderr, "%s sm_%u: g_qconv without dp4a\n", what, sm);
      check_failures++;
    }
  for (uint32_t k = 0; k < ns; k++) {
    const char *mma = "mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32";
    int is_mma = strcmp(gs[k].kernel, "g_qconv_mma") == 0;
    if (is_mma != (lowest >= 80 && strcmp(p->steps[k].kernel, "k_qconv") == 0 &&
                   ((const k_q8_desc *)p->descs[k])->kp >= 32)) {
      fprintf(stderr, "%s sm_%u (lowest %u): step %u runs %s, against the "
                      "choice rule\n", what, sm, lowest, k, gs[k].kernel);
      check_failures++;
    }
    if (is_mma && !strstr(ptx, mma)) {
      fprintf(stderr, "%s sm_%u: g_qconv_mma without %s\n", what, sm, mma);
      check_failures++;
    }
  }
  /* The reductions run on warp shuffles (and g_gpool on a barrier). */
  for (uint32_t k = 0; k < ns; k++) {
    const char *kn = gs[k].kernel;
    int red = !strcmp(kn, "g_softmax") || !strcmp(kn, "g_layernorm") ||
              !strcmp(kn, "g_gpool");
    if ((red && !strstr(ptx, "shfl.sync.bfly")) ||
        (!strcmp(kn, "g_gpool") && !strstr(ptx, "bar.sync"))) {
      fprintf(stderr, "%s sm_%u: %s without shfl.sync/bar.sync\n", what, sm,
              kn);
      check_failures++;
    }
  }
  /* A weight zero point needs the Σa term, reduced with warp shuffles. */
  for (uint32_t k = 0; k < ns; k++)
    if (strcmp(gs[k].kernel, "g_qconv") == 0 &&
        ((const k_q8_desc *)p->descs[k])->has_corr &&
        !strstr(ptx, "shfl.sync.bfly")) {
      fprintf(stderr, "%s sm_%u: Σa correction without shfl.sync\n", what,
              sm);
      check_failures++;
    }
  if (ptxas && (sm == 80 || sm == 90)) {
    void *cubin = NULL;
    size_t cn = 0, nk = 0;
    cg_ptxas_kernel *ks = NULL;
    ingot_status s = cg_ptxas_run(ptxas, ptx, n, sm, &cubin, &cn, &ks, &nk);
    char label[160];
    snprintf(label, sizeof label, "%s: ptxas sm_%u", what, sm);
    if (kt_ok(s, label)) {
      ptxas_runs++;
      CHECK(cn > 0);
      CHECK(nk == ns);
      for (size_t i = 0; i < nk; i++) {
        CHECK(ks[i].registers > 0);
        uint32_t k = (uint32_t)atoi(ks[i].name + 3);
        if (k < ns && (strcmp(gs[k].kernel, "g_qconv") == 0 ||
                       strcmp(gs[k].kernel, "g_qconv_mma") == 0 ||
                       strcmp(gs[k].kernel, "g_gpool") == 0) &&
            ks[i].shared_bytes != gs[k].smem) {
          fprintf(stderr, "%s: %s uses %u bytes of shared memory, the launch "
                          "gives %u\n",
                  label, ks[i].name, ks[i].shared_bytes, gs[k].smem);
          check_failures++;
        }
        if (getenv("KT_VERBOSE"))
          printf("%s %s: %u registers, %u bytes smem, %u stack, spills %u/%u\n",
                 label, ks[i].name, ks[i].registers, ks[i].shared_bytes,
                 ks[i].stack_bytes, ks[i].spill_stores, ks[i].spill_loads);
      }
    } else {
      check_failures++;
    }
    free(cubin);
    free(ks);
  }
  free(ptx);
}

static void plan_case(const char *what, bool conv, int64_t n, int64_t c,
                      int64_t m, int64_t group, int64_t h, int64_t w,
                      int64_t k, int64_t s, int64_t pad, int wzp,
                      const char *ptxas) {
  ir_value x, vals[8];
  int nv = 0;
  ir_graph *g = qgraph(conv, n, c, m, group, h, w, k, s, pad, wzp, &x, vals,
                       &nv);
  cg_target t;
  CHECK_OK(cg_target_named("x86-64", &t));
  cg_plan *p = NULL;
  CHECK_OK(cg_plan_build(g, &t, NULL, &p));
  static const uint32_t sms[] = {80, 86, 89, 90};
  for (size_t i = 0; p && i < sizeof sms / sizeof sms[0]; i++)
    check_ptx(what, p, sms[i], sms[i], ptxas);
  if (p) check_ptx(what, p, 80, 75, ptxas); /* dp4a, as with --sm 75,... */
  if (p) check_ptx(what, p, 90, 75, ptxas);
  cg_plan_destroy(p);
  ir_graph_destroy(g);
  ir_value_free(&x);
  for (int i = 0; i < nv; i++) ir_value_free(&vals[i]);
}

/* float32 graphs whose steps use the other GPU kernels: Softmax ->
 * LayerNorm -> MatMul -> Add (g_softmax, g_layernorm, g_mm_f32 with the
 * Add fused into its epilogue), and Conv -> GlobalAveragePool ->
 * QuantizeLinear -> DequantizeLinear (g_relayout, g_conv_f32, g_gpool,
 * g_q_quantize, g_q_dequantize: a task grid running generic code). */
static void float_case(int which, const char *ptxas) {
  tg t;
  tg_init(&t, 7 + (uint32_t)which);
  ir_tensor_id in[3], a, b, c;
  const char *what;
  if (which == 0) {
    int64_t xd[3] = {2, 6, 33}, sd[1] = {33}, wd[2] = {33, 9}, bd[1] = {9};
    in[0] = tg_input(&t, IR_F32, 3, xd);
    a = kt_tensor(t.g, "sm", false);
    kt_node(t.g, IR_OP_SOFTMAX, in, 1, &a, 1);
    ir_value sv = kt_value(IR_F32, 1, sd), wv = kt_value(IR_F32, 2, wd),
             bv = kt_value(IR_F32, 1, bd);
    ir_tensor_id ln[3] = {a, tg_const(&t, &sv), tg_const(&t, &sv)};
    b = kt_tensor(t.g, "ln", false);
    ir_node_id l = kt_node(t.g, IR_OP_LAYER_NORM, ln, 3, &b, 1);
    kt_attr_int(t.g, l, "axis", -1);
    t.g->nodes[l].opset = 17;
    ir_tensor_id mm[2] = {b, tg_const(&t, &wv)};
    c = kt_tensor(t.g, "mm", false);
    kt_node(t.g, IR_OP_MATMUL, mm, 2, &c, 1);
    ir_tensor_id add[2] = {c, tg_const(&t, &bv)}, y;
    tg_node(&t, IR_OP_ADD, 13, add, 2, 1, &y);
    ir_value_free(&sv), ir_value_free(&wv), ir_value_free(&bv);
    what = "fp32 Softmax/LayerNorm/MatMul/Add";
  } else {
    int64_t xd[4] = {1, 5, 6, 7}, wd[4] = {11, 5, 3, 3}, one = 1;
    in[0] = tg_input(&t, IR_F32, 4, xd);
    ir_value wv = kt_value(IR_F32, 4, wd);
    ir_value sc = kt_alloc_value(IR_F32, 0, &one);
    ir_value zp = kt_alloc_value(IR_U8, 0, &one);
    ((float *)sc.data)[0] = 0.05f;
    ((uint8_t *)zp.data)[0] = 128;
    ir_tensor_id cv[2] = {in[0], tg_const(&t, &wv)};
    a = kt_tensor(t.g, "conv", false);
    ir_node_id nid = kt_node(t.g, IR_OP_CONV, cv, 2, &a, 1);
    int64_t kk[3] = {1, 3, 3}, ss[3] = {1, 1, 1}, pads[6] = {0, 1, 1, 0, 1, 1};
    kt_attr_window(t.g, nid, 2, kk, ss, NULL, NULL, pads);
    b = kt_tensor(t.g, "gap", false);
    kt_node(t.g, IR_OP_GLOBAL_AVERAGE_POOL, &a, 1, &b, 1);
    ir_tensor_id q[3] = {b, tg_const(&t, &sc), tg_const(&t, &zp)};
    c = kt_tensor(t.g, "q", false);
    kt_node(t.g, IR_OP_QUANTIZE_LINEAR, q, 3, &c, 1);
    ir_tensor_id dq[3] = {c, q[1], q[2]}, y;
    tg_node(&t, IR_OP_DEQUANTIZE_LINEAR, 13, dq, 3, 1, &y);
    ir_value_free(&wv), ir_value_free(&sc), ir_value_free(&zp);
    what = "fp32 Conv/GlobalAveragePool/Quantize/Dequantize";
  }
  CHECK_OK(kt_finish(t.g));
  cg_target tgt;
  CHECK_OK(cg_target_named("x86-64", &tgt));
  cg_plan *p = NULL;
  CHECK_OK(cg_plan_build(t.g, &tgt, NULL, &p));
  static const char *want[2][4] = {
      {"g_softmax", "g_layernorm", "g_mm_f32", NULL},
      {"g_conv_f32", "g_gpool", "g_q_quantize", "g_q_dequantize"}};
  char names[256] = "";
  for (uint32_t k = 0; p && k < p->n_steps; k++) {
    cg_gpu_step gs;
    CHECK_OK(cg_gpu_step_of(p->steps[k].kernel, p->descs[k],
                            p->desc_sizes[k], &gs));
    if (gs.kernel && strlen(names) + strlen(gs.kernel) + 2 < sizeof names)
      strcat(strcat(names, gs.kernel), "|");
  }
  for (int i = 0; i < 4; i++)
    if (want[which][i] && !strstr(names, want[which][i])) {
      fprintf(stderr, "%s: no %s step (%s)\n", what, want[which][i], names);
      check_failures++;
    }
  static const uint32_t sms[] = {80, 90};
  for (size_t i = 0; p && i < sizeof sms / sizeof sms[0]; i++)
    check_ptx(what, p, sms[i], sms[i], ptxas);
  cg_plan_destroy(p);
  ir_graph_destroy(t.g);
  kt_free_values(t.vals, t.nin);
}

static void bad_sm(void) {
  static const char *bad[] = {"70", "sm_100", "81", "80,x", "", "80,,90"};
  uint32_t v[8];
  size_t n;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ingot_status s = cg_gpu_parse_sm(bad[i], v, 8, &n);
    if (!s || ingot_status_code_of(s) != INGOT_INVALID_ARGUMENT ||
        !strstr(ingot_status_message(s), "--sm")) {
      fprintf(stderr, "--sm '%s': got %s, want an --sm error\n", bad[i],
              s ? ingot_status_message(s) : "OK");
      check_failures++;
    }
    ingot_status_free(s);
  }
  CHECK_OK(cg_gpu_parse_sm("90,sm_80,86,89,80", v, 8, &n));
  CHECK(n == 4 && v[0] == 80 && v[1] == 86 && v[2] == 89 && v[3] == 90);
}

/* A template without a GPU kernel (DynamicQuantizeLinear's) and a
 * descriptor of the wrong size are errors naming the template. */
static void no_gpu_kernel(void) {
  static const uint8_t desc[512];
  cg_gpu_step gs;
  ingot_status s = cg_gpu_step_of("k_q_dynamic", desc, 64, &gs);
  CHECK(s && ingot_status_code_of(s) == INGOT_UNIMPLEMENTED &&
        strstr(ingot_status_message(s), "k_q_dynamic"));
  ingot_status_free(s);
  s = cg_gpu_step_of("k_norm_layer", desc, 3, &gs);
  CHECK(s && strstr(ingot_status_message(s), "k_norm_layer"));
  ingot_status_free(s);
}

int main(void) {
  char buf[512];
  const char *ptxas = cg_ptxas_find(buf, sizeof buf);
  if (!ptxas)
    printf("ptxas not found (/usr/local/cuda/bin/ptxas, $INGOT_PTXAS, PATH): "
           "PTX is emitted and checked, ptxas is SKIPPED\n");
  else
    printf("ptxas: %s (sm_80 and sm_90)\n", ptxas);
  bad_sm();
  no_gpu_kernel();
  plan_case("QLinearConv 3x3 s2 p1 19->37", true, 1, 19, 37, 1, 9, 7, 3, 2, 1,
            0, ptxas);
  plan_case("QLinearConv grouped 3x3 12->18 g3", true, 2, 12, 18, 3, 5, 5, 3,
            1, 1, 0, ptxas);
  plan_case("QLinearConv dw 3x3 24", true, 1, 24, 24, 24, 6, 6, 3, 1, 1, 0,
            ptxas);
  plan_case("QLinearConv 1x1 64->33", true, 1, 64, 33, 1, 4, 4, 1, 1, 0, 0,
            ptxas);
  plan_case("QLinearMatMul 23x45x17 zw 3", false, 0, 45, 17, 1, 23, 0, 0, 0,
            0, 3, ptxas);
  float_case(0, ptxas);
  float_case(1, ptxas);
  printf("%d ptxas run(s)\n", ptxas_runs);
  return check_report("test_gpu_ptx");
}
