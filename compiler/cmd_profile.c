/* cmd_profile.c — ingot profile: where an engine spends its time, step by
 * step, mapped back to the model's nodes.
 *
 * Method.  After the warm-up runs, each iteration makes one unprofiled run
 * timed from outside (the end-to-end latency) and one run with per-step
 * timing (libingot_rt's INGOT_PROFILE_TIME, plus TRACE for a Chrome
 * trace), in alternating order, so both see the same machine state; where
 * the kernel allows hardware counters, a third run per iteration counts
 * them (counting costs syscalls, so it never shares a run with timing).
 * Step statistics are over the profiled runs.  A step's time is its mean
 * over the quarter of the profiled runs with the shortest run times (the
 * runtime's quiet_us), so the step times add up to those runs' mean; the
 * total compares that sum with the same statistic of the unprofiled runs.
 * Step medians would not add up on a busy machine: interruptions that hit
 * most runs hit few samples of any one step.  Both sides have one clock
 * read's cost (measured by the runtime) taken off.
 *
 * The % of peak column relates a step's fp32 GFLOP/s to what the machine
 * can do with the instruction set the engine was built for, on as many
 * threads as the step was split over (peak.c measures and caches it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_io.h"
#include "profile_report.h"

static const char *const help_profile =
    "usage: ingot profile ENGINE [--iterations N] [--warmup N] [--threads N]\n"
    "                     [--input NAME=FILE ...] [--format FORMAT]\n"
    "                     [--output FILE]\n"
    "\n"
    "Runs ENGINE and reports every step: the model nodes it computes, op,\n"
    "precision, kernel family, time (mean over the quarter of the runs\n"
    "with the shortest run times) and share,\n"
    "arithmetic ops and GOPS, bytes and GB/s, and the % of this machine's\n"
    "fp32 peak for the engine's instruction set; then the sum of the\n"
    "steps against the end-to-end latency of unprofiled runs interleaved\n"
    "with the profiled ones.  Hardware counters (cycles, IPC, cache misses)\n"
    "are added where the kernel allows perf_event_open.  The peak is\n"
    "measured once per CPU and cached in $XDG_CACHE_HOME/ingot/peak.txt.\n"
    "\n"
    "  --iterations N   profiled runs, each paired with an unprofiled run\n"
    "                   (default 200)\n"
    "  --warmup N       untimed runs first (default 20)\n"
    "  --threads N      threads (default: all CPUs)\n"
    "  --device cpu|cuda  cuda: GPU 0; step times from CUDA events recorded\n"
    "                   between the kernel launches (no hardware counters)\n"
    "  --input NAME=FILE  real input data (.npy or .pb); others get a fixed\n"
    "                   pattern\n"
    "  --format F       table (default, sorted by time), json, chrome (a\n"
    "                   Chrome trace for Perfetto: one track per thread) or\n"
    "                   svg (per-step time bars coloured by precision)\n"
    "  --output FILE, -o FILE  write there instead of stdout\n"
    "\n"
    "Formats: docs/profile-format.md.\n";

enum { FMT_TABLE, FMT_JSON, FMT_CHROME, FMT_SVG };
static const char *const format_names[] = {"table", "json", "chrome", "svg"};

/* Kernel template prefixes -> families (codegen/kernels/generic/<f>.c);
 * the first matching prefix wins. */
static const struct {
  const char *prefix, *family;
} families[] = {
    {"k_conv", "conv"},       {"k_mm", "matmul"},
    {"k_ew", "elementwise"},  {"k_pool", "pool"},
    {"k_norm", "norm"},       {"k_red", "reduce"},
    {"k_mv", "movement"},     {"k_rs", "resize"},
    {"k_qconv", "conv"},      {"k_ql_", "elementwise"},
    {"k_q", "quant"},         {"k_plan_relayout", "layout"},
    {"k_plan_copy", "copy"},  {"k_pad_", "copy"},
};

static const char *family_of(const char *kernel) {
  for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
    if (strncmp(kernel, families[i].prefix, strlen(families[i].prefix)) == 0)
      return families[i].family;
  return kernel;
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static ingot_status run_with(ingot_session *s, unsigned flags) {
  INGOT_RETURN_IF_ERROR(ingot_session_set_profiling(s, flags));
  ingot_status st = ingot_session_run(s);
  ingot_status off = ingot_session_set_profiling(s, 0);
  if (st) {
    ingot_status_free(off);
    return st;
  }
  return off;
}

/* The measurement loop (see the file comment); fills |e2e| (us). */
static ingot_status measure(ingot_session *s, int warmup, int iters,
                            unsigned prof_flags, double *e2e) {
  for (int i = 0; i < warmup; i++) INGOT_RETURN_IF_ERROR(ingot_session_run(s));
  /* Turning profiling on measures the clock's cost, and finds out
   * whether counters work; nothing is recorded without a run. */
  INGOT_RETURN_IF_ERROR(
      ingot_session_set_profiling(s, prof_flags | INGOT_PROFILE_COUNTERS));
  INGOT_RETURN_IF_ERROR(ingot_session_set_profiling(s, 0));
  ingot_profile_summary sum;
  INGOT_RETURN_IF_ERROR(ingot_session_profile_summary(s, &sum));
  double overhead_us = sum.timer_overhead_ns * 1e-3;
  for (int i = 0; i < iters; i++) {
    for (int half = 0; half < 2; half++) {
      if ((half == 0) == (i % 2 == 0)) {
        double t0 = now_us();
        INGOT_RETURN_IF_ERROR(ingot_session_run(s));
        double t = now_us() - t0 - overhead_us;
        e2e[i] = t > 0 ? t : 0;
      } else {
        INGOT_RETURN_IF_ERROR(run_with(s, prof_flags));
      }
    }
    if (sum.counters)
      INGOT_RETURN_IF_ERROR(run_with(s, INGOT_PROFILE_COUNTERS));
  }
  return NULL;
}

/* Fills the peak of every fp32 step that does arithmetic. */
static void add_peaks(prof_report *r) {
  enum { MAX_T = 64 };
  double cache_g[MAX_T + 1] = {0};
  int asked[MAX_T + 1] = {0}; /* 1 asked, 2 measured again */
  bool cached[MAX_T + 1] = {false};
  peak_result pr = {0};
  bool any = false, measured = false;
  ingot_status err = NULL;
  for (int i = 0; i < r->n_rows; i++) {
    prof_row *w = &r->rows[i];
    w->peak_pct = -1;
    int t = w->p.threads;
    if (w->info.precision != INGOT_FLOAT32 || !w->info.ops || t < 1 ||
        t > MAX_T || w->p.quiet_us <= 0)
      continue;
    /* A step faster than the cached peak shows the cache is stale (it
     * was measured while other processes had the CPU): measure again. */
    bool stale = asked[t] == 1 && cache_g[t] > 0 && cached[t] &&
                 w->gops > 1.05 * cache_g[t];
    if (!asked[t] || stale) {
      asked[t] = stale ? 2 : 1;
      ingot_status s = stale ? peak_gflops_measure(r->isa, t, &pr)
                             : peak_gflops(r->isa, t, &pr);
      if (s) {
        if (!err) err = s;
        else ingot_status_free(s);
      } else {
        cache_g[t] = pr.gflops;
        cached[t] = pr.cached;
        any = true;
        measured |= !pr.cached;
      }
    }
  }
  for (int i = 0; i < r->n_rows; i++) { /* after any measuring again */
    prof_row *w = &r->rows[i];
    int t = w->p.threads;
    if (w->info.precision != INGOT_FLOAT32 || !w->info.ops || t < 1 ||
        t > MAX_T || w->p.quiet_us <= 0 || cache_g[t] <= 0)
      continue;
    w->peak_gflops = cache_g[t];
    w->peak_pct = 100.0 * w->gops / cache_g[t];
  }
  size_t len = 0;
  r->peak_note[0] = '\0';
  for (int t = 1; t <= MAX_T; t++)
    if (cache_g[t] > 0 && len < sizeof r->peak_note)
      len += (size_t)snprintf(r->peak_note + len, sizeof r->peak_note - len,
                              "%s%d thread%s %.1f GFLOP/s", len ? ", " : "",
                              t, t > 1 ? "s" : "", cache_g[t]);
  if (any && len < sizeof r->peak_note)
    snprintf(r->peak_note + len, sizeof r->peak_note - len, " (%s%s)",
             measured ? "measured now" : "cached",
             pr.cache[0] ? "" : "; no cache: set HOME or XDG_CACHE_HOME");
  if (err) {
    if (!any)
      snprintf(r->peak_note, sizeof r->peak_note, "unknown: %s",
               ingot_status_message(err));
    ingot_status_free(err);
  } else if (!any) {
    snprintf(r->peak_note, sizeof r->peak_note,
             "not needed (no fp32 step does arithmetic)");
  }
}

static ingot_status build_report(ingot_engine *e, ingot_session *s,
                                 const double *e2e, prof_report *r) {
  ingot_engine_get_info(e, &r->info);
  r->isa = peak_isa_of(r->info.cpu_features);
  r->session = s;
  r->threads = ingot_session_thread_count(s);
  INGOT_RETURN_IF_ERROR(ingot_session_profile_summary(s, &r->summary));
  r->n_rows = r->info.step_count;
  r->rows = calloc((size_t)r->n_rows + 1, sizeof *r->rows);
  if (!r->rows)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  r->step_sum_us = 0;
  for (int i = 0; i < r->n_rows; i++) {
    prof_row *w = &r->rows[i];
    w->index = i;
    INGOT_RETURN_IF_ERROR(ingot_engine_step_info(e, i, &w->info));
    INGOT_RETURN_IF_ERROR(ingot_session_step_profile(s, i, &w->p));
    w->family = family_of(w->info.kernel);
    r->step_sum_us += w->p.quiet_us;
    if (w->p.quiet_us > 0) {
      w->gops = (double)w->info.ops / (w->p.quiet_us * 1e3);
      w->gbps = (double)w->info.bytes / (w->p.quiet_us * 1e3);
    }
  }
  for (int i = 0; i < r->n_rows; i++)
    r->rows[i].share =
        r->step_sum_us > 0 ? r->rows[i].p.quiet_us / r->step_sum_us : 0;
  int n = r->iterations;
  double *v = malloc((size_t)n * sizeof *v);
  if (!v) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  memcpy(v, e2e, (size_t)n * sizeof *v);
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  double total = 0;
  for (int i = 0; i < n; i++) total += v[i];
  r->e2e_min_us = v[0];
  r->e2e_median_us = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  r->e2e_mean_us = total / n;
  int q = n / 4 ? n / 4 : 1;
  double quiet = 0;
  for (int i = 0; i < q; i++) quiet += v[i];
  r->e2e_quiet_us = quiet / q;
  free(v);
  add_peaks(r);
  return NULL;
}

static int parse_count(const char *opt, const char *arg, int min, int *out) {
  char *end;
  long v = strtol(arg, &end, 10);
  if (*arg == '\0' || *end || v < min || v > 100000000) {
    fprintf(stderr, "ingot profile: %s needs a number >= %d, not '%s'\n"
                    "(see 'ingot profile --help')\n", opt, min, arg);
    return 0;
  }
  *out = (int)v;
  return 1;
}

int cmd_profile(int argc, char **argv) {
  const char *path = NULL, *out_path = NULL;
  const char *inputs[CLI_MAX_INPUTS];
  int n_inputs = 0, iters = 200, warmup = 20, threads = 0, format = FMT_TABLE;
  const char *device = NULL;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    bool has_arg = i + 1 < argc;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(help_profile, stdout);
      return 0;
    } else if (strcmp(a, "--iterations") == 0 && has_arg) {
      if (!parse_count(a, argv[++i], 1, &iters)) return 2;
    } else if (strcmp(a, "--warmup") == 0 && has_arg) {
      if (!parse_count(a, argv[++i], 0, &warmup)) return 2;
    } else if (strcmp(a, "--device") == 0 && has_arg) {
      device = argv[++i];
    } else if (strcmp(a, "--threads") == 0 && has_arg) {
      if (!parse_count(a, argv[++i], 1, &threads)) return 2;
    } else if (strcmp(a, "--input") == 0 && has_arg) {
      if (n_inputs == CLI_MAX_INPUTS)
        return cli_usage_error("profile", "%s", "too many --input");
      inputs[n_inputs++] = argv[++i];
    } else if (strcmp(a, "--format") == 0 && has_arg) {
      const char *f = argv[++i];
      format = -1;
      for (int k = 0; k < 4; k++)
        if (strcmp(f, format_names[k]) == 0) format = k;
      if (format < 0)
        return cli_usage_error(
            "profile", "--format is table, json, chrome or svg, not '%s'", f);
    } else if ((strcmp(a, "--output") == 0 || strcmp(a, "-o") == 0) &&
               has_arg) {
      out_path = argv[++i];
    } else if (a[0] == '-') {
      return cli_usage_error("profile", "unknown or incomplete option '%s'",
                             a);
    } else if (!path) {
      path = a;
    } else {
      return cli_usage_error("profile", "unexpected argument '%s'", a);
    }
  }
  if (!path) return cli_usage_error("profile", "%s", "missing ENGINE");

  ingot_engine *e = NULL;
  ingot_session *s = NULL;
  prof_report r = {.engine_path = path, .iterations = iters,
                   .warmup = warmup};
  double *e2e = calloc((size_t)iters, sizeof *e2e);
  ingot_status st =
      e2e ? NULL : ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  if (!st) st = eio_open_device(path, threads, device, &e, &s);
  if (!st) st = eio_set_inputs(e, s, inputs, n_inputs, false);
  unsigned flags = INGOT_PROFILE_TIME;
  if (format == FMT_CHROME) flags |= INGOT_PROFILE_TRACE;
  if (!st) st = measure(s, warmup, iters, flags, e2e);
  if (!st) st = build_report(e, s, e2e, &r);
  FILE *f = NULL;
  if (!st) {
    f = out_path ? fopen(out_path, "w") : stdout;
    if (!f)
      st = ingot_make_status(INGOT_NOT_FOUND, "%s: cannot write: %s",
                             out_path, strerror(errno));
  }
  int rc = 0;
  if (!st) {
    int werr = format == FMT_JSON     ? prof_write_json(f, &r)
               : format == FMT_CHROME ? prof_write_chrome(f, &r)
               : format == FMT_SVG    ? prof_write_svg(f, &r)
                                      : prof_write_table(f, &r);
    if (fflush(f) != 0) werr = 1;
    if (f != stdout && fclose(f) != 0) werr = 1;
    if (werr)
      st = ingot_make_status(INGOT_DATA_LOSS, "%s: write failed",
                             out_path ? out_path : "stdout");
  }
  if (st) rc = cli_fail(st);
  free(r.rows);
  free(e2e);
  ingot_session_destroy(s);
  ingot_engine_release(e);
  return rc;
}
