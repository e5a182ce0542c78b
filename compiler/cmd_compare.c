/* cmd_compare.c — ingot compare MODEL ENGINE --data DIR: how far an engine
 * (int8 or fp32) is from the fp32 reference on real inputs.
 *
 * For every sample of DIR it runs the engine (libingot_rt) and the model
 * through the reference interpreter (plain C, the semantics), and
 * accumulates per output, over all samples:
 *   SQNR   10·log10(Σ ref² / Σ (ref − engine)²) in dB, over every element
 *          of every sample (infinite when the outputs are equal);
 *   max    the largest |ref − engine|;
 *   cosine the mean over samples of the cosine similarity of the two
 *          output vectors;
 *   top-1  for classifier outputs (rank 2, [N, classes], classes > 1): the
 *          share of rows whose argmax agrees; with --labels, also each
 *          side's accuracy against the labels.
 * --per-layer also keeps every tensor the engine maps (TENSOR_MAP, engine
 * format 1.2; int8 tensors dequantised) and compares each with the
 * reference's fp32 tensor of the same name, caught by the interpreter's
 * observe hook.  Error compounds along the graph, so the lowest SQNR is
 * usually just the last layer; the table is therefore ranked by each
 * tensor's SQNR *drop*: its best input's SQNR minus its own, the error
 * this layer adds.  Each row names the model nodes the step computes
 * (PROVENANCE).  An int8 tensor is matched to its fp32 tensor by name, or
 * by the name without the suffix the quantiser gave it (docs/accuracy.md).
 *
 * Samples (--data DIR): files .npy or .pb (ONNX TensorProto) sorted by
 * name, each one sample of the model's single input, or a batch of them
 * along the first dimension (a [9500,1,28,28] file for a [1,1,28,28]
 * input is 9,500 samples); or subdirectories, one sample each, holding one
 * file per input (named after the input, or input_<k>, in order; files
 * named output* are skipped: ONNX test data sets work as they are).
 * This command does not link LLVM: the engine runs in libingot_rt.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "engine_io.h"

static const char *const help_compare =
    "usage: ingot compare MODEL ENGINE --data DIR [--per-layer] [--json]\n"
    "                     [--labels FILE] [--limit N] [--top N]\n"
    "                     [--threads N] [--shapes NAME:DIMS[,...]]\n"
    "\n"
    "Runs ENGINE (built from MODEL, int8 or fp32) and MODEL in the fp32\n"
    "reference interpreter on the same inputs and prints, per output and\n"
    "over all samples: SQNR (dB), max abs error, cosine similarity, and\n"
    "top-1 agreement for classifier outputs ([N, classes]).\n"
    "\n"
    "  --data DIR      samples: .npy/.pb files, one sample each or a batch\n"
    "                  along the first dimension (single-input models), or\n"
    "                  one subdirectory per sample with a file per input\n"
    "  --per-layer     also compare every tensor the engine keeps (int8\n"
    "                  ones dequantised) with the fp32 tensor of the same\n"
    "                  name, ranked by SQNR drop: the layer to look at first\n"
    "  --json          print the figures as JSON\n"
    "  --labels FILE   one class index per line, in sample order: also\n"
    "                  report top-1 accuracy of engine and reference\n"
    "  --limit N       use the first N samples\n"
    "  --top N         --per-layer: rows to print (default 20; 0 = all)\n"
    "  --threads N     engine threads (default: all CPUs)\n"
    "  --shapes ...    fix symbolic input dims of MODEL\n";

/*===--- running sums ------------------------------------------------------===*/

typedef struct stats {
  double sig, noise, max_err, cos_sum;
  long long samples, elements, nonfinite;
  long long rows, agree, ref_correct, eng_correct, labelled;
} stats;

static void stats_add(stats *st, const float *ref, const float *eng,
                      size_t n) {
  double dot = 0, rr = 0, ee = 0;
  for (size_t i = 0; i < n; i++) {
    double r = ref[i], e = eng[i], d = r - e;
    if (!isfinite(r) || !isfinite(e)) {
      st->nonfinite++;
      continue;
    }
    st->sig += r * r;
    st->noise += d * d;
    if (fabs(d) > st->max_err) st->max_err = fabs(d);
    dot += r * e;
    rr += r * r;
    ee += e * e;
  }
  st->cos_sum += rr > 0 && ee > 0 ? dot / sqrt(rr * ee) : (rr == ee ? 1 : 0);
  st->samples++;
  st->elements += (long long)n;
}

static double stats_sqnr(const stats *st) {
  if (st->noise == 0) return INFINITY;
  if (st->sig == 0) return -INFINITY;
  return 10 * log10(st->sig / st->noise);
}

static size_t argmax(const float *x, size_t n) {
  size_t b = 0;
  for (size_t i = 1; i < n; i++)
    if (x[i] > x[b]) b = i;
  return b;
}

/*===--- samples -----------------------------------------------------------===*/

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool tensor_file(const char *name) {
  return cli_has_suffix(name, ".npy") || cli_has_suffix(name, ".pb");
}

/* Sorted entries of |dir| that are tensor files (|want_dirs|: subdirs). */
static ingot_status list_dir(const char *dir, bool want_dirs, char ***out,
                             size_t *n_out) {
  *out = NULL;
  *n_out = 0;
  DIR *d = opendir(dir);
  if (!d)
    return ingot_make_status(errno == ENOENT ? INGOT_NOT_FOUND
                                             : INGOT_INVALID_ARGUMENT,
                             "%s: cannot read the directory: %s", dir,
                             strerror(errno));
  char **v = NULL;
  size_t n = 0, cap = 0;
  ingot_status s = NULL;
  struct dirent *de;
  while (!s && (de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    size_t len = strlen(dir) + strlen(de->d_name) + 2;
    char *path = malloc(len);
    if (!path) {
      s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
      break;
    }
    snprintf(path, len, "%s/%s", dir, de->d_name);
    struct stat stt;
    bool is_dir = stat(path, &stt) == 0 && S_ISDIR(stt.st_mode);
    if (want_dirs ? !is_dir : (is_dir || !tensor_file(de->d_name))) {
      free(path);
      continue;
    }
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      char **g = realloc(v, cap * sizeof *g);
      if (!g) {
        free(path);
        s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
        break;
      }
      v = g;
    }
    v[n++] = path;
  }
  closedir(d);
  if (n) qsort(v, n, sizeof *v, by_name);
  *out = v;
  *n_out = n;
  return s;
}

static void free_list(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

/* Converts |v| to the dtype of graph input |t| when both are float. */
static ingot_status fit_dtype(const ir_tensor *t, ir_value *v) {
  if (v->dtype == t->dtype) return NULL;
  if (!ir_dtype_get(v->dtype)->is_float || !ir_dtype_get(t->dtype)->is_float)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "is %s; input '%s' is %s",
                             ir_dtype_name(v->dtype), t->name,
                             ir_dtype_name(t->dtype));
  ir_value c = {t->dtype, v->shape, NULL, false};
  INGOT_RETURN_IF_ERROR(ir_value_alloc(&c));
  for (size_t k = 0; k < ir_shape_numel(&c.shape); k++)
    ir_store_f64(c.dtype, c.data, k, ir_load_f64(v->dtype, v->data, k));
  ir_value_free(v);
  *v = c;
  return NULL;
}

/* How many samples of input |t| the value |v| holds (a batch along axis
 * 0), or an error naming the shapes. */
static ingot_status batch_of(const ir_tensor *t, const ir_value *v,
                             long long *out) {
  const ir_shape *m = &t->shape, *f = &v->shape;
  char a[128], b[128];
  if (ir_shape_equal(m, f)) {
    *out = 1;
    return NULL;
  }
  bool ok = m->rank == f->rank && m->rank > 0 && m->dims[0] > 0 &&
            f->dims[0] % m->dims[0] == 0;
  for (int k = 1; ok && k < m->rank; k++) ok = m->dims[k] == f->dims[k];
  if (!ok)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "shape %s does not fit input '%s' (%s), nor a "
                             "batch of it along the first dimension",
                             ir_shape_str(f, a, sizeof a), t->name,
                             ir_shape_str(m, b, sizeof b));
  *out = f->dims[0] / m->dims[0];
  return NULL;
}

/*===--- per-layer tables ---------------------------------------------------===*/

typedef struct layer {
  int map;        /* engine TENSOR_MAP index */
  const char *ref_name;
  stats st;
  double drop;    /* best input SQNR - own SQNR */
  float *buf;     /* engine's value of the current sample */
  size_t count;
  float scale;    /* an int8 model tensor: the engine's parameters */
  int zero_point;
  float *deq;     /* its dequantised reference value */
} layer;

typedef struct ctx {
  const ir_graph *g;
  ingot_engine *e;
  ingot_session *s;
  layer *layers;
  int n_layers;
  int *by_tensor; /* graph tensor id -> layer index, -1 */
  ingot_status err;
} ctx;

/* Suffixes quantisers append to the int8 copy of a tensor. */
static const char *const quant_suffixes[] = {
    "_QuantizeLinear_Output", "_quantized", "_q", "_int8", "_u8", ".q",
    "/q",
};

static ir_tensor_id match_ref(const ir_graph *g, const char *name) {
  ir_tensor_id id = ir_graph_find_tensor(g, name);
  if (id) return id;
  size_t n = strlen(name);
  for (size_t k = 0; k < sizeof quant_suffixes / sizeof quant_suffixes[0];
       k++) {
    size_t sl = strlen(quant_suffixes[k]);
    if (n > sl && strcmp(name + n - sl, quant_suffixes[k]) == 0) {
      char buf[1024];
      if (n - sl >= sizeof buf) continue;
      memcpy(buf, name, n - sl);
      buf[n - sl] = '\0';
      id = ir_graph_find_tensor(g, buf);
      if (id) return id;
    }
  }
  return 0;
}

static void observe(void *p, const ir_graph *g, ir_tensor_id t,
                    const ir_value *v) {
  ctx *c = p;
  int li = c->by_tensor[t];
  if (li < 0 || c->err) return;
  layer *l = &c->layers[li];
  if (v->dtype != IR_F32 && !l->deq) return;
  if (ir_shape_numel(&v->shape) != l->count) {
    char a[128];
    c->err = ingot_make_status(INGOT_INVALID_ARGUMENT,
                               "tensor '%s' is %s in the model but has %zu "
                               "elements in the engine: MODEL and ENGINE do "
                               "not match",
                               g->tensors[t].name,
                               ir_shape_str(&v->shape, a, sizeof a),
                               l->count);
    return;
  }
  const float *ref = v->data;
  if (v->dtype != IR_F32) { /* an int8 tensor of a QOperator/QDQ model */
    for (size_t i = 0; i < l->count; i++)
      l->deq[i] = (float)((int32_t)ir_load_f64(v->dtype, v->data, i) -
                          l->zero_point) * l->scale;
    ref = l->deq;
  }
  stats_add(&l->st, ref, l->buf, l->count);
}

/*===--- the command --------------------------------------------------------===*/

typedef struct opts {
  const char *model, *engine, *data, *labels;
  bool per_layer, json;
  long long limit;
  int top, threads;
  cli_shapes shapes;
} opts;

/* The engine's inputs and outputs are the model's, by name, shape, dtype. */
static ingot_status check_match(const ir_graph *g, ingot_engine *e,
                                const opts *o) {
  int ni = ingot_engine_input_count(e), no = ingot_engine_output_count(e);
  if ((uint32_t)ni != g->n_inputs || (uint32_t)no != g->n_outputs)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "%s has %d inputs and %d outputs, %s has %u and "
                             "%u: MODEL and ENGINE do not match",
                             o->engine, ni, no, o->model, g->n_inputs,
                             g->n_outputs);
  for (int k = 0; k < ni + no; k++) {
    bool in = k < ni;
    ingot_tensor_info info;
    INGOT_RETURN_IF_ERROR(in ? ingot_engine_input_info(e, k, &info)
                             : ingot_engine_output_info(e, k - ni, &info));
    ir_tensor_id id = in ? g->inputs[k] : g->outputs[k - ni];
    const ir_tensor *t = &g->tensors[id];
    bool same = strcmp(info.name, t->name) == 0 &&
                (uint32_t)info.dtype == (uint32_t)t->dtype &&
                info.rank == t->shape.rank;
    for (int d = 0; same && d < info.rank; d++)
      same = info.dims[d] == t->shape.dims[d];
    if (!same) {
      char a[128], b[160] = "";
      size_t len = 0;
      for (int d = 0; d < info.rank && len < sizeof b - 24; d++)
        len += (size_t)snprintf(b + len, sizeof b - len, "%s%lld",
                                d ? "x" : "", info.dims[d]);
      return ingot_make_status(
          INGOT_INVALID_ARGUMENT,
          "%s %d of %s is '%s' %s[%s], of %s '%s' %s[%s]: MODEL and ENGINE "
          "do not match (build the engine from this model)",
          in ? "input" : "output", in ? k : k - ni, o->engine, info.name,
          ir_dtype_name((ir_dtype)info.dtype), b, o->model,
          t->name, ir_dtype_name(t->dtype),
          ir_shape_str(&t->shape, a, sizeof a));
    }
  }
  return NULL;
}

typedef struct run {
  const opts *o;
  ir_graph *g;
  ingot_engine *e;
  ingot_session *s;
  stats *out; /* per output */
  ctx c;
  long long *labels;
  long long n_labels;
  long long done; /* samples compared */
  long long rows; /* classifier rows seen (label index) */
  bool tty;
} run;

static bool is_classifier(const ir_tensor *t) {
  return t->shape.rank == 2 && t->shape.dims[1] > 1;
}

/* Values of |v| as float32 (a copy when it is another dtype). */
static float *as_f32(const ir_value *v, bool *owned) {
  size_t n = ir_shape_numel(&v->shape);
  *owned = false;
  if (v->dtype == IR_F32) return v->data;
  float *f = malloc(n * sizeof *f + 4);
  if (!f) return NULL;
  for (size_t i = 0; i < n; i++) f[i] = (float)ir_load_f64(v->dtype, v->data, i);
  *owned = true;
  return f;
}

/* One sample: |in| holds a value per graph input. */
static ingot_status one_sample(run *r, ir_value *in) {
  const ir_graph *g = r->g;
  for (uint32_t k = 0; k < g->n_inputs; k++)
    INGOT_RETURN_IF_ERROR(ingot_session_set_input(
        r->s, (int)k, (ingot_dtype)in[k].dtype, in[k].data,
        ir_value_nbytes(&in[k])));
  INGOT_RETURN_IF_ERROR(ingot_session_run(r->s));
  for (int i = 0; i < r->c.n_layers; i++) {
    layer *l = &r->c.layers[i];
    INGOT_RETURN_IF_ERROR(ingot_session_read_tensor(
        r->s, l->map, INGOT_FLOAT32, l->buf, l->count * sizeof(float)));
  }
  ir_value *ref = calloc(g->n_outputs + 1, sizeof *ref);
  if (!ref) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  ir_interp_options io = {observe, &r->c};
  ingot_status s =
      ir_interp_run(g, in, ref, r->c.n_layers ? &io : NULL);
  if (!s && r->c.err) {
    s = r->c.err;
    r->c.err = NULL;
  }
  long long rows_here = 0;
  for (uint32_t k = 0; !s && k < g->n_outputs; k++) {
    ir_value eng;
    s = eio_get_output(r->e, r->s, (int)k, &eng);
    if (s) break;
    bool own_r, own_e;
    float *fr = as_f32(&ref[k], &own_r), *fe = as_f32(&eng, &own_e);
    size_t n = ir_shape_numel(&ref[k].shape);
    if (!fr || !fe) {
      s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
    } else {
      stats *st = &r->out[k];
      stats_add(st, fr, fe, n);
      const ir_tensor *t = &g->tensors[g->outputs[k]];
      if (is_classifier(t)) {
        size_t classes = (size_t)t->shape.dims[1];
        long long nrows = t->shape.dims[0];
        for (long long row = 0; row < nrows; row++) {
          size_t ar = argmax(fr + row * classes, classes);
          size_t ae = argmax(fe + row * classes, classes);
          st->rows++;
          st->agree += ar == ae;
          long long li = r->rows + row;
          if (r->labels && li < r->n_labels) {
            st->labelled++;
            st->ref_correct += (long long)ar == r->labels[li];
            st->eng_correct += (long long)ae == r->labels[li];
          }
        }
        if (nrows > rows_here) rows_here = nrows;
      }
    }
    if (own_r) free(fr);
    if (own_e) free(fe);
    ir_value_free(&eng);
  }
  for (uint32_t k = 0; k < g->n_outputs; k++) ir_value_free(&ref[k]);
  free(ref);
  r->rows += rows_here;
  r->done++;
  if (r->tty && r->done % 10 == 0)
    fprintf(stderr, "\rcompare: %lld samples", r->done);
  return s;
}

static bool limit_reached(const run *r) {
  return r->o->limit > 0 && r->done >= r->o->limit;
}

/* Files directly in DIR: single-input models; batches split on axis 0. */
static ingot_status run_files(run *r, char **files, size_t n) {
  const ir_graph *g = r->g;
  if (g->n_inputs != 1)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "%s: the model has %u inputs; put each sample "
                             "in a subdirectory with one file per input",
                             r->o->data, g->n_inputs);
  const ir_tensor *t = &g->tensors[g->inputs[0]];
  ingot_status s = NULL;
  for (size_t f = 0; !s && f < n && !limit_reached(r); f++) {
    ir_value v = {0};
    long long count = 0;
    s = cli_load_tensor(files[f], &v);
    if (!s) s = fit_dtype(t, &v);
    if (!s) s = batch_of(t, &v, &count);
    if (s) {
      s = ingot_status_annotate(s, "%s: ", files[f]);
      ir_value_free(&v);
      break;
    }
    if (count == 1) {
      s = one_sample(r, &v);
    } else {
      ir_value one = {t->dtype, t->shape, NULL, true};
      size_t bytes = ir_value_nbytes(&one);
      for (long long j = 0; !s && j < count && !limit_reached(r); j++) {
        one.data = (uint8_t *)v.data + (size_t)j * bytes;
        s = one_sample(r, &one);
      }
    }
    ir_value_free(&v);
  }
  return s;
}

/* One subdirectory per sample, one file per input. */
static ingot_status run_dirs(run *r, char **dirs, size_t n) {
  const ir_graph *g = r->g;
  ingot_status s = NULL;
  ir_value *in = calloc(g->n_inputs + 1, sizeof *in);
  if (!in) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t d = 0; !s && d < n && !limit_reached(r); d++) {
    char **files = NULL;
    size_t nf = 0, used = 0;
    s = list_dir(dirs[d], false, &files, &nf);
    for (uint32_t k = 0; !s && k < g->n_inputs; k++) {
      const ir_tensor *t = &g->tensors[g->inputs[k]];
      const char *pick = NULL;
      for (size_t f = 0; f < nf && !pick; f++) { /* by the input's name */
        const char *b = base_name(files[f]);
        size_t tl = strlen(t->name);
        if (strncmp(b, t->name, tl) == 0 && b[tl] == '.') pick = files[f];
      }
      for (size_t f = 0, seen = 0; f < nf && !pick; f++) { /* k-th input */
        if (strncmp(base_name(files[f]), "output", 6) == 0) continue;
        if (seen++ == k) pick = files[f];
      }
      if (!pick) {
        s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                              "%s: no file for input '%s' (expected %s.npy, "
                              "%s.pb or input_%u.pb)",
                              dirs[d], t->name, t->name, t->name, k);
        break;
      }
      used++;
      ir_value_free(&in[k]);
      s = cli_load_tensor(pick, &in[k]);
      if (!s) s = fit_dtype(t, &in[k]);
      if (!s && !ir_shape_equal(&in[k].shape, &t->shape)) {
        char a[128], b[128];
        s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                              "shape %s, but input '%s' is %s",
                              ir_shape_str(&in[k].shape, a, sizeof a),
                              t->name, ir_shape_str(&t->shape, b, sizeof b));
      }
      if (s) s = ingot_status_annotate(s, "%s: ", pick);
    }
    if (!s) s = one_sample(r, in);
    free_list(files, nf);
    (void)used;
  }
  for (uint32_t k = 0; k < g->n_inputs; k++) ir_value_free(&in[k]);
  free(in);
  return s;
}

static ingot_status read_labels(const char *path, long long **out,
                                long long *n) {
  FILE *f = fopen(path, "r");
  if (!f)
    return ingot_make_status(INGOT_NOT_FOUND, "%s: cannot open: %s", path,
                             strerror(errno));
  long long cap = 1024, k = 0;
  long long *v = malloc((size_t)cap * sizeof *v);
  char line[256];
  ingot_status s = v ? NULL : ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                                                "out of memory");
  while (!s && fgets(line, sizeof line, f)) {
    char *end;
    long long x = strtoll(line, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') end++;
    if (end == line || *end || x < 0) {
      s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                            "%s: line %lld is not a class index: '%.40s'",
                            path, k + 1, line);
      break;
    }
    if (k == cap) {
      cap *= 2;
      long long *g = realloc(v, (size_t)cap * sizeof *g);
      if (!g) {
        s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
        break;
      }
      v = g;
    }
    v[k++] = x;
  }
  fclose(f);
  if (s) {
    free(v);
    return s;
  }
  *out = v;
  *n = k;
  return NULL;
}

/* Sets up the per-layer table: every mapped float or quantised tensor
 * that matches a float32 tensor of the model. */
static ingot_status setup_layers(run *r) {
  ctx *c = &r->c;
  int n = ingot_engine_tensor_count(r->e);
  if (n == 0)
    return ingot_make_status(INGOT_FAILED_PRECONDITION,
                             "%s maps no tensors (engine format older than "
                             "1.2): rebuild it to compare layers",
                             r->o->engine);
  c->by_tensor = malloc(r->g->n_tensors * sizeof *c->by_tensor);
  c->layers = calloc((size_t)n, sizeof *c->layers);
  if (!c->by_tensor || !c->layers)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  for (uint32_t t = 0; t < r->g->n_tensors; t++) c->by_tensor[t] = -1;
  /* Exact names first, then names without a quantiser's suffix. */
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < n; i++) {
      ingot_map_tensor_info info;
      INGOT_RETURN_IF_ERROR(ingot_engine_tensor_map_info(r->e, i, &info));
      if (info.step < 0) continue; /* graph inputs are what we set */
      if (info.dtype != INGOT_FLOAT32 && !info.quantized) continue;
      ir_tensor_id id = pass == 0 ? ir_graph_find_tensor(r->g, info.name)
                                  : match_ref(r->g, info.name);
      if (!id || c->by_tensor[id] >= 0) continue;
      const ir_tensor *t = &r->g->tensors[id];
      size_t count = info.nbytes / (info.dtype == INGOT_FLOAT32 ? 4 : 1);
      /* A float tensor of the model, or (a model that is int8 itself) an
       * int8 one with the same dtype, dequantised like the engine's. */
      bool int8_model = info.quantized && (uint32_t)t->dtype == info.dtype;
      if ((t->dtype != IR_F32 && !int8_model) ||
          t->role == IR_ROLE_CONSTANT || t->role == IR_ROLE_INPUT)
        continue;
      layer *l = &c->layers[c->n_layers];
      l->map = i;
      l->ref_name = t->name;
      l->count = count;
      l->scale = info.scale;
      l->zero_point = info.zero_point;
      l->buf = malloc(count * sizeof(float) + 4);
      if (int8_model) l->deq = malloc(count * sizeof(float) + 4);
      if (!l->buf || (int8_model && !l->deq))
        return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
      c->by_tensor[id] = c->n_layers++;
    }
  if (c->n_layers == 0)
    return ingot_make_status(INGOT_NOT_FOUND,
                             "no tensor of %s matches a float tensor of %s "
                             "by name: nothing to compare per layer",
                             r->o->engine, r->o->model);
  return ingot_session_keep_tensors(r->s, 1);
}

/* The best SQNR that reaches tensor |id| of the model from upstream: a
 * compared tensor gives its own, a graph input is exact, a tensor the
 * engine does not keep (folded, fused) passes on its inputs' best. */
static double upstream(const run *r, ir_tensor_id id, int depth) {
  const ir_graph *g = r->g;
  const ir_tensor *t = &g->tensors[id];
  if (t->role == IR_ROLE_INPUT) return INFINITY;
  if (t->role == IR_ROLE_CONSTANT) return NAN;
  if (r->c.by_tensor[id] >= 0)
    return stats_sqnr(&r->c.layers[r->c.by_tensor[id]].st);
  ir_node_id p = t->producer;
  if (!p || depth > 32) return NAN;
  double best = NAN;
  for (int k = 0; k < g->nodes[p].n_in; k++) {
    if (!g->nodes[p].in[k]) continue;
    double q = upstream(r, g->nodes[p].in[k], depth + 1);
    if (!isnan(q) && (isnan(best) || q > best)) best = q;
  }
  return best;
}

/* SQNR drop of each layer: the best SQNR reaching the inputs of the model
 * node that produces it, minus its own: the error this layer adds.  An
 * exact upstream (graph inputs) counts as the best SQNR of any layer, the
 * engine's precision floor, so that the first layers rank by what they
 * lose against it rather than against infinity. */
static void compute_drops(run *r) {
  const ir_graph *g = r->g;
  ctx *c = &r->c;
  double ceiling = NAN;
  for (int i = 0; i < c->n_layers; i++) {
    double q = stats_sqnr(&c->layers[i].st);
    if (isfinite(q) && (isnan(ceiling) || q > ceiling)) ceiling = q;
  }
  for (int i = 0; i < c->n_layers; i++) {
    layer *l = &c->layers[i];
    ir_tensor_id id = ir_graph_find_tensor(g, l->ref_name);
    ir_node_id p = g->tensors[id].producer;
    double best = NAN;
    for (int k = 0; p && k < g->nodes[p].n_in; k++) {
      if (!g->nodes[p].in[k]) continue;
      double q = upstream(r, g->nodes[p].in[k], 0);
      if (!isnan(q) && (isnan(best) || q > best)) best = q;
    }
    double own = stats_sqnr(&l->st);
    if (isinf(best) || isnan(best)) best = ceiling;
    if (isinf(own) && own > 0) l->drop = 0; /* exact */
    else if (isnan(best)) l->drop = 0;      /* every layer is exact */
    else l->drop = best - own;
  }
}

static int cmp_drop(const void *a, const void *b) {
  const layer *x = a, *y = b;
  if (x->drop != y->drop) return x->drop < y->drop ? 1 : -1;
  return x->map - y->map;
}

static void json_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') printf("\\%c", *s);
    else if (*s == '\n') printf("\\n");
    else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
    else putchar(*s);
  }
  putchar('"');
}

static void json_num(double x) {
  if (isnan(x)) printf("null");
  else if (isinf(x)) printf(x > 0 ? "\"inf\"" : "\"-inf\"");
  else printf("%.6g", x);
}

/* The node names of the step that completes map entry |i|, one line. */
static void nodes_of(ingot_engine *e, int map, char *buf, size_t n) {
  ingot_map_tensor_info info;
  ingot_step_info si;
  buf[0] = '\0';
  ingot_status s = ingot_engine_tensor_map_info(e, map, &info);
  if (!s && info.step >= 0) s = ingot_engine_step_info(e, info.step, &si);
  if (s || info.step < 0) {
    ingot_status_free(s);
    return;
  }
  snprintf(buf, n, "%s", si.provenance);
  for (char *p = buf; *p; p++)
    if (*p == '\n') *p = ',';
}

static void report(run *r) {
  const ir_graph *g = r->g;
  const opts *o = r->o;
  ctx *c = &r->c;
  if (c->n_layers) {
    compute_drops(r);
    qsort(c->layers, (size_t)c->n_layers, sizeof *c->layers, cmp_drop);
  }
  if (o->json) {
    printf("{\"model\": ");
    json_str(o->model);
    printf(", \"engine\": ");
    json_str(o->engine);
    printf(", \"samples\": %lld, \"outputs\": [", r->done);
    for (uint32_t k = 0; k < g->n_outputs; k++) {
      const stats *st = &r->out[k];
      printf("%s{\"name\": ", k ? ", " : "");
      json_str(g->tensors[g->outputs[k]].name);
      printf(", \"sqnr_db\": ");
      json_num(stats_sqnr(st));
      printf(", \"max_abs_err\": ");
      json_num(st->max_err);
      printf(", \"cosine\": ");
      json_num(st->samples ? st->cos_sum / (double)st->samples : NAN);
      printf(", \"nonfinite\": %lld", st->nonfinite);
      if (st->rows) {
        printf(", \"rows\": %lld, \"top1_agreement\": ", st->rows);
        json_num((double)st->agree / (double)st->rows);
      }
      if (st->labelled) {
        printf(", \"labelled\": %lld, \"top1_engine\": ", st->labelled);
        json_num((double)st->eng_correct / (double)st->labelled);
        printf(", \"top1_reference\": ");
        json_num((double)st->ref_correct / (double)st->labelled);
      }
      printf("}");
    }
    printf("]");
    if (c->n_layers) {
      printf(", \"layers\": [");
      for (int i = 0; i < c->n_layers; i++) {
        const layer *l = &c->layers[i];
        ingot_map_tensor_info info;
        char nodes[1024];
        ingot_status s = ingot_engine_tensor_map_info(r->e, l->map, &info);
        ingot_status_free(s);
        nodes_of(r->e, l->map, nodes, sizeof nodes);
        printf("%s{\"tensor\": ", i ? ", " : "");
        json_str(info.name);
        printf(", \"model_tensor\": ");
        json_str(l->ref_name);
        printf(", \"dtype\": ");
        json_str(ir_dtype_name((ir_dtype)info.dtype));
        printf(", \"nodes\": ");
        json_str(nodes);
        printf(", \"sqnr_db\": ");
        json_num(stats_sqnr(&l->st));
        printf(", \"sqnr_drop_db\": ");
        json_num(l->drop);
        printf(", \"max_abs_err\": ");
        json_num(l->st.max_err);
        printf(", \"cosine\": ");
        json_num(l->st.samples ? l->st.cos_sum / (double)l->st.samples : NAN);
        printf("}");
      }
      printf("]");
    }
    printf("}\n");
    return;
  }
  printf("compare %s against the fp32 reference of %s: %lld samples\n",
         o->engine, o->model, r->done);
  printf("%-24s %10s %12s %10s %10s\n", "output", "SQNR dB", "max |err|",
         "cosine", "top-1");
  for (uint32_t k = 0; k < g->n_outputs; k++) {
    const stats *st = &r->out[k];
    char top[64] = "-";
    if (st->rows)
      snprintf(top, sizeof top, "%.2f%%",
               100.0 * (double)st->agree / (double)st->rows);
    printf("%-24s %10.2f %12.6g %10.6f %10s\n",
           g->tensors[g->outputs[k]].name, stats_sqnr(st), st->max_err,
           st->samples ? st->cos_sum / (double)st->samples : 0.0, top);
    if (st->rows)
      printf("  top-1 agreement: %lld of %lld rows\n", st->agree, st->rows);
    if (st->labelled)
      printf("  top-1 accuracy on %lld labels: engine %.2f%%, reference "
             "%.2f%%\n",
             st->labelled, 100.0 * (double)st->eng_correct / (double)st->labelled,
             100.0 * (double)st->ref_correct / (double)st->labelled);
    if (st->nonfinite)
      printf("  %lld non-finite values skipped\n", st->nonfinite);
  }
  if (!c->n_layers) return;
  int rows = o->top > 0 && o->top < c->n_layers ? o->top : c->n_layers;
  printf("\nper layer (%d tensors compared), by SQNR drop (the error the layer "
         "adds), worst first:\n",
         c->n_layers);
  printf("%-4s %9s %9s %12s %-6s %-28s %s\n", "#", "SQNR dB", "drop dB",
         "max |err|", "dtype", "tensor", "model nodes");
  for (int i = 0; i < rows; i++) {
    const layer *l = &c->layers[i];
    ingot_map_tensor_info info;
    char nodes[1024];
    ingot_status s = ingot_engine_tensor_map_info(r->e, l->map, &info);
    ingot_status_free(s);
    nodes_of(r->e, l->map, nodes, sizeof nodes);
    printf("%-4d %9.2f %9.2f %12.6g %-6s %-28s %s\n", i + 1,
           stats_sqnr(&l->st), l->drop, l->st.max_err,
           ir_dtype_name((ir_dtype)info.dtype), info.name, nodes);
  }
  if (rows < c->n_layers)
    printf("(%d more; --top 0 shows all)\n", c->n_layers - rows);
}

static int parse(int argc, char **argv, opts *o) {
  memset(o, 0, sizeof *o);
  o->top = 20;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    bool more = i + 1 < argc;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(help_compare, stdout);
      return 0;
    } else if (strcmp(a, "--per-layer") == 0) {
      o->per_layer = true;
    } else if (strcmp(a, "--json") == 0) {
      o->json = true;
    } else if (strcmp(a, "--data") == 0 && more) {
      o->data = argv[++i];
    } else if (strcmp(a, "--labels") == 0 && more) {
      o->labels = argv[++i];
    } else if (strcmp(a, "--limit") == 0 && more) {
      o->limit = atoll(argv[++i]);
      if (o->limit <= 0)
        return cli_usage_error("compare", "--limit needs a positive number, "
                               "not '%s'", argv[i]);
    } else if (strcmp(a, "--top") == 0 && more) {
      char *end;
      o->top = (int)strtol(argv[++i], &end, 10);
      if (*end || o->top < 0)
        return cli_usage_error("compare", "--top needs a number >= 0, not "
                               "'%s'", argv[i]);
    } else if (strcmp(a, "--threads") == 0 && more) {
      o->threads = atoi(argv[++i]);
      if (o->threads <= 0)
        return cli_usage_error("compare", "--threads needs a positive number, "
                               "not '%s'", argv[i]);
    } else if (strcmp(a, "--shapes") == 0 && more) {
      ingot_status s = cli_parse_shapes(argv[++i], &o->shapes);
      if (s) return cli_fail(s);
    } else if (a[0] == '-') {
      return cli_usage_error("compare", "unknown or incomplete option '%s'", a);
    } else if (!o->model) {
      o->model = a;
    } else if (!o->engine) {
      o->engine = a;
    } else {
      return cli_usage_error("compare", "unexpected argument '%s'", a);
    }
  }
  if (!o->model || !o->engine)
    return cli_usage_error("compare", "%s", "needs MODEL and ENGINE");
  if (!o->data) return cli_usage_error("compare", "%s", "needs --data DIR");
  return -1;
}

int cmd_compare(int argc, char **argv) {
  opts o;
  int rc = parse(argc, argv, &o);
  if (rc >= 0) {
    cli_free_shapes(&o.shapes);
    return rc;
  }
  run r;
  memset(&r, 0, sizeof r);
  r.o = &o;
  r.tty = isatty(2) && !o.json;
  ingot_status s = cli_load_model(o.model, &o.shapes, &r.g);
  if (!s) s = eio_open(o.engine, o.threads, &r.e, &r.s);
  if (!s) s = check_match(r.g, r.e, &o);
  if (!s) {
    r.out = calloc(r.g->n_outputs + 1, sizeof *r.out);
    r.c.g = r.g;
    if (!r.out) s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  }
  if (!s && o.labels) s = read_labels(o.labels, &r.labels, &r.n_labels);
  if (!s && o.per_layer) s = setup_layers(&r);
  char **dirs = NULL, **files = NULL;
  size_t nd = 0, nf = 0;
  if (!s) s = list_dir(o.data, false, &files, &nf);
  if (!s && !nf) s = list_dir(o.data, true, &dirs, &nd);
  if (!s && !nf && !nd)
    s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                          "%s: no samples (.npy or .pb files, or one "
                          "subdirectory per sample)",
                          o.data);
  if (!s) s = nf ? run_files(&r, files, nf) : run_dirs(&r, dirs, nd);
  if (r.tty && r.done >= 10) fputc('\n', stderr);
  if (!s && r.done == 0)
    s = ingot_make_status(INGOT_INVALID_ARGUMENT, "%s: no samples", o.data);
  if (!s) report(&r);
  rc = s ? cli_fail(s) : 0;
  free_list(files, nf);
  free_list(dirs, nd);
  for (int i = 0; i < r.c.n_layers; i++) {
    free(r.c.layers[i].buf);
    free(r.c.layers[i].deq);
  }
  free(r.c.layers);
  free(r.c.by_tensor);
  free(r.labels);
  free(r.out);
  ingot_session_destroy(r.s);
  ingot_engine_release(r.e);
  ir_graph_destroy(r.g);
  cli_free_shapes(&o.shapes);
  return rc;
}
