/* calib_cache.c — the calibration cache file (DESIGN.md §4, docs/int8.md
 * "Calibration cache").
 *
 * Text, so it can be read, diffed and edited:
 *
 *   # ingot calibration cache: lo hi min max name, one tensor a line
 *   ingot-calib-cache 2
 *   graph 3f2a9c0d11e4b765
 *   method percentile=99.99
 *   samples 100
 *   data 9b01c4e27d35fa10
 *   -0.5 6.12 -0.73 11.9 conv1_out
 *
 * The key is a 64-bit FNV-1a hash of the graph, not of the tool: the
 * inputs (name, dtype, shape), every node (op, domain, attributes, input
 * and output tensor names) and every constant (name, dtype, shape, bytes),
 * so the same model calibrated by another Ingot version reuses its cache,
 * and a retrained model (same structure, new weights) does not.  The data
 * key is the same hash over the calibration files' bytes (in feed order,
 * not their paths), the --preprocess string and the number of feeds, so
 * other, more or fewer samples make the cache stale.  Format 1 had no
 * data key: such a cache is stale.  Floats
 * are printed with 9 significant digits, which round-trips a float32.
 * The name is last on the line, so it may hold spaces.
 *
 * Reading never fails the build: a missing, stale (other graph, method,
 * sample count or data) or corrupt (unparsable line, lo > 0, min > max, duplicate)
 * cache is reported on the log with the reason, and calibration runs and
 * rewrites the file.  Entries for tensors this graph lacks, or that are
 * not float tensors it computes, are ignored one by one, with the reason;
 * a valid cache missing an entry the graph needs is "incomplete" and
 * rebuilt.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calib_internal.h"

/*===------------------------------------------------------------------===*/
/* Graph hash                                                              */
/*===------------------------------------------------------------------===*/
static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

static uint64_t fnv_str(uint64_t h, const char *s) {
  return fnv(h, s ? s : "", strlen(s ? s : "") + 1);
}

static uint64_t fnv_i64(uint64_t h, int64_t v) { return fnv(h, &v, sizeof v); }

static uint64_t hash_tensor(uint64_t h, const ir_tensor *t) {
  h = fnv_str(h, t->name);
  h = fnv_i64(h, t->dtype);
  h = fnv_i64(h, t->shape_known ? t->shape.rank : -1);
  for (int d = 0; t->shape_known && d < t->shape.rank; d++)
    h = fnv_i64(h, t->shape.dims[d]);
  return h;
}

uint64_t calib_graph_hash(const ir_graph *g) {
  uint64_t h = 0xcbf29ce484222325ull;
  h = fnv_i64(h, g->n_inputs);
  for (uint32_t i = 0; i < g->n_inputs; i++)
    h = hash_tensor(h, &g->tensors[g->inputs[i]]);
  h = fnv_i64(h, g->n_outputs);
  for (uint32_t i = 0; i < g->n_outputs; i++)
    h = fnv_str(h, g->tensors[g->outputs[i]].name);
  for (ir_node_id n = 1; n < g->n_nodes; n++) {
    const ir_node *nd = &g->nodes[n];
    h = fnv_str(h, ir_op_get(nd->op)->name);
    h = fnv_str(h, nd->domain);
    h = fnv_i64(h, nd->n_in);
    for (int k = 0; k < nd->n_in; k++)
      h = fnv_str(h, nd->in[k] ? g->tensors[nd->in[k]].name : "");
    h = fnv_i64(h, nd->n_out);
    for (int k = 0; k < nd->n_out; k++)
      h = fnv_str(h, nd->out[k] ? g->tensors[nd->out[k]].name : "");
    for (uint32_t a = 0; a < nd->n_attrs; a++) {
      const ir_attr *at = &nd->attrs[a];
      h = fnv_str(h, at->name);
      h = fnv_i64(h, at->kind);
      h = fnv_i64(h, at->i);
      h = fnv(h, &at->f, sizeof at->f);
      h = fnv_str(h, at->s);
      if (at->n > 0 && at->ints) h = fnv(h, at->ints, sizeof(int64_t) * at->n);
      if (at->n > 0 && at->floats)
        h = fnv(h, at->floats, sizeof(float) * at->n);
      if (at->tensor && at->tensor->data)
        h = fnv(h, at->tensor->data, ir_value_nbytes(at->tensor));
    }
  }
  for (ir_tensor_id t = 1; t < g->n_tensors; t++) {
    const ir_tensor *te = &g->tensors[t];
    if (te->role != IR_ROLE_CONSTANT) continue;
    h = hash_tensor(h, te);
    const ir_dtype_info *di = ir_dtype_get(te->dtype);
    if (te->data && di && te->shape_known)
      h = fnv(h, te->data, ir_shape_numel(&te->shape) * di->size);
  }
  return h;
}

uint64_t calib_data_key(uint64_t files_key, const char *preprocess,
                        size_t feeds) {
  uint64_t h = fnv_i64(files_key, (int64_t)feeds);
  return fnv_str(h, preprocess);
}

/*===------------------------------------------------------------------===*/
/* Reading                                                                 */
/*===------------------------------------------------------------------===*/
/* Reads one line into a growing buffer; false at EOF.  *nul is set when
 * the line holds a NUL byte (not text). */
static bool get_line(FILE *f, char **buf, size_t *cap, bool *nul) {
  ssize_t n = getline(buf, cap, f);
  if (n < 0) return false;
  *nul = strlen(*buf) != (size_t)n;
  while (n > 0 && ((*buf)[n - 1] == '\n' || (*buf)[n - 1] == '\r'))
    (*buf)[--n] = '\0';
  return true;
}

static bool parse_float(char **p, float *out) {
  char *end;
  errno = 0;
  *out = strtof(*p, &end);
  if (end == *p || errno == ERANGE || !isfinite(*out) || *end != ' ')
    return false;
  *p = end + 1;
  return true;
}

ingot_status calib_cache_read(const ir_graph *g, const calib_options *o,
                              const bool *obs, int want_samples,
                              uint64_t data_key, calib_table *out,
                              bool *used) {
  *used = false;
  FILE *log = o->log;
  FILE *f = fopen(o->cache, "r");
  if (!f) {
    if (log)
      fprintf(log, "calibration cache %s: %s: calibrating\n", o->cache,
              errno == ENOENT ? "absent" : strerror(errno));
    return NULL;
  }
  uint32_t nt = g->n_tensors;
  calib_range *r = calloc(nt ? nt : 1, sizeof *r);
  if (!r) {
    fclose(f);
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  }
  char *line = NULL, want_method[64], why[512] = "";
  size_t cap = 0;
  /* stage: 0 magic, 1 graph, 2 method, 3 samples, 4 data, 5 entries */
  int lineno = 0, samples = 0, stage = 0;
  uint64_t want_hash = calib_graph_hash(g);
  uint32_t n_used = 0, n_ignored = 0;
  calib_method_str(o->method, o->percentile, want_method, sizeof want_method);
  bool nul = false;
  while (!why[0] && get_line(f, &line, &cap, &nul)) {
    lineno++;
    if (nul) {
      snprintf(why, sizeof why, "corrupt: line %d: not text", lineno);
      break;
    }
    if (line[0] == '#' || line[0] == '\0') continue;
    if (stage == 0) {
      if (strcmp(line, "ingot-calib-cache 1") == 0)
        snprintf(why, sizeof why, "stale: format 1 has no key of the "
                 "calibration data");
      else if (strcmp(line, "ingot-calib-cache 2") != 0)
        snprintf(why, sizeof why, "corrupt: line %d: expected "
                 "'ingot-calib-cache 2'", lineno);
      stage++;
    } else if (stage == 1) {
      char *end;
      unsigned long long h = strncmp(line, "graph ", 6) == 0
                                 ? strtoull(line + 6, &end, 16) : 0;
      if (strncmp(line, "graph ", 6) != 0 || end == line + 6 || *end)
        snprintf(why, sizeof why, "corrupt: line %d: expected 'graph HASH'",
                 lineno);
      else if (h != want_hash)
        snprintf(why, sizeof why, "stale: made for another graph (hash "
                 "%016llx, this graph %016llx)", h,
                 (unsigned long long)want_hash);
      stage++;
    } else if (stage == 2) {
      if (strncmp(line, "method ", 7) != 0)
        snprintf(why, sizeof why, "corrupt: line %d: expected 'method M'",
                 lineno);
      else if (strcmp(line + 7, want_method) != 0)
        snprintf(why, sizeof why, "stale: holds method %.64s, asked for %s",
                 line + 7, want_method);
      stage++;
    } else if (stage == 3) {
      char *end;
      long v = strncmp(line, "samples ", 8) == 0 ? strtol(line + 8, &end, 10)
                                                 : -1;
      if (v < 0 || v > 1000000000L || *end)
        snprintf(why, sizeof why, "corrupt: line %d: expected 'samples N'",
                 lineno);
      else if (v != want_samples)
        snprintf(why, sizeof why, "stale: made from %ld samples, this "
                 "calibration has %d", v, want_samples);
      samples = (int)v;
      stage++;
    } else if (stage == 4) {
      char *end;
      unsigned long long h = strncmp(line, "data ", 5) == 0
                                 ? strtoull(line + 5, &end, 16) : 0;
      if (strncmp(line, "data ", 5) != 0 || end == line + 5 || *end)
        snprintf(why, sizeof why, "corrupt: line %d: expected 'data KEY'",
                 lineno);
      else if (h != data_key)
        snprintf(why, sizeof why, "stale: made from other calibration data "
                 "(key %016llx, this data %016llx)", h,
                 (unsigned long long)data_key);
      stage++;
    } else {
      calib_range e = {.valid = true};
      char *p = line;
      if (!parse_float(&p, &e.lo) || !parse_float(&p, &e.hi) ||
          !parse_float(&p, &e.min) || !parse_float(&p, &e.max) || !*p) {
        snprintf(why, sizeof why, "corrupt: line %d: expected 'lo hi min "
                 "max name'", lineno);
        break;
      }
      if (e.lo > 0 || e.hi < 0 || e.lo > e.hi || e.min > e.max) {
        snprintf(why, sizeof why, "corrupt: line %d: tensor '%.200s': need "
                 "lo <= 0 <= hi and min <= max", lineno, p);
        break;
      }
      ir_tensor_id t = ir_graph_find_tensor(g, p);
      if (!t) {
        if (log)
          fprintf(log, "calibration cache %s: ignored '%s': no such tensor "
                  "in this graph\n", o->cache, p);
        n_ignored++;
      } else if (!obs[t]) {
        if (log)
          fprintf(log, "calibration cache %s: ignored '%s': not a float "
                  "tensor the graph computes or takes\n", o->cache, p);
        n_ignored++;
      } else if (r[t].valid) {
        snprintf(why, sizeof why, "corrupt: line %d: tensor '%.200s' listed "
                 "twice", lineno, p);
      } else {
        r[t] = e;
        n_used++;
      }
    }
  }
  if (!why[0] && ferror(f))
    snprintf(why, sizeof why, "read error");
  if (!why[0] && stage < 5)
    snprintf(why, sizeof why, "corrupt: truncated header");
  uint32_t missing = 0;
  const char *first_missing = NULL;
  for (uint32_t t = 1; !why[0] && t < nt; t++)
    if (obs[t] && !r[t].valid) {
      if (!missing++) first_missing = g->tensors[t].name;
    }
  if (!why[0] && missing)
    snprintf(why, sizeof why, "incomplete: %u tensor(s) have no entry "
             "(first: '%.200s')", missing, first_missing);
  free(line);
  fclose(f);
  if (why[0]) {
    if (log)
      fprintf(log, "calibration cache %s: rejected, %s; calibrating\n",
              o->cache, why);
    free(r);
    return NULL;
  }
  if (log)
    fprintf(log, "calibration cache %s: used %u entries, one per float "
            "tensor (%s, %d samples); ignored %u\n", o->cache, n_used,
            want_method, samples, n_ignored);
  out->n = nt;
  out->r = r;
  out->samples = 0;
  out->from_cache = true;
  *used = true;
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Writing                                                                 */
/*===------------------------------------------------------------------===*/
ingot_status calib_cache_write(const ir_graph *g, const calib_options *o,
                               uint64_t data_key, const calib_table *t) {
  size_t n = strlen(o->cache) + 8;
  char *tmp = malloc(n);
  if (!tmp) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  snprintf(tmp, n, "%s.tmp", o->cache);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    ingot_status s = ingot_make_status(INGOT_NOT_FOUND,
                                       "%s: cannot write the calibration "
                                       "cache: %s", tmp, strerror(errno));
    free(tmp);
    return s;
  }
  char method[64];
  calib_method_str(o->method, o->percentile, method, sizeof method);
  fprintf(f, "# ingot calibration cache: lo hi min max name, one tensor a "
          "line\ningot-calib-cache 2\ngraph %016llx\nmethod %s\nsamples %d\n"
          "data %016llx\n",
          (unsigned long long)calib_graph_hash(g), method, t->samples,
          (unsigned long long)data_key);
  uint32_t k = 0;
  for (uint32_t i = 1; i < t->n; i++)
    if (t->r[i].valid) {
      fprintf(f, "%.9g %.9g %.9g %.9g %s\n", t->r[i].lo, t->r[i].hi,
              t->r[i].min, t->r[i].max, g->tensors[i].name);
      k++;
    }
  bool bad = ferror(f) != 0;
  bad |= fclose(f) != 0;
  ingot_status s = NULL;
  if (bad || rename(tmp, o->cache) != 0) {
    s = ingot_make_status(INGOT_DATA_LOSS, "%s: cannot write the calibration "
                          "cache: %s", o->cache, strerror(errno));
    remove(tmp);
  } else if (o->log) {
    fprintf(o->log, "calibration cache %s: written (%u entries)\n", o->cache,
            k);
  }
  free(tmp);
  return s;
}
