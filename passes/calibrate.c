/* calibrate.c — int8 calibration (DESIGN.md §4 "calibrate"; contract in
 * calibrate.h, rules in docs/int8.md "Calibration").
 *
 * Requires: a graph with static shapes (after static-shapes).  Provides:
 * a calib_table with, for every float32 tensor the graph computes and
 * every float32 graph input, the observed [min, max] and the range
 * [lo, hi] the method chose.  The graph is not modified.
 *
 * How: the samples come from the dataset loader (ir/dataset.h) and run
 * through the fp32 reference interpreter, whose |observe| hook sees every
 * node output (graph inputs are observed here, before the run).
 *  - pass 1 records min/max (enough for `minmax`);
 *  - pass 2, for the histogram methods, fills a 2048-bin |x| histogram per
 *    tensor over [0, max|x|] from pass 1 (calib_hist.c says why two
 *    passes).
 * Memory is one histogram per observed tensor (16 KiB each) plus what the
 * interpreter needs for one run, whatever the number of samples.
 * Non-finite values are left out of min/max and histograms and counted on
 * the log.  With o->cache, a valid cache replaces both passes
 * (calib_cache.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calib_internal.h"
#include "dataset.h"

ingot_status calib_parse_method(const char *s, calib_method *m,
                                double *percentile) {
  *percentile = 0;
  if (strcmp(s, "minmax") == 0) *m = CALIB_MINMAX;
  else if (strcmp(s, "entropy") == 0) *m = CALIB_ENTROPY;
  else if (strcmp(s, "mse") == 0) *m = CALIB_MSE;
  else if (strcmp(s, "percentile") == 0) *m = CALIB_PERCENTILE;
  else if (strncmp(s, "percentile=", 11) == 0) {
    char *end;
    double p = strtod(s + 11, &end);
    if (end == s + 11 || *end || !(p > 0 && p <= 100))
      return ingot_make_status(INGOT_INVALID_ARGUMENT,
                               "calibration method '%s': the percentile must "
                               "be a number in (0, 100]", s);
    *m = CALIB_PERCENTILE;
    *percentile = p;
  } else {
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "unknown calibration method '%s' (known: minmax, "
                             "percentile[=P], entropy, mse)", s);
  }
  return NULL;
}

void calib_method_str(calib_method m, double percentile, char *buf, size_t n) {
  switch (m) {
  case CALIB_MINMAX: snprintf(buf, n, "minmax"); break;
  case CALIB_PERCENTILE:
    snprintf(buf, n, "percentile=%.10g", percentile > 0 ? percentile : 99.99);
    break;
  case CALIB_ENTROPY: snprintf(buf, n, "entropy"); break;
  case CALIB_MSE: snprintf(buf, n, "mse"); break;
  default: snprintf(buf, n, "method(%d)", (int)m); break;
  }
}

void calib_table_free(calib_table *t) {
  free(t->r);
  memset(t, 0, sizeof *t);
}

typedef struct collect {
  const ir_graph *g;
  const bool *obs;
  calib_range *r;
  calib_hist **hist; /* [tensor id], pass 2 only */
  size_t *nonfinite;
  bool pass2;
  uint64_t data_key; /* calib_data_key, when o->cache */
} collect;

static void observe_value(collect *c, ir_tensor_id t, const ir_value *v) {
  if (!c->obs[t] || v->dtype != IR_F32 || !v->data) return;
  const float *x = v->data;
  size_t n = ir_shape_numel(&v->shape);
  if (c->pass2) { /* no histogram: pass 1 saw no finite value */
    if (c->hist[t]) c->nonfinite[t] += calib_hist_add(c->hist[t], x, n);
    return;
  }
  calib_range *r = &c->r[t];
  float lo = r->valid ? r->min : INFINITY, hi = r->valid ? r->max : -INFINITY;
  for (size_t i = 0; i < n; i++) {
    float e = x[i];
    if (!isfinite(e)) continue;
    if (e < lo) lo = e;
    if (e > hi) hi = e;
  }
  if (lo <= hi) {
    r->valid = true;
    r->min = lo;
    r->max = hi;
  }
}

static void observe(void *ctx, const ir_graph *g, ir_tensor_id t,
                    const ir_value *v) {
  observe_value(ctx, t, v);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void progress(const calib_options *o, bool on, int pass, int passes,
                     size_t done, size_t total, double t0) {
  if (!on) return;
  enum { W = 30 };
  int fill = total ? (int)((double)done / total * W) : W;
  char bar[W + 1];
  for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
  bar[W] = '\0';
  double el = now_s() - t0;
  fprintf(stderr, "\rcalibrate: pass %d/%d [%s] %zu/%zu  %.0f s", pass,
          passes, bar, done, total, el);
  if (done == total) fputc('\n', stderr);
  fflush(stderr);
}

/* One pass over the data set. */
static ingot_status run_pass(const ir_graph *g, ir_dataset *ds, collect *c,
                             const calib_options *o, size_t n, int pass,
                             int passes, bool bar) {
  ir_value *in = calloc(g->n_inputs, sizeof *in);
  ir_value *out = calloc(g->n_outputs ? g->n_outputs : 1, sizeof *out);
  ingot_status s = (!in || !out) ? ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                                                     "out of memory")
                                 : NULL;
  ir_interp_options io = {.observe = observe, .observe_ctx = c};
  double t0 = now_s();
  ir_dataset_rewind(ds);
  progress(o, bar, pass, passes, 0, n, t0);
  for (size_t k = 0; !s && k < n; k++) {
    bool done;
    s = ir_dataset_next(ds, in, &done);
    if (s || done) break;
    for (uint32_t i = 0; i < g->n_inputs; i++)
      observe_value(c, g->inputs[i], &in[i]);
    s = ir_interp_run(g, in, out, &io);
    if (s)
      s = ingot_status_annotate(s, "calibration sample %zu (%s): ", k + 1,
                                ir_dataset_last_file(ds));
    else
      for (uint32_t i = 0; i < g->n_outputs; i++) ir_value_free(&out[i]);
    for (uint32_t i = 0; i < g->n_inputs; i++) ir_value_free(&in[i]);
    progress(o, bar && !s, pass, passes, k + 1, n, t0);
  }
  if (s && bar) fputc('\n', stderr);
  free(in);
  free(out);
  return s;
}

ingot_status calib_collect(const ir_graph *g, const calib_options *o,
                           calib_table *out) {
  memset(out, 0, sizeof *out);
  if (!o->data)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "calibration needs data (--calib DIR)");
  if (o->method == CALIB_PERCENTILE && o->percentile != 0 &&
      !(o->percentile > 0 && o->percentile <= 100))
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "calibration percentile %g is not in (0, 100]",
                             o->percentile);
  uint32_t nt = g->n_tensors;
  bool *obs = calloc(nt ? nt : 1, sizeof *obs);
  if (!obs) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  for (uint32_t i = 0; i < g->n_inputs; i++)
    obs[g->inputs[i]] = g->tensors[g->inputs[i]].dtype == IR_F32;
  for (ir_node_id n = 1; n < g->n_nodes; n++)
    for (int k = 0; k < g->nodes[n].n_out; k++) {
      ir_tensor_id t = g->nodes[n].out[k];
      if (t && g->tensors[t].dtype == IR_F32) obs[t] = true;
    }

  ingot_status s = NULL;
  ir_dataset *ds = NULL;
  collect c = {.g = g, .obs = obs};
  s = ir_dataset_open(g, o->data, o->preprocess, o->log, &ds);
  size_t n = 0;
  if (!s) {
    n = ir_dataset_count(ds);
    if (o->max_samples > 0 && (size_t)o->max_samples < n)
      n = (size_t)o->max_samples;
  }
  if (!s && o->cache) {
    /* The cache holds for this graph, method and data: the data key
     * covers the files' bytes, the preprocessing and the feed count. */
    uint64_t key = 0;
    s = ir_dataset_key(ds, &key);
    if (!s) {
      key = calib_data_key(key, o->preprocess, n);
      bool used = false;
      s = calib_cache_read(g, o, obs, (int)n, key, out, &used);
      c.data_key = key;
      if (s || used) {
        ir_dataset_close(ds);
        free(obs);
        return s;
      }
    }
  }
  c.r = calloc(nt ? nt : 1, sizeof *c.r);
  c.nonfinite = calloc(nt ? nt : 1, sizeof *c.nonfinite);
  if (!s && (!c.r || !c.nonfinite))
    s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  if (!s && o->log)
    fprintf(o->log, "calibrate: %zu run(s) from %s (%zu file(s))\n", n,
            o->data, ir_dataset_files(ds));
  bool bar = o->progress && isatty(2);
  int passes = o->method == CALIB_MINMAX ? 1 : 2;
  if (!s) s = run_pass(g, ds, &c, o, n, 1, passes, bar);
  if (!s && passes == 2) {
    c.hist = calloc(nt ? nt : 1, sizeof *c.hist);
    if (!c.hist) s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
    for (uint32_t t = 1; !s && t < nt; t++) {
      if (!c.r[t].valid) continue;
      c.hist[t] = malloc(sizeof(calib_hist));
      if (!c.hist[t]) {
        s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                              "out of memory for %u histograms", nt);
        break;
      }
      double amax = fmax(fabs((double)c.r[t].min), fabs((double)c.r[t].max));
      calib_hist_init(c.hist[t], amax);
    }
    memset(c.nonfinite, 0, sizeof(size_t) * nt);
    c.pass2 = true;
    if (!s) s = run_pass(g, ds, &c, o, n, 2, passes, bar);
  }
  if (!s) {
    for (uint32_t t = 1; t < nt; t++) {
      calib_range *r = &c.r[t];
      if (obs[t] && !r->valid && o->log)
        fprintf(o->log, "calibrate: tensor '%s' had no finite value: no "
                "range\n", g->tensors[t].name);
      if (c.nonfinite[t] && o->log)
        fprintf(o->log, "calibrate: tensor '%s': %zu non-finite value(s) "
                "left out\n", g->tensors[t].name, c.nonfinite[t]);
      if (!r->valid) continue;
      double th = c.hist ? calib_threshold(c.hist[t], o->method,
                                           o->percentile, r->min, r->max)
                         : 0;
      calib_range_from(r, o->method, th);
    }
    out->n = nt;
    out->r = c.r;
    out->samples = (int)n;
    out->from_cache = false;
    c.r = NULL;
    if (o->cache) s = calib_cache_write(g, o, c.data_key, out);
    if (s) calib_table_free(out);
  }
  if (c.hist)
    for (uint32_t t = 0; t < nt; t++) free(c.hist[t]);
  free(c.hist);
  free(c.r);
  free(c.nonfinite);
  free(obs);
  ir_dataset_close(ds);
  return s;
}
