/* peak.c — measure the machine's fp32 peak for one instruction set.
 *
 * The micro-benchmark keeps 12 independent accumulators in vector
 * registers and updates each with a fused multiply-add, acc = acc * m + c,
 * in a loop: 12 chains are more than latency (4 cycles) times issue rate
 * (2 per cycle) on current x86 cores, so the FMA units never wait.  Each
 * FMA counts as 2 flops per lane.  SSE has no FMA; its kernel runs 6
 * multiply and 6 add chains, 1 flop per lane each — the most a baseline
 * x86-64 kernel can retire.  m and c keep every value near 1, so no
 * denormals slow it down.  Each ISA's kernel is compiled for that ISA
 * alone with a target attribute and is called only after
 * __builtin_cpu_supports says this CPU (and its OS) runs it.
 *
 * With T threads, T copies start together on a flag; the peak is
 * the flops of all of them over the wall time until the last one ends,
 * best of 3 tries (so SMT siblings sharing FMA units show as such).  Each
 * try is sized to about 20 ms from a short probe run.  One thread is
 * timed by its own CPU time instead, so other processes taking the CPU
 * do not lower its peak (on a machine loaded 8-fold, wall time once gave
 * 24 instead of 200 GFLOP/s; ingot profile now re-measures a cached peak
 * that a step exceeds, see cmd_profile.c).
 *
 * Cache: lines "CPU ISA THREADS GFLOPS" after a comment header, CPU being
 * the CPUID brand string with blanks as '_'.  A line for another CPU is
 * kept but ignored, so a home directory shared between machines works.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../runtime/engine_format.h" /* INGOT_CPU_* bits */
#include "peak.h"

#define CHAINS 12
#define TRY_SECONDS 0.02
#define TRIES 3

typedef double (*peak_kernel)(long iters); /* returns a checksum */

static const char *const isa_names[] = {"sse", "avx2", "avx512"};

const char *peak_isa_name(peak_isa isa) {
  return isa <= PEAK_AVX512 ? isa_names[isa] : "?";
}

peak_isa peak_isa_of(unsigned long long f) {
  unsigned long long avx512 = INGOT_CPU_AVX512F | INGOT_CPU_AVX512BW |
                              INGOT_CPU_AVX512DQ | INGOT_CPU_AVX512VL;
  unsigned long long avx2 = INGOT_CPU_AVX2 | INGOT_CPU_FMA;
  if ((f & avx512) == avx512) return PEAK_AVX512;
  if ((f & avx2) == avx2) return PEAK_AVX2;
  return PEAK_SSE;
}

/*===--- the kernels: one per ISA, each compiled for its ISA only ------===*/

#if defined(__clang__)
#define NO_SAN __attribute__((no_sanitize("address", "undefined")))
#else
#define NO_SAN
#endif

NO_SAN __attribute__((target("avx512f"), noinline)) static double
fma_avx512(long iters) {
  __m512 a[CHAINS];
  const __m512 m = _mm512_set1_ps(0.9999999f), c = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < CHAINS; i++) a[i] = _mm512_set1_ps(1.0f + (float)i);
  for (long n = 0; n < iters; n++)
    for (int i = 0; i < CHAINS; i++) a[i] = _mm512_fmadd_ps(a[i], m, c);
  __m512 s = a[0];
  for (int i = 1; i < CHAINS; i++) s = _mm512_add_ps(s, a[i]);
  return (double)_mm512_reduce_add_ps(s);
}

NO_SAN __attribute__((target("avx2,fma"), noinline)) static double
fma_avx2(long iters) {
  __m256 a[CHAINS];
  const __m256 m = _mm256_set1_ps(0.9999999f), c = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < CHAINS; i++) a[i] = _mm256_set1_ps(1.0f + (float)i);
  for (long n = 0; n < iters; n++)
    for (int i = 0; i < CHAINS; i++) a[i] = _mm256_fmadd_ps(a[i], m, c);
  __m256 s = a[0];
  for (int i = 1; i < CHAINS; i++) s = _mm256_add_ps(s, a[i]);
  float v[8];
  _mm256_storeu_ps(v, s);
  return (double)v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
}

NO_SAN __attribute__((target("sse2"), noinline)) static double
muladd_sse(long iters) {
  __m128 a[CHAINS];
  const __m128 m = _mm_set1_ps(0.9999999f), c = _mm_set1_ps(1e-7f);
  for (int i = 0; i < CHAINS; i++) a[i] = _mm_set1_ps(1.0f + (float)i);
  for (long n = 0; n < iters; n++) {
    for (int i = 0; i < CHAINS / 2; i++) a[i] = _mm_mul_ps(a[i], m);
    for (int i = CHAINS / 2; i < CHAINS; i++) a[i] = _mm_add_ps(a[i], c);
  }
  __m128 s = a[0];
  for (int i = 1; i < CHAINS; i++) s = _mm_add_ps(s, a[i]);
  float v[4];
  _mm_storeu_ps(v, s);
  return (double)v[0] + v[1] + v[2] + v[3];
}

static const struct {
  peak_kernel fn;
  double flops_per_iter;
} kernels[] = {
    [PEAK_SSE] = {muladd_sse, CHAINS * 4 * 1},
    [PEAK_AVX2] = {fma_avx2, CHAINS * 8 * 2},
    [PEAK_AVX512] = {fma_avx512, CHAINS * 16 * 2},
};

static bool cpu_runs(peak_isa isa) {
  __builtin_cpu_init();
  switch (isa) {
  case PEAK_AVX512: return __builtin_cpu_supports("avx512f");
  case PEAK_AVX2:
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  case PEAK_SSE: return __builtin_cpu_supports("sse2");
  }
  return false;
}

/*===--- timing -----------------------------------------------------------===*/

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct job {
  peak_kernel fn;
  long iters;
  atomic_int *go; /* 0 wait, 1 run, 2 give up */
  double end, cpu, sink; /* cpu: the thread's CPU seconds for the run */
} job;

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *run_job(void *arg) {
  job *j = arg;
  int go;
  while ((go = atomic_load(j->go)) == 0) sched_yield();
  if (go == 1) {
    double c0 = cpu_s();
    j->sink = j->fn(j->iters);
    j->end = now_s();
    j->cpu = cpu_s() - c0;
  }
  return NULL;
}

/* One try: |threads| copies of the kernel at once; returns flops/s. */
static ingot_status try_once(peak_isa isa, int threads, long iters,
                             double *out) {
  job *jobs = calloc((size_t)threads, sizeof *jobs);
  pthread_t *tids = calloc((size_t)threads, sizeof *tids);
  if (!jobs || !tids) {
    free(jobs);
    free(tids);
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                             "peak benchmark: out of memory");
  }
  atomic_int go = 0;
  for (int t = 0; t < threads; t++)
    jobs[t] = (job){kernels[isa].fn, iters, &go, 0, 0, 0};
  int started = 1;
  while (started < threads &&
         pthread_create(&tids[started], NULL, run_job, &jobs[started]) == 0)
    started++;
  ingot_status s = NULL;
  double t0 = now_s(), end = 0, sink = 0;
  if (started < threads) {
    atomic_store(&go, 2);
    s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                          "peak benchmark: could start only %d of %d threads",
                          started, threads);
  } else {
    t0 = now_s();
    atomic_store(&go, 1);
    double c0 = cpu_s();
    jobs[0].sink = jobs[0].fn(iters);
    jobs[0].end = now_s();
    jobs[0].cpu = cpu_s() - c0;
  }
  for (int t = 1; t < started; t++) pthread_join(tids[t], NULL);
  double jobs_cpu = jobs[0].cpu;
  for (int t = 0; !s && t < threads; t++) {
    if (jobs[t].end > end) end = jobs[t].end;
    sink += jobs[t].sink;
  }
  free(jobs);
  free(tids);
  if (s) return s;
  if (!(sink == sink) || end <= t0)
    return ingot_make_status(INGOT_INTERNAL, "peak benchmark: bad timing");
  double span = threads == 1 && jobs_cpu > 0 ? jobs_cpu : end - t0;
  *out = kernels[isa].flops_per_iter * (double)iters * threads / span;
  return NULL;
}

static ingot_status measure(peak_isa isa, int threads, double *gflops) {
  /* size a try to TRY_SECONDS from a short single-thread probe */
  long probe = 20000;
  double t0 = now_s();
  volatile double sink = kernels[isa].fn(probe);
  (void)sink;
  double dt = now_s() - t0;
  long iters = dt > 0 ? (long)(probe * TRY_SECONDS / dt) : probe * 100;
  if (iters < probe) iters = probe;
  double best = 0;
  for (int k = 0; k < TRIES; k++) {
    double f;
    INGOT_RETURN_IF_ERROR(try_once(isa, threads, iters, &f));
    if (f > best) best = f;
  }
  *gflops = best * 1e-9;
  return NULL;
}

/*===--- the cache --------------------------------------------------------===*/

static void cpu_brand(char *buf, size_t n) {
  unsigned r[12] = {0}, max = __get_cpuid_max(0x80000000, NULL);
  if (max >= 0x80000004)
    for (unsigned k = 0; k < 3; k++)
      __get_cpuid(0x80000002 + k, &r[4 * k], &r[4 * k + 1], &r[4 * k + 2],
                  &r[4 * k + 3]);
  char raw[49];
  memcpy(raw, r, 48);
  raw[48] = '\0';
  size_t len = 0;
  for (const char *p = raw; *p && len + 1 < n; p++) {
    if (*p == ' ' && (len == 0 || buf[len - 1] == '_')) continue;
    buf[len++] = (*p == ' ' || *p == '\t') ? '_' : *p;
  }
  while (len && buf[len - 1] == '_') len--;
  if (!len && n > 8) len = (size_t)snprintf(buf, n, "unknown");
  buf[len < n ? len : n - 1] = '\0';
}

/* $XDG_CACHE_HOME/ingot/peak.txt or $HOME/.cache/ingot/peak.txt; creates
 * the directories.  "" when neither variable is set. */
static void cache_path(char *buf, size_t n) {
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  char dir[900];
  buf[0] = '\0';
  if (xdg && *xdg)
    snprintf(dir, sizeof dir, "%s", xdg);
  else if (home && *home)
    snprintf(dir, sizeof dir, "%s/.cache", home);
  else
    return;
  mkdir(dir, 0755);
  size_t len = strlen(dir);
  snprintf(dir + len, sizeof dir - len, "/ingot");
  mkdir(dir, 0755);
  snprintf(buf, n, "%s/peak.txt", dir);
}

static bool cache_lookup(const char *path, const char *cpu, peak_isa isa,
                         int threads, double *out) {
  FILE *f = path[0] ? fopen(path, "r") : NULL;
  if (!f) return false;
  char line[512], c[256], i[32];
  int t;
  double g;
  bool found = false;
  while (fgets(line, sizeof line, f))
    if (line[0] != '#' &&
        sscanf(line, "%255s %31s %d %lf", c, i, &t, &g) == 4 &&
        strcmp(c, cpu) == 0 && strcmp(i, peak_isa_name(isa)) == 0 &&
        t == threads && g > 0) {
      *out = g;
      found = true;
    }
  fclose(f);
  return found;
}

static void cache_store(const char *path, const char *cpu, peak_isa isa,
                        int threads, double gflops) {
  if (!path[0]) return;
  FILE *f = fopen(path, "a");
  if (!f) return;
  if (ftell(f) == 0)
    fputs("# ingot profile: fp32 peak GFLOP/s per CPU, ISA and thread "
          "count\n# measured by compiler/peak.c; delete this file to "
          "measure again\n",
          f);
  fprintf(f, "%s %s %d %.2f\n", cpu, peak_isa_name(isa), threads, gflops);
  fclose(f);
}

static ingot_status peak_get(peak_isa isa, int threads, bool fresh,
                             peak_result *out) {
  memset(out, 0, sizeof *out);
  if (isa > PEAK_AVX512 || threads < 1)
    return ingot_make_status(INGOT_INVALID_ARGUMENT, "peak: bad arguments");
  if (!cpu_runs(isa))
    return ingot_make_status(INGOT_INCOMPATIBLE,
                             "peak: this CPU cannot run %s code",
                             peak_isa_name(isa));
  char cpu[128];
  cpu_brand(cpu, sizeof cpu);
  cache_path(out->cache, sizeof out->cache);
  if (!fresh && cache_lookup(out->cache, cpu, isa, threads, &out->gflops)) {
    out->cached = true;
    return NULL;
  }
  INGOT_RETURN_IF_ERROR(measure(isa, threads, &out->gflops));
  cache_store(out->cache, cpu, isa, threads, out->gflops);
  return NULL;
}

ingot_status peak_gflops(peak_isa isa, int threads, peak_result *out) {
  return peak_get(isa, threads, false, out);
}

ingot_status peak_gflops_measure(peak_isa isa, int threads, peak_result *out) {
  return peak_get(isa, threads, true, out);
}
