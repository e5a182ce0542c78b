/* onednn_int8.c — oneDNN's int8 GEMM and conv, timed the way bench/int8.py
 * times Ingot's engines, so the two can be compared in one run.
 *
 * The problems are the QLinear ops Ingot's engines compute, with the same
 * data types and the same requantisation:
 *   gemm M K N      u8 A[M,K] (zero point 128) x s8 B[K,N] (zero point 0)
 *                   -> s32, output scale, zero point 128 -> u8 Y[M,N];
 *   conv C H W OC R u8 NHWC input (zero point 128), s8 weights, s32 bias,
 *                   R x R kernel, stride 1, pad R/2, batch 1 -> u8 NHWC.
 * Weights use the layout oneDNN prefers ("any", reordered once outside the
 * timing, as Ingot prepacks its weights at build time).  Zero points and
 * scales are build-time constants for both tools.
 *
 * Threads: this Debian build of oneDNN uses OpenMP; set OMP_NUM_THREADS.
 * Prints one JSON line: {"impl": ..., "median_ms": ..., "min_ms": ...,
 * "gops": ...} (GOPS from the median; 1 MAC = 2 ops).
 *
 * Debian: apt-get install libdnnl-dev (oneDNN 2.x).  Not part of the test
 * suite.
 */
#define _POSIX_C_SOURCE 200809L
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(call)                                                        \
  do {                                                                     \
    dnnl_status_t st_ = (call);                                            \
    if (st_ != dnnl_success) {                                             \
      fprintf(stderr, "onednn_int8: %s failed (status %d) at line %d\n",   \
              #call, (int)st_, __LINE__);                                  \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void fill(dnnl_memory_t m, size_t n, int lo, int hi) {
  void *p = NULL;
  CHECK(dnnl_memory_get_data_handle(m, &p));
  uint8_t *b = p;
  unsigned s = 12345;
  for (size_t i = 0; i < n; i++) {
    s = s * 1103515245u + 12345u;
    b[i] = (uint8_t)(lo + (int)((s >> 16) % (unsigned)(hi - lo + 1)));
  }
}

typedef struct problem {
  dnnl_engine_t eng;
  dnnl_stream_t strm;
  dnnl_primitive_t prim;
  dnnl_exec_arg_t args[8];
  int nargs;
  double ops;
  const char *impl;
} problem;

/* A memory of |md| filled with bytes in [lo, hi]; when |want| differs, the
 * data is reordered into a memory of |want| (weights). */
static dnnl_memory_t make_mem(dnnl_engine_t eng, dnnl_stream_t strm,
                              const dnnl_memory_desc_t *md,
                              const dnnl_memory_desc_t *want, int lo, int hi) {
  dnnl_memory_t m;
  CHECK(dnnl_memory_create(&m, md, eng, DNNL_MEMORY_ALLOCATE));
  fill(m, dnnl_memory_desc_get_size(md), lo, hi);
  if (!want || dnnl_memory_desc_equal(md, want)) return m;
  dnnl_memory_t w;
  CHECK(dnnl_memory_create(&w, want, eng, DNNL_MEMORY_ALLOCATE));
  dnnl_primitive_desc_t rpd;
  CHECK(dnnl_reorder_primitive_desc_create(&rpd, md, eng, want, eng, NULL));
  dnnl_primitive_t r;
  CHECK(dnnl_primitive_create(&r, rpd));
  dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, m}, {DNNL_ARG_TO, w}};
  CHECK(dnnl_primitive_execute(r, strm, 2, a));
  CHECK(dnnl_stream_wait(strm));
  dnnl_primitive_destroy(r);
  dnnl_primitive_desc_destroy(rpd);
  dnnl_memory_destroy(m);
  return w;
}

static dnnl_primitive_attr_t requant_attr(void) {
  dnnl_primitive_attr_t attr;
  CHECK(dnnl_primitive_attr_create(&attr));
  float scale = 0.0005f;
  int32_t zp = 128;
  CHECK(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &scale));
  CHECK(dnnl_primitive_attr_set_zero_points(attr, DNNL_ARG_SRC, 1, 0, &zp));
  CHECK(dnnl_primitive_attr_set_zero_points(attr, DNNL_ARG_DST, 1, 0, &zp));
  return attr;
}

static void finish(problem *p, dnnl_primitive_desc_t pd) {
  const char *impl = NULL;
  CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
  p->impl = strdup(impl ? impl : "?");
  CHECK(dnnl_primitive_create(&p->prim, pd));
}

static void setup_gemm(problem *p, dnnl_dim_t M, dnnl_dim_t K, dnnl_dim_t N) {
  dnnl_memory_desc_t a, b, bany, y;
  dnnl_dims_t da = {M, K}, db = {K, N}, dy = {M, N};
  CHECK(dnnl_memory_desc_init_by_tag(&a, 2, da, dnnl_u8, dnnl_ab));
  CHECK(dnnl_memory_desc_init_by_tag(&b, 2, db, dnnl_s8, dnnl_ab));
  CHECK(dnnl_memory_desc_init_by_tag(&bany, 2, db, dnnl_s8, dnnl_format_tag_any));
  CHECK(dnnl_memory_desc_init_by_tag(&y, 2, dy, dnnl_u8, dnnl_ab));
  dnnl_matmul_desc_t md;
  CHECK(dnnl_matmul_desc_init(&md, &a, &bany, NULL, &y));
  dnnl_primitive_attr_t attr = requant_attr();
  dnnl_primitive_desc_t pd;
  CHECK(dnnl_primitive_desc_create(&pd, &md, attr, p->eng, NULL));
  finish(p, pd);
  const dnnl_memory_desc_t *bw = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
  p->args[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, make_mem(p->eng, p->strm, &a, NULL, 0, 255)};
  p->args[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, make_mem(p->eng, p->strm, &b, bw, 0, 255)};
  p->args[2] = (dnnl_exec_arg_t){DNNL_ARG_DST, make_mem(p->eng, p->strm, &y, NULL, 0, 0)};
  p->nargs = 3;
  p->ops = 2.0 * (double)M * (double)K * (double)N;
  dnnl_primitive_desc_destroy(pd);
  dnnl_primitive_attr_destroy(attr);
}

static void setup_conv(problem *p, dnnl_dim_t C, dnnl_dim_t H, dnnl_dim_t W,
                       dnnl_dim_t OC, dnnl_dim_t R) {
  dnnl_memory_desc_t x, w, wany, bias, y;
  dnnl_dims_t dx = {1, C, H, W}, dw = {OC, C, R, R}, db = {OC},
              dy = {1, OC, H, W};
  CHECK(dnnl_memory_desc_init_by_tag(&x, 4, dx, dnnl_u8, dnnl_nhwc));
  CHECK(dnnl_memory_desc_init_by_tag(&w, 4, dw, dnnl_s8, dnnl_oihw));
  CHECK(dnnl_memory_desc_init_by_tag(&wany, 4, dw, dnnl_s8, dnnl_format_tag_any));
  CHECK(dnnl_memory_desc_init_by_tag(&bias, 1, db, dnnl_s32, dnnl_a));
  CHECK(dnnl_memory_desc_init_by_tag(&y, 4, dy, dnnl_u8, dnnl_nhwc));
  dnnl_dims_t strides = {1, 1}, pad = {R / 2, R / 2};
  dnnl_convolution_desc_t cd;
  CHECK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference,
                                           dnnl_convolution_direct, &x, &wany,
                                           &bias, &y, strides, pad, pad));
  dnnl_primitive_attr_t attr = requant_attr();
  dnnl_primitive_desc_t pd;
  CHECK(dnnl_primitive_desc_create(&pd, &cd, attr, p->eng, NULL));
  finish(p, pd);
  const dnnl_memory_desc_t *ww = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
  p->args[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, make_mem(p->eng, p->strm, &x, NULL, 0, 255)};
  p->args[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, make_mem(p->eng, p->strm, &w, ww, 0, 255)};
  p->args[2] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, make_mem(p->eng, p->strm, &bias, NULL, 0, 3)};
  p->args[3] = (dnnl_exec_arg_t){DNNL_ARG_DST, make_mem(p->eng, p->strm, &y, NULL, 0, 0)};
  p->nargs = 4;
  p->ops = 2.0 * (double)(H * W * OC) * (double)(C * R * R);
  dnnl_primitive_desc_destroy(pd);
  dnnl_primitive_attr_destroy(attr);
}

static int usage(void) {
  fprintf(stderr,
          "usage: bench_onednn_int8 [--iterations N] gemm M K N\n"
          "       bench_onednn_int8 [--iterations N] conv C H W OC R\n");
  return 2;
}

int main(int argc, char **argv) {
  int iters = 200, i = 1;
  if (i + 1 < argc && !strcmp(argv[i], "--iterations")) {
    iters = atoi(argv[i + 1]);
    i += 2;
  }
  if (iters < 1 || i >= argc) return usage();
  problem p;
  memset(&p, 0, sizeof p);
  CHECK(dnnl_engine_create(&p.eng, dnnl_cpu, 0));
  CHECK(dnnl_stream_create(&p.strm, p.eng, dnnl_stream_default_flags));
  if (!strcmp(argv[i], "gemm") && argc - i == 4)
    setup_gemm(&p, atoll(argv[i + 1]), atoll(argv[i + 2]), atoll(argv[i + 3]));
  else if (!strcmp(argv[i], "conv") && argc - i == 6)
    setup_conv(&p, atoll(argv[i + 1]), atoll(argv[i + 2]), atoll(argv[i + 3]),
               atoll(argv[i + 4]), atoll(argv[i + 5]));
  else
    return usage();
  for (int w = 0; w < 10; w++) {
    CHECK(dnnl_primitive_execute(p.prim, p.strm, p.nargs, p.args));
    CHECK(dnnl_stream_wait(p.strm));
  }
  double *ms = malloc((size_t)iters * sizeof *ms);
  if (!ms) return 1;
  for (int k = 0; k < iters; k++) {
    double t0 = now_ms();
    CHECK(dnnl_primitive_execute(p.prim, p.strm, p.nargs, p.args));
    CHECK(dnnl_stream_wait(p.strm));
    ms[k] = now_ms() - t0;
  }
  qsort(ms, (size_t)iters, sizeof *ms, cmp_d);
  double med = ms[iters / 2];
  const dnnl_version_t *v = dnnl_version();
  printf("{\"impl\": \"%s\", \"version\": \"%d.%d.%d\", \"median_ms\": %.5f, "
         "\"min_ms\": %.5f, \"gops\": %.1f}\n",
         p.impl, v->major, v->minor, v->patch, med, ms[0],
         p.ops / (med * 1e-3) / 1e9);
  free(ms);
  return 0;
}
