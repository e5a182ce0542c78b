/* precision.c — accuracy-driven mixed precision (DESIGN.md §4 "precision";
 * docs/accuracy.md "Mixed precision").
 *
 * `ingot build --int8 --calib DATA --accuracy-target sqnr=DB|top1=FRAC`
 * and `--sensitivity-report FILE` call quant_search from the quantise pass,
 * on the calibrated fp32 graph, before it is quantised:
 *
 *  1. The feeds of DATA are split: the calibrate pass took its ranges from
 *     the first three quarters ("calibration feeds"); the last quarter is
 *     held out.  The fp32 reference interpreter gives the reference outputs
 *     of up to SENS_MAX calibration feeds and of every held-out feed.
 *  2. Variants of the graph are built on copies (clone_graph: same tensor
 *     and node ids, so the calibration table still applies): the quantise
 *     and qdq-fold passes run with a per-node mask (quant_options.mask),
 *     and the reference interpreter runs the int8 graph they make.  That
 *     is the graph the engine computes bit-exactly (docs/int8.md), so the
 *     figures are the engine's.
 *  3. Candidates are the layers plain int8 makes int8 (not data movement,
 *     which follows its input, and not layers --layer-precision names).
 *     Sensitivity: each candidate int8 alone, the rest fp32, on the
 *     calibration feeds: the lowest output SQNR against fp32 and the top-1
 *     agreement of the classifier outputs ([N, classes], as ingot compare;
 *     the first output's last axis when there is none).  Ranked most damaging first (lowest
 *     SQNR).
 *  4. With a target: k = 0, 1, 2, ... of the ranked layers fall back to
 *     fp32 (the k most damaging) until the target holds on the held-out
 *     feeds.  The first k that holds is the answer: the fewest layers in
 *     ranking order.  A target that holds only with every candidate in fp32
 *     is unreachable (that is an fp32 engine, not an int8 one): the build
 *     stops with the best figure reached and the ranked list, unless
 *     --best-effort, which keeps the best configuration found.
 *  5. Each fallback's latency cost: measured when the caller gives
 *     q->measure (`ingot build` does, for the build machine: it builds a
 *     plain int8 and the chosen engine from two quantised copies and times
 *     every step with the runtime's profiler, compiler/measure_latency.c),
 *     as the time of the layer's steps in the chosen engine minus their
 *     time in the plain int8 one; and always from a cost model (the
 *     layer's MACs at this machine family's fp32 FMA and int8 VNNI peaks,
 *     ../shared/KERNEL-NOTES.md; elementwise layers: the 3 extra bytes per
 *     element at L2 bandwidth), an estimate that says so.  The
 *     measurement leaves out the QuantizeLinear/DequantizeLinear steps a
 *     fallback adds or removes at its edges (they are no layer's).
 *
 * Results: q->mask / q->mask_why for pass_quantize (the "why" column of
 * the per-layer table), q->report->search (summary lines for the log and
 * BUILD_INFO), and the CSV + SVG sensitivity report.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "params.h"
#include "passes.h"
#include "quantize.h"

enum { SENS_MAX = 32 }; /* calibration feeds the sensitivity runs use */

/* Cost model rates (KERNEL-NOTES.md, 1 core): ops per microsecond. */
#define FP32_OPS_PER_US 215e3 /* fp32 FMA zmm, 0.215 TFLOPS */
#define INT8_OPS_PER_US 860e3 /* AVX-512 VNNI, 0.86 TOPS */
#define L2_BYTES_PER_US 166e3 /* L2 read, 166 GB/s */

static ingot_status oom(void) {
  return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
}

/*===------------------------------------------------------------------===*/
/* Copies of the graph                                                     */
/*===------------------------------------------------------------------===*/

/* A copy of |src| with the same tensor and node ids.  Constant data,
 * attributes and parsed params are shared with |src| (read only; |src|
 * outlives the copy). */
static ingot_status clone_graph(const ir_graph *src, ir_graph **out) {
  ir_graph *g = NULL;
  INGOT_RETURN_IF_ERROR(ir_graph_create(&g));
  ingot_status s = NULL;
  for (ir_tensor_id t = 1; !s && t < src->n_tensors; t++) {
    ir_tensor_id id;
    s = ir_graph_add_tensor(g, src->tensors[t].name, &id);
    if (!s && id != t)
      s = ingot_make_status(INGOT_INTERNAL, "clone: tensor ids differ");
    if (s) break;
    const char *name = g->tensors[id].name;
    g->tensors[id] = src->tensors[t];
    g->tensors[id].name = name;
  }
  for (ir_node_id nid = 1; !s && nid < src->n_nodes; nid++) {
    const ir_node *n = &src->nodes[nid];
    ir_node_id id;
    s = ir_graph_add_node(g, n->op, n->name, n->in, n->n_in, n->out,
                          n->n_out, &id);
    if (s) break;
    ir_node *d = &g->nodes[id];
    d->domain = n->domain;
    d->opset = n->opset;
    d->n_attrs = n->n_attrs;
    d->attrs = n->attrs;
    d->params = n->params;
    d->fused = n->fused;
    d->compute = n->compute;
  }
  if (!s) {
    g->inputs = ir_arena_memdup(&g->arena, src->inputs,
                                (src->n_inputs + 1) * sizeof *src->inputs);
    g->outputs = ir_arena_memdup(&g->arena, src->outputs,
                                 (src->n_outputs + 1) * sizeof *src->outputs);
    if (!g->inputs || !g->outputs) s = oom();
    g->n_inputs = src->n_inputs;
    g->n_outputs = src->n_outputs;
    g->name = src->name;
    g->source_path = src->source_path;
    g->producer = src->producer;
    g->ir_version = src->ir_version;
    g->opset = src->opset;
  }
  if (s) {
    ir_graph_destroy(g);
    return s;
  }
  *out = g;
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Feeds and metrics                                                       */
/*===------------------------------------------------------------------===*/

typedef struct feedset {
  size_t n;
  ir_value **in;  /* [n][graph inputs] */
  ir_value **ref; /* [n][graph outputs]: fp32 reference outputs */
} feedset;

static void feedset_free(feedset *f, const ir_graph *g) {
  for (size_t k = 0; k < f->n; k++) {
    for (uint32_t i = 0; f->in && f->in[k] && i < g->n_inputs; i++)
      ir_value_free(&f->in[k][i]);
    for (uint32_t i = 0; f->ref && f->ref[k] && i < g->n_outputs; i++)
      ir_value_free(&f->ref[k][i]);
    if (f->in) free(f->in[k]);
    if (f->ref) free(f->ref[k]);
  }
  free(f->in);
  free(f->ref);
  memset(f, 0, sizeof *f);
}

/* Reads |count| feeds from |ds| into |f| and runs the fp32 graph on them. */
static ingot_status feedset_load(const ir_graph *g, ir_dataset *ds,
                                 size_t count, feedset *f) {
  f->in = calloc(count ? count : 1, sizeof *f->in);
  f->ref = calloc(count ? count : 1, sizeof *f->ref);
  if (!f->in || !f->ref) return oom();
  for (size_t k = 0; k < count; k++) {
    f->in[k] = calloc(g->n_inputs ? g->n_inputs : 1, sizeof **f->in);
    f->ref[k] = calloc(g->n_outputs ? g->n_outputs : 1, sizeof **f->ref);
    if (!f->in[k] || !f->ref[k]) return oom();
    f->n = k + 1;
    bool done = false;
    INGOT_RETURN_IF_ERROR(ir_dataset_next(ds, f->in[k], &done));
    if (done)
      return ingot_make_status(INGOT_INTERNAL, "accuracy search: the data "
                               "set ended early");
    ingot_status s = ir_interp_run(g, f->in[k], f->ref[k], NULL);
    if (s)
      return ingot_status_annotate(s, "accuracy search, sample %s: ",
                                   ir_dataset_last_file(ds));
  }
  return NULL;
}

typedef struct metrics {
  double sqnr; /* lowest over the float outputs, dB; INFINITY: exact */
  double top1; /* agreement of the first output's argmax rows */
} metrics;

static bool meets(const quant_target *t, const metrics *m) {
  if (t->kind == QUANT_TARGET_SQNR) return m->sqnr >= t->value;
  if (t->kind == QUANT_TARGET_TOP1) return m->top1 >= t->value;
  return true;
}

static double figure(const quant_target *t, const metrics *m) {
  return t->kind == QUANT_TARGET_TOP1 ? m->top1 : m->sqnr;
}

/* Runs |qg| over |f| and compares its outputs with the references. */
static ingot_status evaluate(const ir_graph *qg, const feedset *f,
                             metrics *out) {
  uint32_t no = qg->n_outputs;
  double *sig = calloc(no ? no : 1, sizeof *sig);
  double *err = calloc(no ? no : 1, sizeof *err);
  ir_value *o = calloc(no ? no : 1, sizeof *o);
  ingot_status s = (!sig || !err || !o) ? oom() : NULL;
  size_t rows = 0, agree = 0;
  /* top-1 over the classifier outputs ([N, classes], as ingot compare);
   * with none, over the first output's last axis. */
  bool any_cls = false;
  for (uint32_t i = 0; i < no; i++) {
    const ir_tensor *t = &qg->tensors[qg->outputs[i]];
    any_cls |= t->shape.rank == 2 && t->shape.dims[1] > 1;
  }
  for (size_t k = 0; !s && k < f->n; k++) {
    s = ir_interp_run(qg, f->in[k], o, NULL);
    if (s) break;
    for (uint32_t i = 0; i < no; i++) {
      const ir_value *r = &f->ref[k][i];
      size_t n = ir_shape_numel(&r->shape);
      if (r->dtype != IR_F32 || o[i].dtype != IR_F32 ||
          ir_shape_numel(&o[i].shape) != n)
        continue;
      const float *a = r->data, *b = o[i].data;
      for (size_t e = 0; e < n; e++) {
        double d = (double)a[e] - (double)b[e];
        sig[i] += (double)a[e] * a[e];
        err[i] += d * d;
      }
      bool cls = r->shape.rank == 2 && r->shape.dims[1] > 1;
      if ((cls || (!any_cls && i == 0)) && r->shape.rank > 0 && n) {
        size_t last = (size_t)r->shape.dims[r->shape.rank - 1];
        for (size_t row = 0; last && row < n / last; row++) {
          size_t ia = 0, ib = 0;
          for (size_t c = 1; c < last; c++) {
            if (a[row * last + c] > a[row * last + ia]) ia = c;
            if (b[row * last + c] > b[row * last + ib]) ib = c;
          }
          rows++;
          agree += ia == ib;
        }
      }
    }
    for (uint32_t i = 0; i < no; i++) ir_value_free(&o[i]);
  }
  if (!s) {
    out->sqnr = INFINITY;
    for (uint32_t i = 0; i < no; i++) {
      double q = err[i] > 0 ? 10.0 * log10(sig[i] / err[i]) : INFINITY;
      if (sig[i] <= 0 && err[i] > 0) q = -INFINITY;
      if (q < out->sqnr) out->sqnr = q;
    }
    out->top1 = rows ? (double)agree / (double)rows : 1.0;
  }
  free(sig);
  free(err);
  free(o);
  return s;
}

/*===------------------------------------------------------------------===*/
/* Variants                                                                */
/*===------------------------------------------------------------------===*/

typedef struct search {
  const ir_graph *g;
  const quant_options *q;
  feedset sens, held;
} search;

/* Quantises a copy of the graph with |mask| (NULL: plain int8), optionally
 * filling |rep|, into *out (the caller destroys it). */
static ingot_status variant_graph(search *S, const int8_t *mask,
                                  quant_report *rep, ir_graph **out) {
  ir_graph *c = NULL;
  INGOT_RETURN_IF_ERROR(clone_graph(S->g, &c));
  quant_options lq = *S->q;
  lq.mask = mask;
  lq.n_mask = S->g->n_nodes;
  lq.mask_why = NULL;
  lq.target.kind = QUANT_TARGET_NONE;
  lq.sensitivity_report = NULL;
  lq.strict = false;
  lq.report = rep;
  pass_options po = {.int8 = &lq};
  ingot_status s = pass_quantize(c, &po);
  if (!s) s = pass_qdq_fold(c, &po);
  /* The rows name the copy's nodes: point them at |g|'s (row i is node
   * i + 1 of the graph before quantisation, the same ids in both). */
  for (int i = 0; rep && i < rep->n; i++)
    rep->rows[i].node = (uint32_t)i + 1 < S->g->n_nodes
                            ? S->g->nodes[i + 1].name
                            : "";
  if (s) {
    ir_graph_destroy(c);
    return s;
  }
  *out = c;
  return NULL;
}

/* variant_graph, measured on |f| (when given). */
static ingot_status variant(search *S, const int8_t *mask, quant_report *rep,
                            const feedset *f, metrics *m) {
  ir_graph *c = NULL;
  INGOT_RETURN_IF_ERROR(variant_graph(S, mask, rep, &c));
  ingot_status s = f ? evaluate(c, f, m) : NULL;
  ir_graph_destroy(c);
  return s;
}

/*===------------------------------------------------------------------===*/
/* Cost model                                                              */
/*===------------------------------------------------------------------===*/

static double numel_of(const ir_graph *g, ir_tensor_id t) {
  return t ? (double)ir_shape_numel(&g->tensors[t].shape) : 0;
}

/* Estimated extra microseconds of running node |nid| in fp32, not int8. */
static double fallback_cost_us(const ir_graph *g, ir_node_id nid) {
  const ir_node *n = &g->nodes[nid];
  double out = numel_of(g, n->out[0]);
  double macs = 0;
  if (n->op == IR_OP_CONV && n->n_in > 1) {
    const ir_tensor *w = &g->tensors[n->in[1]];
    if (w->shape.rank > 0 && w->shape.dims[0] > 0)
      macs = out * numel_of(g, n->in[1]) / (double)w->shape.dims[0];
  } else if ((n->op == IR_OP_MATMUL || n->op == IR_OP_GEMM) && n->n_in > 1) {
    const ir_tensor *a = &g->tensors[n->in[0]];
    if (a->shape.rank > 0) {
      int64_t k = a->shape.dims[a->shape.rank - 1];
      if (n->op == IR_OP_GEMM && a->shape.rank == 2 &&
          ((const ir_p_gemm *)n->params)->trans_a)
        k = a->shape.dims[0];
      macs = out * (double)k;
    }
  }
  if (macs > 0) return 2 * macs / FP32_OPS_PER_US - 2 * macs / INT8_OPS_PER_US;
  double bytes = out;
  for (int k = 0; k < n->n_in; k++) bytes += numel_of(g, n->in[k]);
  return 3 * bytes / L2_BYTES_PER_US;
}

/* The mask value of a fallback of node |nid|: bf16 (2) under
 * --fallback-precision bf16 where the layer and target have it, else fp32
 * (0). */
static int8_t fallback_code(const search *S, ir_node_id nid) {
  const char *no = NULL;
  return S->q->fallback == QUANT_P_BF16 && S->q->target_bf16 &&
                 quant_has_bf16_form(S->g, &S->g->nodes[nid], &no)
             ? 2
             : 0;
}

/*===------------------------------------------------------------------===*/
/* Reports                                                                 */
/*===------------------------------------------------------------------===*/

typedef struct cand {
  ir_node_id nid;
  metrics alone;  /* this layer int8 alone, calibration feeds */
  metrics after;  /* held out, after falling back ranks 1..this one */
  bool tried;     /* |after| was measured */
  bool fallback;  /* falls back in the chosen configuration */
  double cost_us;
  /* Measured (q->measure): the layer's engine steps in plain int8 and in
   * the chosen engine, microseconds; NAN: not measured / no such step. */
  double int8_us, fb_us;
} cand;

static int cand_cmp(const void *a, const void *b) {
  const cand *x = a, *y = b;
  if (x->alone.sqnr != y->alone.sqnr) return x->alone.sqnr < y->alone.sqnr ? -1 : 1;
  if (x->alone.top1 != y->alone.top1) return x->alone.top1 < y->alone.top1 ? -1 : 1;
  return x->nid < y->nid ? -1 : x->nid > y->nid;
}

static void fmt_db(char *buf, size_t n, double v) {
  if (isinf(v)) snprintf(buf, n, v > 0 ? "inf" : "-inf");
  else snprintf(buf, n, "%.2f", v);
}

static void xml_text(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '<') fputs("&lt;", f);
    else if (*s == '>') fputs("&gt;", f);
    else if (*s == '&') fputs("&amp;", f);
    else if (*s == '"') fputs("&quot;", f);
    else fputc(*s, f);
  }
}

static ingot_status write_csv(const char *path, const search *S,
                              const cand *c, int m) {
  FILE *f = fopen(path, "w");
  if (!f)
    return ingot_make_status(INGOT_NOT_FOUND, "%s: cannot create", path);
  fprintf(f, "rank,node,op,sqnr_alone_db,top1_alone,fallback,"
             "heldout_sqnr_after_db,heldout_top1_after,est_cost_us,"
             "measured_int8_us,measured_fallback_us\n");
  for (int i = 0; i < m; i++) {
    const ir_node *n = &S->g->nodes[c[i].nid];
    char a[32], b[32];
    fmt_db(a, sizeof a, c[i].alone.sqnr);
    fmt_db(b, sizeof b, c[i].after.sqnr);
    fprintf(f, "%d,\"%s\",%s,%s,%.4f,%s,%s,", i + 1, n->name,
            ir_op_get(n->op)->name, a, c[i].alone.top1,
            c[i].fallback ? "yes" : "no", c[i].tried ? b : "");
    if (c[i].tried) fprintf(f, "%.4f", c[i].after.top1);
    fprintf(f, ",%.3f,", c[i].cost_us);
    if (!isnan(c[i].int8_us)) fprintf(f, "%.3f", c[i].int8_us);
    fputc(',', f);
    if (!isnan(c[i].fb_us)) fprintf(f, "%.3f", c[i].fb_us);
    fputc('\n', f);
  }
  bool ok = !ferror(f);
  ok = fclose(f) == 0 && ok;
  return ok ? NULL
            : ingot_make_status(INGOT_DATA_LOSS, "%s: write failed", path);
}

/* A horizontal bar chart: one bar per layer (SQNR with only that layer
 * int8), ranked; fallbacks drawn in a second colour; the target as a
 * vertical line. */
static ingot_status write_svg(const char *path, const search *S,
                              const cand *c, int m, const char *title) {
  FILE *f = fopen(path, "w");
  if (!f)
    return ingot_make_status(INGOT_NOT_FOUND, "%s: cannot create", path);
  const int label_w = 260, bar_w = 480, row_h = 18, top = 48;
  double vmax = 10;
  for (int i = 0; i < m; i++)
    if (isfinite(c[i].alone.sqnr) && c[i].alone.sqnr > vmax)
      vmax = c[i].alone.sqnr;
  if (S->q->target.kind == QUANT_TARGET_SQNR && S->q->target.value > vmax)
    vmax = S->q->target.value;
  vmax = ceil(vmax / 20) * 20; /* ticks at quarters: whole numbers */
  int width = label_w + bar_w + 90, height = top + m * row_h + 40;
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
          "height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
          "<text x=\"8\" y=\"18\" font-size=\"13\">",
          width, height);
  xml_text(f, title);
  fprintf(f, "</text>\n<text x=\"8\" y=\"34\" fill=\"#555\">output SQNR "
             "(dB) vs fp32 with only that layer int8; orange: falls back "
             "to fp32</text>\n");
  for (int t = 0; t <= 4; t++) {
    double x = label_w + bar_w * t / 4.0;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
               "stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%d\" "
               "text-anchor=\"middle\" fill=\"#555\">%.0f</text>\n",
            x, top - 4, x, top + m * row_h, x, top + m * row_h + 14,
            vmax * t / 4.0);
  }
  for (int i = 0; i < m; i++) {
    const ir_node *n = &S->g->nodes[c[i].nid];
    double v = c[i].alone.sqnr;
    double w = isinf(v) ? (v > 0 ? bar_w : 0)
                        : fmax(0, fmin(v, vmax)) / vmax * bar_w;
    int y = top + i * row_h;
    char db[32];
    fmt_db(db, sizeof db, v);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", label_w - 6,
            y + 13);
    xml_text(f, *n->name ? n->name : "-");
    fprintf(f, " (%s)</text>\n<rect x=\"%d\" y=\"%d\" width=\"%.1f\" "
               "height=\"%d\" fill=\"%s\"/>\n<text x=\"%.1f\" y=\"%d\">%s"
               "</text>\n",
            ir_op_get(n->op)->name, label_w, y + 2, w, row_h - 4,
            c[i].fallback ? "#e8811a" : "#3b75af", label_w + w + 4, y + 13,
            db);
  }
  if (S->q->target.kind == QUANT_TARGET_SQNR) {
    double x = label_w + fmin(S->q->target.value, vmax) / vmax * bar_w;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
               "stroke=\"#c00\" stroke-dasharray=\"4 3\"/>\n<text x=\"%.1f\" "
               "y=\"%d\" fill=\"#c00\">target %.4g dB</text>\n",
            x, top - 8, x, top + m * row_h, x + 3, top - 10,
            S->q->target.value);
  }
  fputs("</svg>\n", f);
  bool ok = !ferror(f);
  ok = fclose(f) == 0 && ok;
  return ok ? NULL
            : ingot_make_status(INGOT_DATA_LOSS, "%s: write failed", path);
}

/* FILE.csv → FILE.csv and FILE.svg; FILE → FILE and FILE.svg. */
static ingot_status write_report(const search *S, const cand *c, int m,
                                 const char *title) {
  const char *p = S->q->sensitivity_report;
  size_t len = strlen(p);
  char *svg = malloc(len + 8);
  if (!svg) return oom();
  if (len > 4 && !strcmp(p + len - 4, ".csv"))
    snprintf(svg, len + 8, "%.*s.svg", (int)(len - 4), p);
  else
    snprintf(svg, len + 8, "%s.svg", p);
  ingot_status s = write_csv(p, S, c, m);
  if (!s) s = write_svg(svg, S, c, m, title);
  free(svg);
  return s;
}

/*===------------------------------------------------------------------===*/
/* The search                                                              */
/*===------------------------------------------------------------------===*/

typedef struct text {
  char *p;
  size_t n, cap;
} text;

static void addf(text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void addf(text *t, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = t->cap - t->n;
    int k = vsnprintf(t->p ? t->p + t->n : NULL, t->p ? room : 0, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if (t->p && (size_t)k < room) {
      t->n += (size_t)k;
      return;
    }
    size_t cap = t->cap ? t->cap * 2 : 1024;
    while (cap < t->n + (size_t)k + 1) cap *= 2;
    char *np = realloc(t->p, cap);
    if (!np) return;
    t->p = np;
    t->cap = cap;
  }
}

static void target_str(const quant_target *t, char *buf, size_t n) {
  if (t->kind == QUANT_TARGET_SQNR)
    snprintf(buf, n, "sqnr>=%.4g dB", t->value);
  else if (t->kind == QUANT_TARGET_TOP1)
    snprintf(buf, n, "top1>=%.4g", t->value);
  else
    snprintf(buf, n, "none");
}

static void metrics_str(const metrics *m, char *buf, size_t n) {
  char db[32];
  fmt_db(db, sizeof db, m->sqnr);
  snprintf(buf, n, "SQNR %s dB, top-1 %.2f%%", db, 100 * m->top1);
}

void quant_search_free(quant_options *q) {
  if (q->mask_why)
    for (uint32_t i = 0; i < q->n_mask; i++) free((char *)q->mask_why[i]);
  free((void *)q->mask_why);
  free((void *)q->mask);
  q->mask = NULL;
  q->mask_why = NULL;
  q->n_mask = 0;
}

ingot_status quant_search(const ir_graph *g, quant_options *q, FILE *log) {
  if (!q->calib || !q->calib->data || !q->n_calib || !q->n_heldout)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "--accuracy-target and --sensitivity-report "
                             "need calibration data (--calib DATA)");
  search S = {.g = g, .q = q};
  ir_dataset *ds = NULL;
  cand *c = NULL;
  int8_t *mask = NULL;
  char **why = NULL;
  text sum = {0};
  quant_report rep = {0};
  int m = 0;
  ingot_status s = ir_dataset_open(g, q->calib->data, q->calib->preprocess,
                                   NULL, &ds);
  /* 1. Feeds and fp32 references. */
  size_t n_sens = q->n_calib < SENS_MAX ? q->n_calib : SENS_MAX;
  if (!s) s = feedset_load(g, ds, n_sens, &S.sens);
  if (!s) {
    ir_dataset_rewind(ds);
    for (size_t k = 0; !s && k < q->n_calib; k++) { /* skip to held out */
      ir_value *tmp = calloc(g->n_inputs ? g->n_inputs : 1, sizeof *tmp);
      bool done = false;
      s = tmp ? ir_dataset_next(ds, tmp, &done) : oom();
      for (uint32_t i = 0; tmp && i < g->n_inputs; i++) ir_value_free(&tmp[i]);
      free(tmp);
    }
  }
  if (!s) s = feedset_load(g, ds, q->n_heldout, &S.held);
  /* 2. Plain int8: which layers are candidates, and how it does. */
  metrics plain_sens = {0}, plain_held = {0};
  if (!s) s = variant(&S, NULL, &rep, &S.held, &plain_held);
  if (!s) s = variant(&S, NULL, NULL, &S.sens, &plain_sens);
  if (!s) {
    c = calloc((size_t)rep.n + 1, sizeof *c);
    mask = malloc(g->n_nodes);
    why = calloc(g->n_nodes, sizeof *why);
    if (!c || !mask || !why) s = oom();
  }
  for (int i = 0; !s && i < rep.n; i++) {
    const quant_layer *l = &rep.rows[i];
    ir_node_id nid = (ir_node_id)(i + 1);
    if (nid >= g->n_nodes || strcmp(l->node, g->nodes[nid].name)) {
      s = ingot_make_status(INGOT_INTERNAL, "accuracy search: the table "
                            "does not follow the node order");
      break;
    }
    if (l->int8 && quant_has_int8_form(g->nodes[nid].op) && !l->explicit_req)
      c[m++].nid = nid;
  }
  if (!s && log)
    fprintf(log, "accuracy search: %d candidate layer(s); plain int8 on "
            "%zu held-out feed(s): SQNR %.2f dB, top-1 %.2f%%\n", m,
            q->n_heldout, plain_held.sqnr, 100 * plain_held.top1);
  /* 3. Sensitivity: each candidate int8 alone. */
  for (int i = 0; !s && i < m; i++) {
    memset(mask, -1, g->n_nodes);
    for (int j = 0; j < m; j++) mask[c[j].nid] = j == i;
    s = variant(&S, mask, NULL, &S.sens, &c[i].alone);
    c[i].cost_us = fallback_cost_us(g, c[i].nid);
    c[i].int8_us = c[i].fb_us = NAN;
    if (!s && log)
      fprintf(log, "  sensitivity %d/%d: %-28s alone: SQNR %.2f dB, top-1 "
              "%.2f%%\n", i + 1, m, g->nodes[c[i].nid].name, c[i].alone.sqnr,
              100 * c[i].alone.top1);
  }
  if (!s && m > 1) qsort(c, (size_t)m, sizeof *c, cand_cmp);
  /* 4. Fall back the k most damaging, k = 0, 1, ... */
  int chosen = -1, best_k = 0;
  metrics best = plain_held, got = plain_held;
  const quant_target *T = &q->target;
  if (!s && T->kind != QUANT_TARGET_NONE) {
    if (meets(T, &plain_held)) chosen = 0;
    for (int k = 1; !s && chosen < 0 && k < m; k++) {
      memset(mask, -1, g->n_nodes);
      for (int j = 0; j < k; j++) mask[c[j].nid] = fallback_code(&S, c[j].nid);
      s = variant(&S, mask, NULL, &S.held, &c[k - 1].after);
      if (s) break;
      c[k - 1].tried = true;
      if (log)
        fprintf(log, "  fallback %d: %-28s held out: SQNR %.2f dB, top-1 "
                "%.2f%%\n", k, g->nodes[c[k - 1].nid].name,
                c[k - 1].after.sqnr, 100 * c[k - 1].after.top1);
      if (figure(T, &c[k - 1].after) > figure(T, &best)) {
        best = c[k - 1].after;
        best_k = k;
      }
      if (meets(T, &c[k - 1].after)) chosen = k;
    }
  }
  char tstr[64], pstr[96], bstr[96];
  target_str(T, tstr, sizeof tstr);
  metrics_str(&plain_held, pstr, sizeof pstr);
  bool unreachable = !s && T->kind != QUANT_TARGET_NONE && chosen < 0;
  if (unreachable) {
    metrics_str(&best, bstr, sizeof bstr);
    text list = {0};
    for (int j = 0; j < m; j++) {
      char a[32];
      fmt_db(a, sizeof a, c[j].alone.sqnr);
      addf(&list, "%s%d. '%s' (%s, alone %s dB)", j ? "; " : "", j + 1,
           g->nodes[c[j].nid].name, ir_op_get(g->nodes[c[j].nid].op)->name,
           a);
    }
    if (!q->best_effort) {
      s = ingot_make_status(
          INGOT_FAILED_PRECONDITION,
          "--accuracy-target %s is unreachable in int8: plain int8 gives "
          "%s on %zu held-out feed(s); the best with at least one layer "
          "int8 is %s (%d layer(s) in fp32). Fallback order (most damaging "
          "first): %s. Use --best-effort to build the best anyway, or "
          "lower the target",
          tstr, pstr, q->n_heldout, bstr, best_k, list.p ? list.p : "none");
    } else if (log) {
      fprintf(log, "accuracy search: %s unreachable; --best-effort keeps "
              "the best: %s with %d layer(s) fp32\n", tstr, bstr, best_k);
    }
    free(list.p);
    chosen = best_k;
    got = best;
  } else if (chosen > 0) {
    got = c[chosen - 1].after;
  }
  /* 4b. The fallbacks' latency, measured (q->measure): their steps in a
   * plain int8 engine and in the chosen one.  A failure to measure is a
   * note, not an error: the cost model's estimate stays. */
  text mnote = {0};
  bool measured = false;
  if (!s && q->measure && chosen > 0) {
    const char **names = calloc((size_t)chosen, sizeof *names);
    double *u8 = calloc((size_t)chosen, sizeof *u8);
    double *ufb = calloc((size_t)chosen, sizeof *ufb);
    ingot_status ms = names && u8 && ufb ? NULL : oom();
    for (int j = 0; !ms && j < chosen; j++) names[j] = g->nodes[c[j].nid].name;
    ir_graph *v = NULL;
    if (!ms) ms = variant_graph(&S, NULL, NULL, &v);
    if (!ms) ms = q->measure(q->measure_ctx, v, names, chosen, u8);
    if (v) ir_graph_destroy(v);
    v = NULL;
    memset(mask, -1, g->n_nodes);
    for (int j = 0; j < chosen; j++) mask[c[j].nid] = fallback_code(&S, c[j].nid);
    if (!ms) ms = variant_graph(&S, mask, NULL, &v);
    if (!ms) ms = q->measure(q->measure_ctx, v, names, chosen, ufb);
    if (v) ir_graph_destroy(v);
    for (int j = 0; !ms && j < chosen; j++) {
      c[j].int8_us = u8[j];
      c[j].fb_us = ufb[j];
    }
    measured = !ms;
    if (ms) {
      addf(&mnote, "accuracy-latency: not measured (%s); the costs are the "
           "cost model's\n", ingot_status_message(ms));
      ingot_status_free(ms);
    }
    free(names);
    free(u8);
    free(ufb);
  }
  /* 5. The mask and its reasons. */
  if (!s) {
    memset(mask, -1, g->n_nodes);
    for (int j = 0; j < chosen; j++) {
      c[j].fallback = true;
      mask[c[j].nid] = fallback_code(&S, c[j].nid);
      char a[32], b[32];
      fmt_db(a, sizeof a, c[j].alone.sqnr);
      fmt_db(b, sizeof b, c[j].after.sqnr);
      text w = {0};
      addf(&w, "accuracy target %s: fallback %d of %d%s (alone int8: %s "
           "dB; held out after: %s dB); est. +%.2f us", tstr, j + 1, chosen,
           mask[c[j].nid] == 2 ? " to bf16" : "", a, b, c[j].cost_us);
      if (measured && !isnan(c[j].int8_us) && !isnan(c[j].fb_us))
        addf(&w, "; measured %+.2f us (fallback %.2f, int8 %.2f)",
             c[j].fb_us - c[j].int8_us, c[j].fb_us, c[j].int8_us);
      why[c[j].nid] = w.p;
    }
    char gstr[96];
    metrics_str(&got, gstr, sizeof gstr);
    addf(&sum, "accuracy-target: %s\n", tstr);
    addf(&sum, "accuracy-feeds: %zu calibration (sensitivity on %zu), %zu "
         "held out\n", q->n_calib, n_sens, q->n_heldout);
    addf(&sum, "accuracy-plain-int8: %s (held out)\n", pstr);
    if (T->kind != QUANT_TARGET_NONE) {
      double total = 0;
      for (int j = 0; j < chosen; j++) total += c[j].cost_us;
      double mtotal = 0;
      for (int j = 0; j < chosen; j++)
        if (!isnan(c[j].int8_us) && !isnan(c[j].fb_us))
          mtotal += c[j].fb_us - c[j].int8_us;
      int nbf = 0;
      for (int j = 0; j < chosen; j++) nbf += mask[c[j].nid] == 2;
      addf(&sum, "accuracy-chosen: %s (held out) with %d of %d layer(s) "
           "fp32", gstr, chosen - nbf, m);
      if (nbf) addf(&sum, " and %d bf16", nbf);
      addf(&sum, "%s; est. +%.2f us (cost model)",
           unreachable ? ", best effort: target not met" : "", total);
      if (measured)
        addf(&sum, "; measured %+.2f us (the layers' engine steps, "
             "fallback minus int8)", mtotal);
      addf(&sum, "\n%s", mnote.p ? mnote.p : "");
      for (int j = 0; j < chosen; j++) {
        char a[32], b[32];
        fmt_db(a, sizeof a, c[j].alone.sqnr);
        fmt_db(b, sizeof b, c[j].after.sqnr);
        addf(&sum, "accuracy-fallback: %d | %s | %s | %s | alone %s dB | "
             "held out after %s dB, top-1 %.2f%% | est. +%.2f us", j + 1,
             g->nodes[c[j].nid].name, ir_op_get(g->nodes[c[j].nid].op)->name,
             mask[c[j].nid] == 2 ? "bf16" : "fp32", a, b,
             100 * c[j].after.top1, c[j].cost_us);
        if (measured && !isnan(c[j].int8_us) && !isnan(c[j].fb_us))
          addf(&sum, " | measured fallback %.2f us, int8 %.2f us, %+.2f us",
               c[j].fb_us, c[j].int8_us, c[j].fb_us - c[j].int8_us);
        addf(&sum, "\n");
      }
    }
    if (log) fputs(sum.p ? sum.p : "", log);
  }
  if (!s && q->sensitivity_report) {
    char title[300];
    snprintf(title, sizeof title, "%s: per-layer int8 sensitivity (%zu "
             "calibration feeds)", g->name && *g->name ? g->name : "model",
             n_sens);
    s = write_report(&S, c, m, title);
  }
  if (!s) {
    quant_search_free(q);
    q->mask = mask;
    q->mask_why = (const char *const *)why;
    q->n_mask = g->n_nodes;
    mask = NULL;
    why = NULL;
    if (q->report) {
      free(q->report->search);
      q->report->search = sum.p;
      sum.p = NULL;
    }
  }
  if (why)
    for (uint32_t i = 0; i < g->n_nodes; i++) free(why[i]);
  free(why);
  free(mask);
  free(sum.p);
  free(mnote.p);
  free(c);
  quant_report_free(&rep);
  feedset_free(&S.sens, g);
  feedset_free(&S.held, g);
  ir_dataset_close(ds);
  return s;
}

ingot_status quant_parse_target(const char *s, quant_target *out) {
  memset(out, 0, sizeof *out);
  const char *eq = strchr(s, '=');
  char *end = NULL;
  double v = eq ? strtod(eq + 1, &end) : 0;
  bool num = eq && end != eq + 1 && !*end && isfinite(v);
  if (num && !strncmp(s, "sqnr=", 5)) {
    out->kind = QUANT_TARGET_SQNR;
    out->value = v;
    return NULL;
  }
  if (num && !strncmp(s, "top1=", 5)) {
    if (!(v > 0 && v <= 1))
      return ingot_make_status(INGOT_INVALID_ARGUMENT,
                               "--accuracy-target %s: top1 is a fraction in "
                               "(0, 1], e.g. top1=0.99", s);
    out->kind = QUANT_TARGET_TOP1;
    out->value = v;
    return NULL;
  }
  return ingot_make_status(INGOT_INVALID_ARGUMENT,
                           "--accuracy-target %s: write sqnr=DB (e.g. "
                           "sqnr=30) or top1=FRAC (e.g. top1=0.99)", s);
}
