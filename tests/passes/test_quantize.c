/* test_quantize.c — the quantise pass (calibrated fp32 → QDQ) and qdq-fold
 * after it, on the sample CNNs, with calibration tables the test builds
 * itself (min/max through the interpreter's observe hook), so it does not
 * depend on passes/calibrate.c.
 *
 * Per model:
 *  - u8 (default) and s8 schemes: every Conv/Gemm becomes QLinearConv/
 *    QGemm, no float Conv/Gemm is left, weights are int8 per channel, and
 *    activations have the scheme's type (s8: zero point 0);
 *  - the quantised graph (reference interpreter, DESIGN §5 semantics) keeps
 *    the fp32 top-1 on the calibration inputs and on held-out ones, with an
 *    output SQNR above 15 dB;
 *  - the per-layer table: one row per node, requested/chosen/why; an
 *    override --layer-precision NAME=fp32 keeps that Conv float;
 *  - a missing range makes a layer fall back to float, and with
 *    --strict-precision the build fails naming it.
 * Budget: a few seconds under ASan (32x32 inputs, 8 + 8 samples).
 *
 * usage: test_quantize MODEL INPUT.npy [MODEL INPUT.npy ...]
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "ir.h"
#include "passes.h"
#include "quantize.h"

#define N_CALIB 8
#define N_HELD 8

typedef struct collect {
  calib_table *t;
} collect;

static void observe(void *ctx, const ir_graph *g, ir_tensor_id t,
                    const ir_value *v) {
  (void)g;
  calib_table *tab = ((collect *)ctx)->t;
  if (t >= tab->n || v->dtype != IR_F32) return;
  calib_range *r = &tab->r[t];
  size_t n = ir_shape_numel(&v->shape);
  for (size_t i = 0; i < n; i++) {
    float x = ((const float *)v->data)[i];
    if (!isfinite(x)) continue;
    if (!r->valid) {
      r->valid = true;
      r->min = r->max = x;
    }
    if (x < r->min) r->min = x;
    if (x > r->max) r->max = x;
  }
  r->lo = r->min;
  r->hi = r->max;
}

/* Sample |k|: the model's input with a smooth per-sample perturbation. */
static void make_input(const ir_value *base, int k, ir_value *out) {
  CHECK_OK(ir_value_copy(out, base));
  size_t n = ir_shape_numel(&base->shape);
  uint32_t st = 2654435761u * (uint32_t)(k + 1);
  float gain = 0.7f + 0.05f * (float)(k % 12);
  for (size_t i = 0; i < n; i++) {
    st = st * 1664525u + 1013904223u;
    float noise = ((float)(st >> 8) / 16777216.0f - 0.5f) * 0.6f;
    float wave = 0.4f * sinf(0.05f * (float)i * (float)(1 + k % 5));
    ((float *)out->data)[i] = ((float *)base->data)[i] * gain + noise + wave;
  }
}

static void prepare(ir_graph *g) {
  pass_options po = {.verify = true};
  CHECK_OK(pass_fold(g, &po));
  CHECK_OK(pass_fold_bn(g, &po));
  CHECK_OK(pass_simplify(g, &po));
  CHECK_OK(pass_static_shapes(g, &po));
}

static int argmax(const ir_value *v) {
  const float *p = v->data;
  size_t n = ir_shape_numel(&v->shape);
  int best = 0;
  for (size_t i = 1; i < n; i++)
    if (p[i] > p[best]) best = (int)i;
  return best;
}

static int count_op(const ir_graph *g, ir_op op) {
  int c = 0;
  for (ir_node_id nid = 1; nid < g->n_nodes; nid++) c += g->nodes[nid].op == op;
  return c;
}

/* Quantises a copy of |model| with |q| (table from |tab|) and returns it. */
static ir_graph *quantize(const char *model, quant_options *q,
                          ingot_status *out_s) {
  ir_graph *g = NULL;
  CHECK_OK(ir_import_onnx_file(model, NULL, &g));
  if (!g) return NULL;
  prepare(g);
  pass_options po = {.verify = true, .int8 = q};
  ingot_status s = pass_quantize(g, &po);
  if (!s) s = ir_verify(g);
  if (!s) s = pass_qdq_fold(g, &po);
  if (!s) s = ir_verify(g);
  *out_s = s;
  return g;
}

static void check_model(const char *model, const char *input) {
  ir_graph *f = NULL;
  CHECK_OK(ir_import_onnx_file(model, NULL, &f));
  if (!f) return;
  prepare(f);
  int convs = count_op(f, IR_OP_CONV), gemms = count_op(f, IR_OP_GEMM);
  ir_value base = {0};
  CHECK_OK(ir_read_npy(input, &base));
  /* Calibrate (min/max) on N_CALIB samples. */
  calib_table tab = {.n = f->n_tensors};
  tab.r = calloc(f->n_tensors, sizeof *tab.r);
  collect cc = {&tab};
  ir_interp_options io = {.observe = observe, .observe_ctx = &cc};
  ir_value ins[N_CALIB + N_HELD];
  int ref_top[N_CALIB + N_HELD];
  ir_value ref_out[N_CALIB + N_HELD];
  for (int k = 0; k < N_CALIB + N_HELD; k++) {
    make_input(&base, k, &ins[k]);
    memset(&ref_out[k], 0, sizeof ref_out[k]);
    if (k < N_CALIB) observe(&cc, f, f->inputs[0], &ins[k]);
    CHECK_OK(ir_interp_run(f, &ins[k], &ref_out[k], k < N_CALIB ? &io : NULL));
    ref_top[k] = argmax(&ref_out[k]);
  }
  for (int scheme = 0; scheme < 2; scheme++) {
    quant_report rep = {0};
    quant_options q = {.int8 = true, .act = (quant_act_scheme)scheme,
                       .table = &tab, .report = &rep};
    ingot_status s;
    ir_graph *g = quantize(model, &q, &s);
    CHECK_OK(s);
    if (!g) continue;
    CHECK(count_op(g, IR_OP_QLINEAR_CONV) == convs);
    CHECK(count_op(g, IR_OP_CONV) == 0);
    CHECK(count_op(g, IR_OP_QGEMM) == gemms);
    CHECK(count_op(g, IR_OP_GEMM) == 0);
    for (ir_node_id nid = 1; nid < g->n_nodes; nid++) {
      const ir_node *n = &g->nodes[nid];
      if (n->op != IR_OP_QLINEAR_CONV) continue;
      CHECK(g->tensors[n->in[3]].dtype == IR_I8);          /* weights */
      CHECK(g->tensors[n->in[0]].dtype ==
            (scheme ? IR_I8 : IR_U8));                     /* activations */
      if (scheme) CHECK(ir_load_i64(g->tensors[n->in[2]].dtype,
                                    g->tensors[n->in[2]].data, 0) == 0);
      CHECK(g->tensors[n->in[4]].shape.rank == 1);         /* per channel */
    }
    int agree = 0;
    double sig = 0, err = 0;
    for (int k = 0; k < N_CALIB + N_HELD; k++) {
      ir_value o = {0};
      CHECK_OK(ir_interp_run(g, &ins[k], &o, NULL));
      if (!o.data) continue;
      agree += argmax(&o) == ref_top[k];
      size_t n = ir_shape_numel(&o.shape);
      for (size_t i = 0; i < n; i++) {
        double a = ((float *)ref_out[k].data)[i], b = ((float *)o.data)[i];
        sig += a * a;
        err += (a - b) * (a - b);
      }
      ir_value_free(&o);
    }
    double sqnr = 10 * log10(sig / (err > 0 ? err : 1e-30));
    printf("%s (%s): top-1 agreement %d/%d, SQNR %.1f dB, %d layers in the "
           "table\n",
           model, scheme ? "s8" : "u8", agree, N_CALIB + N_HELD, sqnr, rep.n);
    CHECK(agree == N_CALIB + N_HELD);
    CHECK(sqnr > 15.0);
    int int8_rows = 0;
    for (int i = 0; i < rep.n; i++) int8_rows += rep.rows[i].int8;
    CHECK(int8_rows >= convs + gemms);
    quant_report_free(&rep);
    ir_graph_destroy(g);
  }
  /* --layer-precision FIRSTCONV=fp32 keeps it float. */
  const char *first = NULL;
  for (ir_node_id nid = 1; nid < f->n_nodes && !first; nid++)
    if (f->nodes[nid].op == IR_OP_CONV) first = f->nodes[nid].name;
  quant_override ov;
  char arg[300];
  snprintf(arg, sizeof arg, "%s=fp32", first ? first : "");
  CHECK_OK(quant_parse_override(arg, &ov));
  quant_report rep = {0};
  quant_options q = {.int8 = true, .table = &tab, .report = &rep,
                     .overrides = &ov, .n_overrides = 1, .strict = true};
  ingot_status s;
  ir_graph *g = quantize(model, &q, &s);
  CHECK_OK(s); /* requested fp32: strict is satisfied */
  if (g) {
    CHECK(count_op(g, IR_OP_CONV) == 1);
    CHECK(count_op(g, IR_OP_QLINEAR_CONV) == convs - 1);
    bool found = false;
    for (int i = 0; i < rep.n; i++)
      if (!strcmp(rep.rows[i].node, first)) {
        found = true;
        CHECK(!rep.rows[i].req_int8 && !rep.rows[i].int8);
        CHECK(strstr(rep.rows[i].why, "--layer-precision") != NULL);
      }
    CHECK(found);
    ir_graph_destroy(g);
  }
  quant_report_free(&rep);
  /* A layer whose output has no range stays float; strict refuses it. */
  ir_tensor_id victim = f->inputs[0]; /* the stem Conv's input */
  calib_range saved = tab.r[victim];
  tab.r[victim].valid = false;
  quant_options q2 = {.int8 = true, .table = &tab, .strict = true,
                      .report = &rep};
  g = quantize(model, &q2, &s);
  CHECK(s != NULL);
  if (s) {
    const char *m = ingot_status_message(s);
    CHECK(strstr(m, "--strict-precision") && strstr(m, "no calibration range"));
    printf("strict: %s\n", m);
    ingot_status_free(s);
  }
  ir_graph_destroy(g);
  quant_report_free(&rep);
  q2.strict = false;
  g = quantize(model, &q2, &s);
  CHECK_OK(s);
  if (g) CHECK(count_op(g, IR_OP_CONV) == 1);
  ir_graph_destroy(g);
  quant_report_free(&rep);
  tab.r[victim] = saved;
  /* --int8 without a table on a float model: the error says why. */
  quant_options q3 = {.int8 = true};
  g = quantize(model, &q3, &s);
  CHECK(s != NULL && strstr(ingot_status_message(s), "--calib"));
  ingot_status_free(s);
  ir_graph_destroy(g);

  for (int k = 0; k < N_CALIB + N_HELD; k++) {
    ir_value_free(&ins[k]);
    ir_value_free(&ref_out[k]);
  }
  free(tab.r);
  ir_value_free(&base);
  ir_graph_destroy(f);
}

int main(int argc, char **argv) {
  if (argc < 3 || argc % 2 == 0) {
    fprintf(stderr, "usage: test_quantize MODEL INPUT.npy ...\n");
    return 2;
  }
  for (int i = 1; i + 1 < argc; i += 2) check_model(argv[i], argv[i + 1]);
  return check_report("test_quantize");
}
