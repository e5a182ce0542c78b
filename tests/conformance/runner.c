/* runner.c — ingot-conformance: runs ONNX backend tests.
 *
 * A test is a folder with model.onnx and test_data_set_N/ folders holding
 * input_K.pb and output_K.pb (serialized TensorProto).  Each PATH argument
 * is a test folder or a folder of test folders.  For each test the runner
 * imports the model, runs every data set through the reference interpreter
 * and compares with ONNX's tolerances: |got - want| <= atol + rtol*|want|
 * with rtol 1e-3, atol 1e-7 for floats (NaN matches NaN); integers and bool
 * exactly; dtype and shape exactly.
 *
 * Output: one line per test, "PASS name", "FAIL name: why" or "SKIP name:
 * why" (skip = Ingot reports the model as unsupported: an op, dtype or
 * attribute it does not implement), then exactly
 * "N passed, N failed, N skipped".
 * With --expect FILE (one test name per line, '#' comments), the exit code
 * is 1 if any listed test did not pass; otherwise 1 if any test failed.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ir.h"
#ifdef INGOT_HAVE_CODEGEN
#include "build.h"
#include "native_exec.h"
#include "passes.h"
#endif

typedef struct names {
  char **v;
  size_t n, cap;
} names;

static int names_add(names *l, const char *s) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    char **v = realloc(l->v, cap * sizeof *v);
    if (!v) return -1;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n] = strdup(s);
  return l->v[l->n++] ? 0 : -1;
}

static bool names_has(const names *l, const char *s) {
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->v[i], s) == 0) return true;
  return false;
}

static void names_free(names *l) {
  for (size_t i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_file(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}
static bool is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The last path component, without trailing slashes, in |buf|. */
static const char *base_name(const char *p, char *buf, size_t cap) {
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/') n--;
  size_t b = n;
  while (b > 0 && p[b - 1] != '/') b--;
  snprintf(buf, cap, "%.*s", (int)(n - b), p + b);
  return buf;
}

/* Compares |got| with |want|; on mismatch writes a reason into |why|. */
static bool compare(const ir_value *got, const ir_value *want, char *why,
                    size_t n) {
  char a[128], b[128];
  if (got->dtype != want->dtype) {
    snprintf(why, n, "dtype %s, expected %s", ir_dtype_name(got->dtype),
             ir_dtype_name(want->dtype));
    return false;
  }
  if (!ir_shape_equal(&got->shape, &want->shape)) {
    snprintf(why, n, "shape %s, expected %s",
             ir_shape_str(&got->shape, a, sizeof a),
             ir_shape_str(&want->shape, b, sizeof b));
    return false;
  }
  size_t count = ir_shape_numel(&want->shape);
  const ir_dtype_info *t = ir_dtype_get(want->dtype);
  for (size_t i = 0; i < count; i++) {
    if (t->is_float) {
      double x = ir_load_f64(got->dtype, got->data, i);
      double y = ir_load_f64(want->dtype, want->data, i);
      if (isnan(x) && isnan(y)) continue;
      if (isinf(y) && x == y) continue;
      if (!(fabs(x - y) <= 1e-7 + 1e-3 * fabs(y))) {
        snprintf(why, n, "element %zu is %.9g, expected %.9g", i, x, y);
        return false;
      }
    } else if (want->dtype == IR_U64) {
      uint64_t x = ir_load_u64(got->dtype, got->data, i);
      uint64_t y = ir_load_u64(want->dtype, want->data, i);
      if (x != y) {
        snprintf(why, n, "element %zu is %llu, expected %llu", i,
                 (unsigned long long)x, (unsigned long long)y);
        return false;
      }
    } else {
      int64_t x = ir_load_i64(got->dtype, got->data, i);
      int64_t y = ir_load_i64(want->dtype, want->data, i);
      if (x != y) {
        snprintf(why, n, "element %zu is %lld, expected %lld", i,
                 (long long)x, (long long)y);
        return false;
      }
    }
  }
  return true;
}

enum result { R_PASS, R_FAIL, R_SKIP };

typedef enum mode { MODE_REFERENCE, MODE_NATIVE, MODE_ENGINE } mode;

/* Reads test_data_set inputs into |inputs| (slots follow g->inputs). */
static ingot_status read_inputs(const ir_graph *g, const char *dir,
                                ir_value *inputs) {
  char path[4096];
  ingot_status s = NULL;
  for (uint32_t k = 0;; k++) {
    snprintf(path, sizeof path, "%s/input_%u.pb", dir, k);
    if (!is_file(path)) break;
    ir_value v;
    char *name = NULL;
    s = ir_read_tensor_pb(path, &v, &name);
    if (s) break;
    uint32_t slot = k;
    for (uint32_t i = 0; name && *name && i < g->n_inputs; i++)
      if (strcmp(g->tensors[g->inputs[i]].name, name) == 0) slot = i;
    free(name);
    if (slot >= g->n_inputs) { /* an input the model holds as initializer */
      ir_value_free(&v);
      continue;
    }
    /* ONNX's test data stores bfloat16 tensors as uint16 bit patterns
     * (numpy has no bfloat16): read them as the bfloat16 they are. */
    if (v.dtype == IR_U16 && g->tensors[g->inputs[slot]].dtype == IR_BF16)
      v.dtype = IR_BF16;
    ir_value_free(&inputs[slot]);
    inputs[slot] = v;
  }
  for (uint32_t i = 0; !s && i < g->n_inputs; i++)
    if (inputs[i].dtype == IR_DT_UNDEF)
      s = ingot_make_status(INGOT_NOT_FOUND, "%s: no data for input '%s'",
                            dir, g->tensors[g->inputs[i]].name);
  return s;
}

#ifdef INGOT_HAVE_CODEGEN
/* Engines need static shapes.  A test that feeds a shape-carrying value
 * (Reshape's shape, Slice's starts, Resize's scales, Range's limits,
 * Dropout's training_mode...) as a graph input is built again with those
 * inputs frozen to this data set's values (what --const-input does): every
 * integer or bool input, and float inputs of at most 8 values and rank <= 1
 * (scales, roi, scalars).  The kernels still read every other input at run
 * time. */
static bool shape_like(const ir_value *v) {
  if (v->dtype == IR_I64 || v->dtype == IR_I32 || v->dtype == IR_BOOL)
    return true;
  return ir_dtype_get(v->dtype)->is_float && v->shape.rank <= 1 &&
         ir_shape_numel(&v->shape) <= 8;
}

static ingot_status freeze_int_inputs(ir_graph *g, const ir_value *inputs,
                                      ir_value *kept) {
  uint32_t n = g->n_inputs, w = 0;
  char **names = calloc(n + 1, sizeof *names);
  if (!names) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "oom");
  for (uint32_t i = 0; i < n; i++) names[i] = strdup(g->tensors[g->inputs[i]].name);
  ingot_status s = NULL;
  for (uint32_t i = 0; !s && i < n; i++) {
    if (shape_like(&inputs[i]))
      s = pass_freeze_input(g, names[i], &inputs[i]);
    else
      kept[w++] = inputs[i];
  }
  for (uint32_t i = 0; i < n; i++) free(names[i]);
  free(names);
  return s;
}

static ingot_status run_compiled(mode md, const char *model,
                                 const char *dir, ir_value *outputs,
                                 uint32_t n_outputs) {
  ingot_status s = NULL;
  for (int attempt = 0; attempt < 2; attempt++) {
    ir_graph *g = NULL;
    s = ir_import_onnx_file(model, NULL, &g);
    if (s) return s;
    ir_value *inputs = calloc(g->n_inputs + 1, sizeof *inputs);
    ir_value *kept = calloc(g->n_inputs + 1, sizeof *kept);
    if (!inputs || !kept) s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "oom");
    if (!s) s = read_inputs(g, dir, inputs);
    uint32_t n_in = g->n_inputs;
    if (!s && attempt == 1) s = freeze_int_inputs(g, inputs, kept);
    else if (!s) memcpy(kept, inputs, n_in * sizeof *kept);
    if (!s && g->n_outputs != n_outputs)
      s = ingot_make_status(INGOT_INTERNAL, "output count changed");
    if (!s && md == MODE_NATIVE) {
      s = native_run(g, kept, outputs);
    } else if (!s) {
      void *bytes = NULL;
      size_t size = 0;
      s = cg_build_engine(g, NULL, &bytes, &size);
      ingot_engine *e = NULL;
      ingot_session *ss = NULL;
      if (!s) s = ingot_engine_load_memory(bytes, size, &e);
      free(bytes);
      if (!s) s = ingot_session_create(e, NULL, &ss);
      for (int i = 0; !s && i < ingot_engine_input_count(e); i++) {
        ingot_tensor_info info;
        s = ingot_engine_input_info(e, i, &info);
        const ir_value *v = NULL;
        for (uint32_t k = 0; !s && k < g->n_inputs; k++)
          if (strcmp(g->tensors[g->inputs[k]].name, info.name) == 0) v = &kept[k];
        if (!s && !v)
          s = ingot_make_status(INGOT_INTERNAL, "engine input '%s' unknown", info.name);
        if (!s)
          s = ingot_session_set_input(ss, i, (ingot_dtype)v->dtype, v->data,
                                      ir_value_nbytes(v));
      }
      if (!s) s = ingot_session_run(ss);
      for (uint32_t k = 0; !s && k < n_outputs; k++) {
        ingot_tensor_info info;
        s = ingot_engine_output_info(e, (int)k, &info);
        if (s) break;
        outputs[k].dtype = (ir_dtype)info.dtype;
        outputs[k].shape.rank = info.rank;
        for (int r = 0; r < info.rank; r++) outputs[k].shape.dims[r] = info.dims[r];
        s = ir_value_alloc(&outputs[k]);
        if (!s)
          s = ingot_session_get_output(ss, (int)k, info.dtype, outputs[k].data,
                                       ir_value_nbytes(&outputs[k]));
      }
      ingot_session_destroy(ss);
      ingot_engine_release(e);
    }
    for (uint32_t i = 0; inputs && i < n_in; i++) ir_value_free(&inputs[i]);
    free(inputs);
    free(kept);
    ir_graph_destroy(g);
    bool retry = attempt == 0 && s &&
                 (strstr(ingot_status_message(s), "depends on run-time data") ||
                  strstr(ingot_status_message(s), "must be a constant"));
    if (!retry) break;
    for (uint32_t k = 0; k < n_outputs; k++) ir_value_free(&outputs[k]);
    ingot_status_free(s);
    s = NULL;
  }
  return s;
}
#endif

/* Runs one data set folder.  Returns R_PASS/R_FAIL/R_SKIP and a reason. */
static enum result run_set(mode md, const char *model, const ir_graph *g,
                           const char *dir, char *why, size_t n) {
  enum result r = R_PASS;
  ir_value *inputs = calloc(g->n_inputs + 1, sizeof *inputs);
  ir_value *outputs = calloc(g->n_outputs + 1, sizeof *outputs);
  char path[4096];
  ingot_status s = NULL;
  if (!inputs || !outputs) {
    snprintf(why, n, "out of memory");
    r = R_FAIL;
    goto done;
  }
  if (md == MODE_REFERENCE) {
    s = read_inputs(g, dir, inputs);
    if (!s) s = ir_interp_run(g, inputs, outputs, NULL);
  } else {
#ifdef INGOT_HAVE_CODEGEN
    s = run_compiled(md, model, dir, outputs, g->n_outputs);
#else
    (void)model;
    s = ingot_make_status(INGOT_UNIMPLEMENTED, "built without codegen");
#endif
  }
  if (s) {
    r = ingot_status_code_of(s) == INGOT_UNIMPLEMENTED ? R_SKIP : R_FAIL;
    snprintf(why, n, "%s", ingot_status_message(s));
    ingot_status_free(s);
    goto done;
  }
  for (uint32_t k = 0; k < g->n_outputs; k++) {
    snprintf(path, sizeof path, "%s/output_%u.pb", dir, k);
    ir_value want;
    s = ir_read_tensor_pb(path, &want, NULL);
    if (s) {
      snprintf(why, n, "%s", ingot_status_message(s));
      ingot_status_free(s);
      r = R_FAIL;
      break;
    }
    char reason[512];
    if (want.dtype == IR_U16 && outputs[k].dtype == IR_BF16)
      want.dtype = IR_BF16; /* bit patterns, as for inputs above */
    if (!compare(&outputs[k], &want, reason, sizeof reason)) {
      snprintf(why, n, "output '%s': %s",
               g->tensors[g->outputs[k]].name, reason);
      r = R_FAIL;
    }
    ir_value_free(&want);
    if (r != R_PASS) break;
  }
done:
  for (uint32_t i = 0; inputs && i < g->n_inputs; i++) ir_value_free(&inputs[i]);
  for (uint32_t i = 0; outputs && i < g->n_outputs; i++)
    ir_value_free(&outputs[i]);
  free(inputs);
  free(outputs);
  return r;
}

static enum result run_test(mode md, const char *dir, char *why, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  ir_graph *g;
  ingot_status s = ir_import_onnx_file(path, NULL, &g);
  if (s) {
    enum result r =
        ingot_status_code_of(s) == INGOT_UNIMPLEMENTED ? R_SKIP : R_FAIL;
    snprintf(why, n, "%s", ingot_status_message(s));
    ingot_status_free(s);
    return r;
  }
  names sets = {0};
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strncmp(e->d_name, "test_data_set_", 14) == 0) names_add(&sets, e->d_name);
  if (d) closedir(d);
  qsort(sets.v, sets.n, sizeof *sets.v, cmp_str);
  enum result r = R_PASS;
  if (sets.n == 0) {
    snprintf(why, n, "no test_data_set_* folders");
    r = R_FAIL;
  }
  char model[4096];
  snprintf(model, sizeof model, "%s/model.onnx", dir);
  for (size_t i = 0; r == R_PASS && i < sets.n; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, sets.v[i]);
    r = run_set(md, model, g, path, why, n);
  }
  names_free(&sets);
  ir_graph_destroy(g);
  return r;
}

static int collect(const char *path, names *tests) {
  char p[4096];
  snprintf(p, sizeof p, "%s/model.onnx", path);
  if (is_file(p)) return names_add(tests, path);
  if (!is_dir(path)) {
    fprintf(stderr, "ingot-conformance: %s: not a test folder\n", path);
    return -1;
  }
  names sub = {0};
  DIR *d = opendir(path);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    snprintf(p, sizeof p, "%s/%s/model.onnx", path, e->d_name);
    if (is_file(p)) {
      snprintf(p, sizeof p, "%s/%s", path, e->d_name);
      names_add(&sub, p);
    }
  }
  if (d) closedir(d);
  qsort(sub.v, sub.n, sizeof *sub.v, cmp_str);
  for (size_t i = 0; i < sub.n; i++) names_add(tests, sub.v[i]);
  names_free(&sub);
  return 0;
}

static int read_expect(const char *file, names *out) {
  FILE *f = fopen(file, "r");
  if (!f) {
    fprintf(stderr, "ingot-conformance: cannot open %s\n", file);
    return -1;
  }
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    char *s = line;
    while (*s == ' ' || *s == '\t') s++;
    s[strcspn(s, " \t\r\n#")] = 0;
    if (*s) names_add(out, s);
  }
  fclose(f);
  return 0;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: ingot-conformance [--reference|--native|--engine] "
          "[--expect FILE] [--quiet] PATH...\n"
          "  Runs ONNX backend tests (folders with model.onnx and "
          "test_data_set_N/).\n"
          "  PATH is a test folder or a folder of test folders.\n"
          "  --reference    run through the reference interpreter (the "
          "default)\n"
          "  --native       plan (passes, layout, lowering) and run the "
          "natively compiled kernel templates\n"
          "  --engine       build an engine per test (LLVM) and run it "
          "with libingot_rt\n"
          "  --expect FILE  tests (by folder name) that must pass; exit 1 "
          "if one does not\n"
          "  --quiet        print only failures, skips and the summary\n");
}

int main(int argc, char **argv) {
  names tests = {0}, expect = {0};
  bool quiet = false, have_expect = false;
  mode md = MODE_REFERENCE;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--reference") == 0) {
      md = MODE_REFERENCE;
    } else if (strcmp(argv[i], "--native") == 0) {
      md = MODE_NATIVE;
    } else if (strcmp(argv[i], "--engine") == 0) {
      md = MODE_ENGINE;
    } else if (strcmp(argv[i], "--quiet") == 0) {
      quiet = true;
    } else if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc) {
      if (read_expect(argv[++i], &expect)) return 2;
      have_expect = true;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "ingot-conformance: unknown option %s\n", argv[i]);
      usage(stderr);
      return 2;
    } else if (collect(argv[i], &tests)) {
      return 2;
    }
  }
  if (tests.n == 0) {
    usage(stderr);
    return 2;
  }
  int passed = 0, failed = 0, skipped = 0, expected_missing = 0;
  for (size_t i = 0; i < tests.n; i++) {
    char why[2048] = "";
    char name_buf[1024];
    const char *name = base_name(tests.v[i], name_buf, sizeof name_buf);
    enum result r = run_test(md, tests.v[i], why, sizeof why);
    if (r == R_PASS) {
      passed++;
      if (!quiet) printf("PASS %s\n", name);
    } else if (r == R_FAIL) {
      failed++;
      printf("FAIL %s: %s\n", name, why);
    } else {
      skipped++;
      printf("SKIP %s: %s\n", name, why);
    }
    if (have_expect && r != R_PASS && names_has(&expect, name)) {
      expected_missing++;
      printf("  ^ %s is in the expected-pass list\n", name);
    }
    fflush(stdout);
  }
  /* A listed test that was not run at all (renamed, removed, or the wrong
   * folder given) must not pass silently either. */
  for (size_t i = 0; have_expect && i < expect.n; i++) {
    char name_buf[1024];
    bool ran = false;
    for (size_t t = 0; !ran && t < tests.n; t++)
      ran = strcmp(base_name(tests.v[t], name_buf, sizeof name_buf),
                   expect.v[i]) == 0;
    if (!ran) {
      expected_missing++;
      printf("MISSING %s: in the expected-pass list but not found\n",
             expect.v[i]);
    }
  }
  printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  names_free(&tests);
  names_free(&expect);
  if (have_expect) return expected_missing ? 1 : 0;
  return failed ? 1 : 0;
}
