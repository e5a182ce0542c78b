/* test_kmath.c — accuracy of codegen/kernels/kmath.h against libm, and
 * bit-exactness of its conversions and typed element access against the IR
 * library (ir/dtype.c), which defines them.
 *
 * Float functions are measured in ulps of the float result against the
 * double libm value (so the reference is good to ~2^-29 ulp): every float
 * bit pattern with a stride (default 1021, i.e. 4.2M values of both signs;
 * `test_kmath 1` walks all 2^32), plus the special values.  Double
 * functions are measured against glibc on random doubles over the whole
 * range and on dense samples of the interesting intervals; the bounds
 * include glibc's own error (< 1 ulp).
 *
 * Bounds checked (max ulp error; measured maxima in brackets): float
 * exp [0.92] expm1 [1.22] log [0.78] log1p [1.44] erf [1.18] softplus
 * [1.93] 2, tanh [2.35] sigmoid [2.33] 2.5, sin/cos/pow [0.5] 1; double
 * exp/expm1/log/log1p/sin/cos/pow [1] 2, tanh/erf [3] 3.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ir.h"
#include "kmath.h"

static uint32_t stride = 1021;

/*===------------------------------------------------------------------===*/
/* ulp measurement                                                         */
/*===------------------------------------------------------------------===*/

/* Error of float |got| in ulps of the float nearest |want| (a double). */
static double ulp_err_f(float got, double want) {
  if (isnan(want)) return isnan(got) ? 0 : 1e9;
  if (isinf(want) || isinf(got)) {
    if ((double)got == want) return 0;
    /* want overflows float: accept FLT_MAX-range answers as 1 ulp off */
    if (isinf(got) && fabs(want) > 0x1.fffffep127) return 0;
    return 1e9;
  }
  if (isnan(got)) return 1e9;
  double a = fabs(want);
  int e;
  frexp(a, &e); /* a in [2^(e-1), 2^e) */
  double ulp = ldexp(1.0, e - 24);
  if (ulp < 0x1p-149) ulp = 0x1p-149;
  return fabs((double)got - want) / ulp;
}

/* Error of double |got| in ulps of |want|. */
static double ulp_err_d(double got, double want) {
  if (isnan(want)) return isnan(got) ? 0 : 1e9;
  if (isinf(want) || isinf(got)) return got == want ? 0 : 1e9;
  if (isnan(got)) return 1e9;
  double a = fabs(want);
  int e;
  frexp(a, &e);
  double ulp = ldexp(1.0, e - 53);
  if (ulp < 0x1p-1074) ulp = 0x1p-1074;
  /* got - want can lose bits when both are huge: compare in long double */
  return (double)(fabsl((long double)got - (long double)want) /
                  (long double)ulp);
}

/*===------------------------------------------------------------------===*/
/* float functions                                                         */
/*===------------------------------------------------------------------===*/

static double ref_sigmoid(double x) {
  return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}
static double ref_softplus(double x) {
  return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

typedef struct ffun {
  const char *name;
  float (*f)(float);
  double (*ref)(double);
  double bound;
  double worst;
  float worst_x;
} ffun;

static float fast_sin(float x) {
  return fabsf(x) <= KM_TRIGF_FAST_MAX ? ksinf_fast(x) : ksinf(x);
}
static float fast_cos(float x) {
  return fabsf(x) <= KM_TRIGF_FAST_MAX ? kcosf_fast(x) : kcosf(x);
}

static void check_ffun(ffun *fn, float x) {
  double e = ulp_err_f(fn->f(x), fn->ref((double)x));
  if (e > fn->worst) {
    fn->worst = e;
    fn->worst_x = x;
  }
}

static void test_float_functions(void) {
  ffun fns[] = {
      {"kexpf", kexpf, exp, 2, 0, 0},
      {"kexpm1f", kexpm1f, expm1, 2, 0, 0},
      {"klogf", klogf, log, 2, 0, 0},
      {"klog1pf", klog1pf, log1p, 2, 0, 0},
      {"ktanhf", ktanhf, tanh, 2.5, 0, 0},
      {"kerff", kerff, erf, 2, 0, 0},
      {"ksigmoidf", ksigmoidf, ref_sigmoid, 2.5, 0, 0},
      {"ksoftplusf", ksoftplusf, ref_softplus, 2, 0, 0},
      {"ksinf", ksinf, sin, 1, 0, 0},
      {"kcosf", kcosf, cos, 1, 0, 0},
      {"ksinf_fast", fast_sin, sin, 1, 0, 0},
      {"kcosf_fast", fast_cos, cos, 1, 0, 0},
  };
  int nf = (int)(sizeof fns / sizeof fns[0]);
  static const float specials[] = {
      0.0f, -0.0f, INFINITY, -INFINITY, NAN, 0x1p-149f, -0x1p-149f,
      0x1p-126f, 0x1.fffffep127f, -0x1.fffffep127f, 1.0f, -1.0f,
      88.72283f, 88.72284f, -87.33654f, -103.97208f, -103.97209f,
      0.875f, 3.92f, 4.0f, 9.5f, 0x1p19f, 0x1.000002p19f, 1e30f,
      1.5707964f, 3.1415927f, 6.2831855f};
  for (int k = 0; k < nf; k++) {
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
      check_ffun(&fns[k], specials[i]);
    for (uint64_t u = 0; u <= 0xffffffffu; u += stride)
      check_ffun(&fns[k], km_u2f((uint32_t)u));
    /* dense near 0 and 1, where the reductions change branch */
    for (float x = -2.0f; x <= 2.0f; x += 0x1p-12f) check_ffun(&fns[k], x);
    printf("  %-12s max %.3f ulp at %a\n", fns[k].name, fns[k].worst,
           (double)fns[k].worst_x);
    if (!(fns[k].worst <= fns[k].bound)) {
      fprintf(stderr, "%s: %.3f ulp at %a exceeds %.1f\n", fns[k].name,
              fns[k].worst, (double)fns[k].worst_x, fns[k].bound);
      check_failures++;
    }
  }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static double urand(double lo, double hi) {
  return lo + (hi - lo) * (double)(rng() >> 11) * 0x1p-53;
}

static void test_powf(void) {
  static const float sv[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, -0.5f, 2.0f,
                             -2.0f, 3.0f, -3.0f, 2.5f, -2.5f, INFINITY,
                             -INFINITY, NAN, 0x1p-149f, 0x1p127f, 1e10f,
                             -1e10f, 0x1p24f, 0x1p25f + 2.0f};
  int n = (int)(sizeof sv / sizeof sv[0]);
  double worst = 0;
  float wx = 0, wy = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      float x = sv[i], y = sv[j];
      float got = kpowf(x, y);
      float want = powf(x, y);
      int same = (isnan(got) && isnan(want)) ||
                 (got == want && signbit(got) == signbit(want)) ||
                 (isfinite(want) && want != 0 &&
                  ulp_err_f(got, pow((double)x, (double)y)) <= 1);
      if (!same) {
        fprintf(stderr, "kpowf(%a, %a) = %a, libm %a\n", (double)x,
                (double)y, (double)got, (double)want);
        check_failures++;
      }
    }
  for (int i = 0; i < 4000000; i++) {
    float x, y;
    switch (i % 4) {
    case 0: x = (float)urand(0, 10); y = (float)urand(-40, 40); break;
    case 1: x = (float)urand(0.9, 1.1); y = (float)urand(-1000, 1000); break;
    case 2: x = km_u2f((uint32_t)rng() & 0x7fffffffu); y = (float)urand(-3, 3); break;
    default: x = -(float)km_rint(urand(-20, 20)) / 4; y = (float)km_rint(urand(-30, 30)); break;
    }
    double e = ulp_err_f(kpowf(x, y), pow((double)x, (double)y));
    if (e > worst) worst = e, wx = x, wy = y;
  }
  printf("  %-12s max %.3f ulp at (%a, %a)\n", "kpowf", worst, (double)wx,
         (double)wy);
  CHECK(worst <= 1.0);
}

/*===------------------------------------------------------------------===*/
/* double functions                                                        */
/*===------------------------------------------------------------------===*/

typedef struct dfun {
  const char *name;
  double (*f)(double);
  double (*ref)(double);
  double bound;
  double lo, hi; /* dense interval */
} dfun;

static void test_double_functions(void) {
  dfun fns[] = {
      {"kexp", kexp, exp, 2, -750, 712},
      {"kexpm1", kexpm1, expm1, 2, -3, 3},
      {"klog", klog, log, 2, 0.25, 4},
      {"klog1p", klog1p, log1p, 2, -0.9, 3},
      {"ksin", ksin, sin, 2, -100, 100},
      {"kcos", kcos, cos, 2, -100, 100},
      {"ktanh", ktanh, tanh, 3, -3, 3},
      {"kerf", kerf, erf, 3, -6.5, 6.5},
  };
  static const double specials[] = {
      0.0, -0.0, INFINITY, -INFINITY, NAN, 0x1p-1074, -0x1p-1074,
      0x1p-1022, 0x1.fffffffffffffp1023, -0x1.fffffffffffffp1023, 1.0,
      -1.0, 709.782712893384, 709.782712893385, -745.1332191019411,
      1.5, 6.0, 20.0, 0x1.921fb54442d18p+0, 0x1.921fb54442d18p+1,
      1e22};
  for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) {
    dfun *fn = &fns[k];
    double worst = 0, wx = 0;
    for (int i = 0; i < 3000000; i++) {
      double x;
      if (i < (int)(sizeof specials / sizeof specials[0]))
        x = specials[i];
      else if (i & 1)
        x = km_u2d(rng()); /* any double, both signs */
      else
        x = urand(fn->lo, fn->hi);
      if (isnan(x) && i >= 64) continue;
      double e = ulp_err_d(fn->f(x), fn->ref(x));
      if (e > worst) worst = e, wx = x;
    }
    printf("  %-12s max %.3f ulp at %a\n", fn->name, worst, wx);
    if (!(worst <= fn->bound)) {
      fprintf(stderr, "%s: %.3f ulp at %a exceeds %.1f\n", fn->name, worst,
              wx, fn->bound);
      check_failures++;
    }
  }
  /* The double closest to a multiple of pi/2 (6381956970095103 * 2^797):
   * x mod pi/2 = 4.6871659242546276e-19 (computed exactly with Python
   * integers; glibc's cos is 8 ulp off here). */
  {
    double x = 0x1.6ac5b262ca1ffp+849, h, l;
    CHECK(km_rem_pio2(x, &h, &l) == 1);
    CHECK(h == 0x1.14ae72e6ba22fp-61);
    CHECK(kcos(x) == -0x1.14ae72e6ba22fp-61);
    CHECK(ksin(x) == 1.0);
  }
  /* pow */
  static const double sv[] = {0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0,
                              3.0, -3.0, 2.5, INFINITY, -INFINITY, NAN,
                              0x1p-1074, 0x1p1023, 0x1p53, 0x1p53 + 2};
  int n = (int)(sizeof sv / sizeof sv[0]);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double got = kpow(sv[i], sv[j]), want = pow(sv[i], sv[j]);
      int same = (isnan(got) && isnan(want)) ||
                 (got == want && signbit(got) == signbit(want)) ||
                 (isfinite(want) && want != 0 && ulp_err_d(got, want) <= 4);
      if (!same) {
        fprintf(stderr, "kpow(%a, %a) = %a, libm %a\n", sv[i], sv[j], got,
                want);
        check_failures++;
      }
    }
  double worst = 0, wx = 0, wy = 0;
  for (int i = 0; i < 2000000; i++) {
    double x, y;
    switch (i % 3) {
    case 0: x = urand(0, 10); y = urand(-300, 300); break;
    case 1: x = urand(0.99, 1.01); y = urand(-60000, 60000); break;
    default: x = km_u2d(rng() & 0x7fffffffffffffffull); y = urand(-1, 1); break;
    }
    double e = ulp_err_d(kpow(x, y), pow(x, y));
    if (e > worst) worst = e, wx = x, wy = y;
  }
  printf("  %-12s max %.3f ulp at (%a, %a)\n", "kpow", worst, wx, wy);
  CHECK(worst <= 2.0);
}

/*===------------------------------------------------------------------===*/
/* rounding, conversions, element access                                   */
/*===------------------------------------------------------------------===*/

static int same_bits_f(float a, float b) {
  return (isnan(a) && isnan(b)) || km_f2u(a) == km_f2u(b);
}
static int same_bits_d(double a, double b) {
  return (isnan(a) && isnan(b)) || km_d2u(a) == km_d2u(b);
}

static void test_rounding(void) {
  int bad = 0;
  for (uint64_t u = 0; u <= 0xffffffffu; u += stride / 2 + 1) {
    float x = km_u2f((uint32_t)u);
    bad += !same_bits_f(km_rintf(x), rintf(x));
    bad += !same_bits_f(km_floorf(x), floorf(x));
    bad += !same_bits_f(km_ceilf(x), ceilf(x));
    bad += !same_bits_f(km_truncf(x), truncf(x));
  }
  for (float x = -5.0f; x <= 5.0f; x += 0.125f) {
    bad += !same_bits_f(km_rintf(x), rintf(x));
    bad += !same_bits_f(km_floorf(x), floorf(x));
    bad += !same_bits_f(km_ceilf(x), ceilf(x));
    bad += !same_bits_f(km_truncf(x), truncf(x));
    double d = (double)x;
    bad += !same_bits_d(km_rint(d), rint(d));
    bad += !same_bits_d(km_floor(d), floor(d));
    bad += !same_bits_d(km_ceil(d), ceil(d));
    bad += !same_bits_d(km_trunc(d), trunc(d));
  }
  for (int i = 0; i < 1000000; i++) {
    double d = km_u2d(rng());
    bad += !same_bits_d(km_rint(d), rint(d));
    bad += !same_bits_d(km_floor(d), floor(d));
    bad += !same_bits_d(km_ceil(d), ceil(d));
    bad += !same_bits_d(km_trunc(d), trunc(d));
  }
  if (bad) fprintf(stderr, "rounding: %d mismatches with libm\n", bad);
  CHECK(bad == 0);
}

static void test_half_conversions(void) {
  int bad = 0;
  for (uint32_t h = 0; h < 65536; h++) {
    bad += !same_bits_f(kf16_to_f32((uint16_t)h), ir_f16_to_f32((uint16_t)h));
    bad += km_f2u(kbf16_to_f32((uint16_t)h)) !=
           km_f2u(ir_bf16_to_f32((uint16_t)h));
    /* every float near each half value and each midpoint between two */
    uint32_t c = km_f2u(ir_f16_to_f32((uint16_t)h));
    for (int32_t d = -3; d <= 3; d++) {
      uint32_t v = c + (uint32_t)d;
      float f = km_u2f(v);
      bad += kf32_to_f16(f) != ir_f32_to_f16(f);
      float mid = km_u2f(c + 0x1000u + (uint32_t)d); /* halfway up */
      bad += kf32_to_f16(mid) != ir_f32_to_f16(mid);
    }
  }
  for (uint64_t u = 0; u <= 0xffffffffu; u += stride) {
    float f = km_u2f((uint32_t)u);
    bad += kf32_to_f16(f) != ir_f32_to_f16(f);
    bad += kf32_to_bf16(f) != ir_f32_to_bf16(f);
    uint16_t t = kf32_to_bf16_trunc(f);
    uint16_t want = (uint16_t)(u >> 16);
    if (isnan(f)) want |= 0x40;
    bad += t != want;
  }
  if (bad) fprintf(stderr, "half/bfloat16 conversions: %d mismatches\n", bad);
  CHECK(bad == 0);
}

static void test_element_access(void) {
  static const ir_dtype types[] = {IR_F32, IR_U8, IR_I8, IR_U16, IR_I16,
                                   IR_I32, IR_I64, IR_BOOL, IR_F16, IR_F64,
                                   IR_U32, IR_U64, IR_BF16};
  static const double dv[] = {0.0, -0.0, 1.0, -1.0, 0.5, -2.75, 127.9,
                              -128.5, 255.0, 256.0, 65535.5, -32769.0,
                              4294967296.0, -1e10, 9.3e18, -9.3e18,
                              1.9e19, 3e38, 1e300, INFINITY, -INFINITY, NAN,
                              1e-40, 65520.0, 1.0009765625};
  static const int64_t iv[] = {0, 1, -1, 127, 128, -129, 255, 256, 65535,
                               -65537, INT32_MAX, INT32_MIN, 4294967297LL,
                               INT64_MAX, INT64_MIN, 16777217,
                               9007199254740993LL};
  int bad = 0;
  for (size_t a = 0; a < sizeof types / sizeof types[0]; a++) {
    ir_dtype t = types[a];
    unsigned char x[8], y[8];
    for (size_t i = 0; i < sizeof dv / sizeof dv[0]; i++) {
      memset(x, 0, 8), memset(y, 0, 8);
      ir_store_f64(t, x, 0, dv[i]);
      kst_f64((int)t, y, 0, dv[i]);
      bad += memcmp(x, y, 8) != 0;
      bad += !same_bits_d(kld_f64((int)t, x, 0), ir_load_f64(t, x, 0));
      bad += kld_i64((int)t, x, 0) != ir_load_i64(t, x, 0);
      bad += kld_u64((int)t, x, 0) != ir_load_u64(t, x, 0);
    }
    for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++) {
      memset(x, 0, 8), memset(y, 0, 8);
      ir_store_i64(t, x, 0, iv[i]);
      kst_i64((int)t, y, 0, iv[i]);
      bad += memcmp(x, y, 8) != 0;
      memset(x, 0, 8), memset(y, 0, 8);
      ir_store_u64(t, x, 0, (uint64_t)iv[i]);
      kst_u64((int)t, y, 0, (uint64_t)iv[i]);
      bad += memcmp(x, y, 8) != 0;
      bad += kld_i64((int)t, x, 0) != ir_load_i64(t, x, 0);
    }
  }
  if (bad) fprintf(stderr, "element access: %d mismatches\n", bad);
  CHECK(bad == 0);
}

int main(int argc, char **argv) {
  if (argc > 1) stride = (uint32_t)strtoul(argv[1], NULL, 10);
  if (stride == 0) stride = 1;
  printf("float functions (stride %u over all bit patterns):\n", stride);
  test_float_functions();
  test_powf();
  printf("double functions:\n");
  test_double_functions();
  test_rounding();
  test_half_conversions();
  test_element_access();
  return check_report("test_kmath");
}
