/* peak_int8.c — this machine's int8 (and fp32) peaks, per instruction set.
 *
 * Each kernel is the instruction a family's inner loop is built from, run
 * with enough independent accumulators that its latency never shows, so
 * the figure is the issue-rate ceiling a real kernel can approach but not
 * pass:
 *
 *   amx          tdpbusd, accumulators and both operands in tiles: a 2x2
 *                block, tiles 0-3 accumulate A(4,5) x B(6,7); each
 *                instruction is 16x16 outputs x 64 bytes of K = 16384 MACs;
 *   amx-l1       the same 2x2 block with A and B re-loaded (tileloadd)
 *                from a 4 KiB L1-resident buffer before every step, what a
 *                GEMM whose operands stream from L1 sees;
 *   vnni         vpdpbusd zmm, 16 accumulators, operands in registers
 *                (64 MACs per instruction);
 *   avx2-exact   vpmaddwd + vpaddd on int16 (operands already widened),
 *                16 MACs per pair: the exact AVX2 int8 path (DESIGN §5);
 *   avx2-maddubs vpmaddubsw + vpmaddwd(ones) + vpaddd, 32 MACs per triple;
 *                it saturates int16 pairs, so no exact kernel may use it —
 *                measured for reference only;
 *   fp32-fma     vfmadd zmm, 16 accumulators (2 flops per lane).
 * 1 MAC = 2 ops throughout.
 *
 * With T threads, T copies start together on a flag; the figure is the sum
 * over the copies of each one's ops over its own thread CPU time
 * (CLOCK_THREAD_CPUTIME_ID), best of N tries, each try sized to about
 * 20 ms from a probe.  CPU time, not wall time: on a shared machine the
 * time the OS gives to other processes would otherwise count against the
 * instruction, while what shares the core (an SMT sibling running the
 * other copy) still shows.  AMX first asks Linux
 * for tile data (rt_cpu_enable_amx, runtime/cpu.c), and every thread loads
 * its own tile configuration.  A kernel the CPU (or OS) lacks is reported
 * as skipped.
 *
 * Usage: bench_peak_int8 [--tries N] [--threads LIST] [--json]
 *   default: 7 tries, threads "1,2" (capped to the CPU count).
 * Not part of the test suite (DESIGN §10: speed is measured, never asserted).
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rt.h"

#define TRY_SECONDS 0.02
#define MAX_THREADS 64

typedef double (*peak_fn)(long iters);

/*===--- kernels ----------------------------------------------------------===*/

/* Tile configuration: palette 1, tiles 0-7 all 16 rows x 64 bytes. */
typedef struct __attribute__((packed)) amx_cfg {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} amx_cfg;

static void amx_config(void) __attribute__((target("amx-tile")));
static void amx_config(void) {
  amx_cfg c;
  memset(&c, 0, sizeof c);
  c.palette = 1;
  for (int t = 0; t < 8; t++) c.colsb[t] = 64, c.rows[t] = 16;
  _tile_loadconfig(&c);
}

__attribute__((target("amx-tile,amx-int8"), noinline)) static double
amx_tiles(long iters) {
  amx_config();
  _tile_zero(0), _tile_zero(1), _tile_zero(2), _tile_zero(3);
  _tile_zero(4), _tile_zero(5), _tile_zero(6), _tile_zero(7);
  for (long n = 0; n < iters; n++) {
    _tile_dpbusd(0, 4, 6);
    _tile_dpbusd(1, 4, 7);
    _tile_dpbusd(2, 5, 6);
    _tile_dpbusd(3, 5, 7);
  }
  int32_t out[16 * 16];
  _tile_stored(0, out, 64);
  _tile_release();
  return (double)out[0];
}

static _Alignas(64) int8_t l1_buf[4][16 * 64];

__attribute__((target("amx-tile,amx-int8"), noinline)) static double
amx_l1(long iters) {
  amx_config();
  _tile_zero(0), _tile_zero(1), _tile_zero(2), _tile_zero(3);
  for (long n = 0; n < iters; n++) {
    _tile_loadd(4, l1_buf[0], 64);
    _tile_loadd(6, l1_buf[2], 64);
    _tile_loadd(5, l1_buf[1], 64);
    _tile_loadd(7, l1_buf[3], 64);
    _tile_dpbusd(0, 4, 6);
    _tile_dpbusd(1, 4, 7);
    _tile_dpbusd(2, 5, 6);
    _tile_dpbusd(3, 5, 7);
  }
  int32_t out[16 * 16];
  _tile_stored(0, out, 64);
  _tile_release();
  return (double)out[0];
}

#define VCHAINS 16

__attribute__((target("avx512f,avx512vnni"), noinline)) static double
vnni_zmm(long iters) {
  __m512i acc[VCHAINS];
  __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  for (int i = 0; i < VCHAINS; i++) acc[i] = _mm512_set1_epi32(i);
  for (long n = 0; n < iters; n++) {
    for (int i = 0; i < VCHAINS; i++) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
    /* Keeps the compiler from hoisting the products out of the loop. */
    __asm__ volatile("" : "+v"(a), "+v"(b));
  }
  __m512i s = acc[0];
  for (int i = 1; i < VCHAINS; i++) s = _mm512_add_epi32(s, acc[i]);
  return (double)_mm512_reduce_add_epi32(s);
}

#define ACHAINS 12

__attribute__((target("avx2"), noinline)) static double avx2_exact(long iters) {
  __m256i acc[ACHAINS];
  __m256i a = _mm256_set1_epi16(200), b = _mm256_set1_epi16(-100);
  for (int i = 0; i < ACHAINS; i++) acc[i] = _mm256_set1_epi32(i);
  for (long n = 0; n < iters; n++) {
    for (int i = 0; i < ACHAINS; i++) {
      /* A fresh |a| per chain: otherwise one product serves all chains. */
      __asm__ volatile("" : "+x"(a));
      acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(a, b));
    }
  }
  __m256i s = acc[0];
  for (int i = 1; i < ACHAINS; i++) s = _mm256_add_epi32(s, acc[i]);
  int32_t v[8];
  _mm256_storeu_si256((__m256i *)v, s);
  return (double)v[0] + v[7];
}

__attribute__((target("avx2"), noinline)) static double
avx2_maddubs(long iters) {
  __m256i acc[ACHAINS];
  __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2);
  __m256i ones = _mm256_set1_epi16(1);
  for (int i = 0; i < ACHAINS; i++) acc[i] = _mm256_set1_epi32(i);
  for (long n = 0; n < iters; n++) {
    for (int i = 0; i < ACHAINS; i++) {
      __asm__ volatile("" : "+x"(a));
      acc[i] = _mm256_add_epi32(
          acc[i], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
    }
  }
  __m256i s = acc[0];
  for (int i = 1; i < ACHAINS; i++) s = _mm256_add_epi32(s, acc[i]);
  int32_t v[8];
  _mm256_storeu_si256((__m256i *)v, s);
  return (double)v[0] + v[7];
}

__attribute__((target("avx512f"), noinline)) static double fma_zmm(long iters) {
  __m512 acc[VCHAINS];
  const __m512 m = _mm512_set1_ps(0.9999999f), c = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < VCHAINS; i++) acc[i] = _mm512_set1_ps(1.0f + (float)i);
  for (long n = 0; n < iters; n++)
    for (int i = 0; i < VCHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], m, c);
  __m512 s = acc[0];
  for (int i = 1; i < VCHAINS; i++) s = _mm512_add_ps(s, acc[i]);
  return (double)_mm512_reduce_add_ps(s);
}

/* ORDER: the rows of the table and of the JSON. */
static const struct {
  const char *name, *what;
  peak_fn fn;
  double ops_per_iter; /* 1 MAC = 2 ops */
  uint64_t needs;      /* INGOT_CPU_* */
} kernels[] = {
    {"amx", "AMX tdpbusd, operands in tiles (2x2 block)", amx_tiles,
     4.0 * 16 * 16 * 64 * 2, INGOT_CPU_AMX_TILE | INGOT_CPU_AMX_INT8},
    {"amx-l1", "AMX tdpbusd, A and B tile-loaded from L1", amx_l1,
     4.0 * 16 * 16 * 64 * 2, INGOT_CPU_AMX_TILE | INGOT_CPU_AMX_INT8},
    {"vnni", "AVX-512 VNNI vpdpbusd zmm, 16 accumulators", vnni_zmm,
     VCHAINS * 64.0 * 2, INGOT_CPU_AVX512F | INGOT_CPU_AVX512VNNI},
    {"avx2-exact", "AVX2 vpmaddwd+vpaddd on int16 (exact int8)", avx2_exact,
     ACHAINS * 16.0 * 2, INGOT_CPU_AVX2},
    {"avx2-maddubs", "AVX2 vpmaddubsw+vpmaddwd+vpaddd (saturates)",
     avx2_maddubs, ACHAINS * 32.0 * 2, INGOT_CPU_AVX2},
    {"fp32-fma", "fp32 FMA zmm, 16 accumulators (FLOPS)", fma_zmm,
     VCHAINS * 16.0 * 2, INGOT_CPU_AVX512F},
};
#define N_KERNELS (sizeof kernels / sizeof kernels[0])

/*===--- timing -----------------------------------------------------------===*/

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct job {
  peak_fn fn;
  long iters;
  atomic_int *go;
  double end, cpu, sink;
} job;

static void *run_job(void *arg) {
  job *j = arg;
  while (atomic_load(j->go) == 0) sched_yield();
  double c0 = thread_cpu_s();
  j->sink = j->fn(j->iters);
  j->cpu = thread_cpu_s() - c0;
  j->end = now_s();
  return NULL;
}

/* Ops per second of |threads| copies of |fn| running |iters| each. */
static double run_once(peak_fn fn, long iters, int threads, double ops) {
  job jobs[MAX_THREADS];
  pthread_t tid[MAX_THREADS];
  atomic_int go = 0;
  int started = 0;
  for (int t = 0; t < threads; t++) {
    jobs[t] = (job){.fn = fn, .iters = iters, .go = &go};
    if (t > 0) {
      if (pthread_create(&tid[t], NULL, run_job, &jobs[t]) != 0) break;
      started++;
    }
  }
  if (started != threads - 1) {
    atomic_store(&go, 1);
    for (int t = 1; t <= started; t++) pthread_join(tid[t], NULL);
    return -1.0;
  }
  atomic_store(&go, 1);
  run_job(&jobs[0]);
  double rate = ops * (double)iters / jobs[0].cpu;
  for (int t = 1; t < threads; t++) {
    pthread_join(tid[t], NULL);
    rate += ops * (double)iters / jobs[t].cpu;
  }
  return rate;
}

static double measure(peak_fn fn, double ops_per_iter, int threads,
                      int tries) {
  long iters = 1000;
  double rate = run_once(fn, iters, 1, ops_per_iter); /* probe */
  if (rate <= 0) return -1.0;
  iters = (long)(TRY_SECONDS * rate / ops_per_iter);
  if (iters < 100) iters = 100;
  double best = 0;
  for (int i = 0; i < tries; i++) {
    double r = run_once(fn, iters, threads, ops_per_iter);
    if (r < 0) return -1.0;
    if (r > best) best = r;
  }
  return best;
}

static int usage(const char *argv0) {
  fprintf(stderr,
          "usage: %s [--tries N] [--threads LIST] [--json]\n"
          "  measures int8/fp32 peak GOPS per instruction set (best of N)\n",
          argv0);
  return 2;
}

int main(int argc, char **argv) {
  int tries = 7, json = 0, nthr = 0, thr[8];
  const char *list = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--tries") && i + 1 < argc)
      tries = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
      list = argv[++i];
    else if (!strcmp(argv[i], "--json"))
      json = 1;
    else
      return usage(argv[0]);
  }
  if (tries < 1) return usage(argv[0]);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (ncpu < 1) ncpu = 1;
  if (list) {
    char *copy = strdup(list), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t && nthr < 8;
         t = strtok_r(NULL, ",", &save)) {
      int v = atoi(t);
      if (v < 1 || v > MAX_THREADS) {
        free(copy);
        return usage(argv[0]);
      }
      thr[nthr++] = v;
    }
    free(copy);
  } else {
    thr[nthr++] = 1;
    if (ncpu >= 2) thr[nthr++] = (int)(ncpu < MAX_THREADS ? ncpu : MAX_THREADS);
  }

  uint64_t have = rt_cpu_detect();
  char why_amx[256] = "";
  if (have & INGOT_CPU_AMX_TILE) {
    ingot_status s = rt_cpu_enable_amx();
    if (s) {
      snprintf(why_amx, sizeof why_amx, "%s", ingot_status_message(s));
      ingot_status_free(s);
      have &= ~(uint64_t)RT_CPU_AMX;
    }
  }
  memset(l1_buf, 1, sizeof l1_buf);

  if (json) printf("{\"tries\": %d, \"kernels\": [", tries);
  else
    printf("%-13s %-46s %8s %s\n", "kernel", "what", "threads",
           "GOPS (best of tries)");
  for (size_t k = 0; k < N_KERNELS; k++) {
    int ok = (have & kernels[k].needs) == kernels[k].needs;
    if (json) printf("%s\n  {\"name\": \"%s\", \"what\": \"%s\", \"gops\": {",
                     k ? "," : "", kernels[k].name, kernels[k].what);
    for (int t = 0; t < nthr; t++) {
      double r = ok ? measure(kernels[k].fn, kernels[k].ops_per_iter, thr[t],
                              tries)
                    : -1.0;
      if (json)
        printf("%s\"%d\": %s%.1f", t ? ", " : "", thr[t], "", r > 0 ? r / 1e9 : 0.0);
      else if (r > 0)
        printf("%-13s %-46s %8d %10.1f\n", kernels[k].name, kernels[k].what,
               thr[t], r / 1e9);
      else
        printf("%-13s %-46s %8d %10s\n", kernels[k].name, kernels[k].what,
               thr[t], "skipped");
      fflush(stdout);
    }
    if (json) printf("}, \"available\": %s}", ok ? "true" : "false");
  }
  if (json) printf("\n]}\n");
  if (why_amx[0]) fprintf(stderr, "AMX skipped: %s\n", why_amx);
  return 0;
}
