/* kmath.h — the math every kernel template may call: transcendental
 * functions written in plain C, rounding without libm, IEEE half and
 * bfloat16 conversions, and typed element access for dtype-generic
 * templates.
 *
 * Why our own: generated code may call nothing but memcpy/memset/memmove
 * (DESIGN.md §8), and results must not depend on the C library.  Every
 * function here is a static inline, so once a template is specialised
 * LLVM inlines it and, for the branch-free ones, vectorises the loop.
 *
 * Accuracy (tests/kernels/test_kmath.c measures it against libm over the
 * whole range, including zeros, subnormals, infinities and NaN):
 *   float:  kexpf kexpm1f klogf klog1pf kerff ksoftplusf within 2 ulp,
 *           ktanhf ksigmoidf within 2.5 ulp (their final division stays in
 *           float: doing it in double costs a third of their speed);
 *           kpowf, ksinf, kcosf work in double internally and are
 *           correctly rounded but for rare near-halfway cases;
 *   double: kexp kexpm1 klog klog1p ksin kcos kpow within 1 ulp, ktanh and
 *           kerf within 3 ulp.
 * Method: exponentials reduce x = k ln2 + r (Cody-Waite) and evaluate a
 * Taylor polynomial of e^r; logarithms use log(m) = 2 atanh(f / (2 + f))
 * on a mantissa m in [sqrt(1/2), sqrt(2)); float sine/cosine reduce in
 * double with a 33-bit pi/2 split, and huge arguments (and all doubles) use
 * an exact reduction against 1216 bits of 2/pi; float erf uses two
 * polynomials fitted for this file (near-minimax relative error, by
 * iteratively reweighted least squares, on [0, 0.875] and [0.875, 4]);
 * double erf sums its Taylor series below 1.5 and a continued fraction of
 * erfc above; pow works on a double-double logarithm.  Special values
 * follow C99 Annex F.
 *
 * Branches: the float functions and kexp/kexpm1/klog/klog1p/ktanh are
 * branch-free (selects), so a loop over them vectorises.  ksinf/kcosf have
 * a scalar huge-argument path: loops use ksinf_fast/kcosf_fast (valid for
 * |x| <= KM_TRIGF_FAST_MAX) and patch the rare larger elements afterwards.
 * ksin/kcos/kerf/kpow branch; float64 models are rare.
 *
 * Besides the math, templates of every family use the rounding helpers
 * (km_rintf & co.), the half/bfloat16 conversions and the typed element
 * access (kld_* / kst_*) at the end of this file.
 *
 * Float-to-integer conversions of values that may be NaN or out of range
 * are undefined in C; these functions never make one (the integer part of
 * a rounded value is read from its bits).
 */
#ifndef INGOT_KMATH_H
#define INGOT_KMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/*===------------------------------------------------------------------===*/
/* Bits                                                                    */
/*===------------------------------------------------------------------===*/

static inline uint32_t km_f2u(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
static inline float km_u2f(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
static inline uint64_t km_d2u(double f) {
  uint64_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
static inline double km_u2d(uint64_t u) {
  double f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* |mag| with the sign of |sgn|. */
static inline float km_copysignf(float mag, float sgn) {
  return km_u2f((km_f2u(mag) & 0x7fffffffu) | (km_f2u(sgn) & 0x80000000u));
}
static inline double km_copysign(double mag, double sgn) {
  return km_u2d((km_d2u(mag) & 0x7fffffffffffffffull) |
                (km_d2u(sgn) & 0x8000000000000000ull));
}

/* 2^k for k in the normal range (float: [-126, 127], double: [-1022,
 * 1023]); callers keep k there. */
static inline float km_pow2f(int32_t k) {
  return km_u2f((uint32_t)(k + 127) << 23);
}
static inline double km_pow2(int64_t k) {
  return km_u2d((uint64_t)(k + 1023) << 52);
}

/*===------------------------------------------------------------------===*/
/* Rounding without libm                                                   */
/*===------------------------------------------------------------------===*/
/* On a baseline x86-64 target (no SSE4.1) LLVM turns floorf & co. into libm
 * calls, which generated code may not make.  These use the round-to-
 * nearest-even of an add: for |x| < 2^23, (|x| + 2^23) - 2^23 is |x|
 * rounded to an integer.  Larger values, infinities and NaN are already
 * integers (or NaN) and pass through; the sign of zero is kept. */

static inline float km_rintf(float x) {
  float a = fabsf(x);
  float r = (a + 0x1p23f) - 0x1p23f;
  return a < 0x1p23f ? km_copysignf(r, x) : x;
}
static inline float km_floorf(float x) {
  float r = km_rintf(x);
  r = r > x ? r - 1.0f : r;
  return km_copysignf(r, x);
}
static inline float km_ceilf(float x) {
  float r = km_rintf(x);
  r = r < x ? r + 1.0f : r;
  return km_copysignf(r, x);
}
static inline float km_truncf(float x) {
  return km_copysignf(km_floorf(fabsf(x)), x);
}

static inline double km_rint(double x) {
  double a = fabs(x);
  double r = (a + 0x1p52) - 0x1p52;
  return a < 0x1p52 ? km_copysign(r, x) : x;
}
static inline double km_floor(double x) {
  double r = km_rint(x);
  r = r > x ? r - 1.0 : r;
  return km_copysign(r, x);
}
static inline double km_ceil(double x) {
  double r = km_rint(x);
  r = r < x ? r + 1.0 : r;
  return km_copysign(r, x);
}
static inline double km_trunc(double x) {
  return km_copysign(km_floor(fabs(x)), x);
}

/*===------------------------------------------------------------------===*/
/* Shared constants                                                        */
/*===------------------------------------------------------------------===*/
/* Computed for this file from Machin's formula and the series of ln 2 in
 * exact integer arithmetic.  The *_HI parts have trailing zero bits so
 * that k * HI is exact for the k the reductions produce. */
#define KM_LOG2E_F 0x1.715476p+0f
#define KM_LN2_HI_F 0x1.62e4p-1f     /* 15 significant bits */
#define KM_LN2_LO_F 0x1.7f7d1cp-20f
#define KM_INV_LN2 0x1.71547652b82fep+0
#define KM_LN2_HI 0x1.62e42fefa3800p-1 /* 42 significant bits */
#define KM_LN2_LO 0x1.ef35793c76730p-45
#define KM_PIO2_HI 0x1.921fb54442d18p+0 /* pi/2 = HI + LO */
#define KM_PIO2_LO 0x1.1a62633145c07p-54
#define KM_PIO2_1 0x1.921fb544p+0        /* 33 bits */
#define KM_PIO2_2 0x1.0b4611a626331p-34
#define KM_2_PI 0x1.45f306dc9c883p-1
#define KM_2_SQRTPI 0x1.20dd750429b6dp+0
#define KM_SQRTPI 0x1.c5bf891b4ef6bp+0

/* Exact products and sums of doubles (Dekker/Knuth), without FMA: the
 * generic target has none, and templates are compiled with
 * -ffp-contract=off.  km_two_prod needs |a|, |b| < 2^995. */
static inline void km_split(double a, double *hi, double *lo) {
  double t = 134217729.0 * a; /* 2^27 + 1 */
  double h = t - (t - a);
  *hi = h;
  *lo = a - h;
}
static inline void km_two_prod(double a, double b, double *p, double *e) {
  double ah, al, bh, bl;
  *p = a * b;
  km_split(a, &ah, &al);
  km_split(b, &bh, &bl);
  *e = ((ah * bh - *p) + ah * bl + al * bh) + al * bl;
}
static inline void km_two_sum(double a, double b, double *s, double *e) {
  *s = a + b;
  double bb = *s - a;
  *e = (a - (*s - bb)) + (b - bb);
}

/*===------------------------------------------------------------------===*/
/* float: exp, expm1, log, log1p                                           */
/*===------------------------------------------------------------------===*/

/* x = k ln2 + r with |r| <= ln2/2 (plus rounding); returns r, sets *k.
 * |x| must be within [-160, 160] (callers clamp; NaN passes and gives a
 * NaN r and a meaningless k). */
static inline float km_reduce_ln2f(float x, int32_t *k) {
  float t = x * KM_LOG2E_F + 0x1.8p23f; /* integer part in the low bits */
  float kf = t - 0x1.8p23f;
  *k = (int32_t)(km_f2u(t) - 0x4b400000u);
  float r = x - kf * KM_LN2_HI_F;
  return r - kf * KM_LN2_LO_F;
}

/* (e^r - 1 - r) / r^2 for |r| <= 0.35: Taylor to r^6 (error < 2^-30). */
static inline float km_expm1_tailf(float r) {
  float q = 1.0f / 40320.0f;
  q = q * r + 1.0f / 5040.0f;
  q = q * r + 1.0f / 720.0f;
  q = q * r + 1.0f / 120.0f;
  q = q * r + 1.0f / 24.0f;
  q = q * r + 1.0f / 6.0f;
  return q * r + 0.5f;
}

static inline float kexpf(float x) {
  float xc = x > 89.0f ? 89.0f : x; /* comparisons keep NaN */
  xc = xc < -104.0f ? -104.0f : xc;
  int32_t k;
  float r = km_reduce_ln2f(xc, &k);
  float p = 1.0f + (r + r * r * km_expm1_tailf(r));
  /* 2^k in two factors so that subnormal results round once. */
  int32_t k1 = k >> 1, k2 = k - k1;
  return (p * km_pow2f(k1)) * km_pow2f(k2);
}

static inline float kexpm1f(float x) {
  float xc = x > 89.0f ? 89.0f : x;
  xc = xc < -30.0f ? -30.0f : xc;
  int32_t k;
  float r = km_reduce_ln2f(xc, &k);
  /* e^x - 1 = 2 (s (e^r - 1) + (s - 1/2)) with s = 2^(k-1) (no overflow
   * of s at k = 128), summed as (s r + (s - 1/2)) + s r^2 tail: the first
   * sum is exact for k = 0 and k = 1, where the result may be small. */
  float s = km_pow2f(k - 1);
  float y = 2.0f * ((s * r + (s - 0.5f)) + s * (r * r * km_expm1_tailf(r)));
  return fabsf(x) < 0x1p-25f ? x : y; /* e^x - 1 rounds to x; keeps -0 */
}

static inline float klogf(float x) {
  /* Subnormals: scale into the normal range first. */
  int sub = x < 0x1p-126f;
  float xs = sub ? x * 0x1p23f : x;
  uint32_t ix = km_f2u(xs);
  /* Mantissa m in [sqrt(1/2), sqrt(2)): offset the bits so the exponent
   * field carries when the mantissa is >= sqrt(2). */
  ix += 0x3f800000u - 0x3f3504f3u;
  int32_t e = (int32_t)(ix >> 23) - 127 - (sub ? 23 : 0);
  float m = km_u2f((ix & 0x007fffffu) + 0x3f3504f3u);
  float f = m - 1.0f;
  /* log(1 + f) = f - f^2/2 + s (f^2/2 + R), s = f / (2 + f), R = Taylor
   * of 2 atanh(s) - 2s over s, in z = s^2. */
  float s = f / (2.0f + f);
  float z = s * s;
  float R = z * (2.0f / 3.0f +
                 z * (2.0f / 5.0f +
                      z * (2.0f / 7.0f + z * (2.0f / 9.0f + z * (2.0f / 11.0f)))));
  float hfsq = 0.5f * f * f;
  float ef = (float)e;
  float y = ef * KM_LN2_HI_F -
            ((hfsq - (s * (hfsq + R) + ef * KM_LN2_LO_F)) - f);
  y = x == 0.0f ? -INFINITY : y;
  y = x < 0.0f ? NAN : y;
  y = x == INFINITY ? x : y;
  return x != x ? x : y;
}

static inline float klog1pf(float x) {
  /* log(1 + x) = log(u) + c / u, u = fl(1 + x), c = the rounding error. */
  float u = 1.0f + x;
  float c = x - (u - 1.0f);
  float y = klogf(u) + c / u;
  y = u == 0.0f ? -INFINITY : y;
  y = x == INFINITY ? x : y;
  return x == 0.0f ? x : y; /* keep -0 */
}

/*===------------------------------------------------------------------===*/
/* float: activations                                                      */
/*===------------------------------------------------------------------===*/

static inline float ktanhf(float x) {
  /* tanh|x| = t / (t + 2), t = e^(2|x|) - 1; tanh(9.5) rounds to 1. */
  float a = fabsf(x);
  a = a > 9.5f ? 9.5f : a;
  float t = kexpm1f(2.0f * a);
  return km_copysignf(t / (t + 2.0f), x);
}

/* 1 / (1 + e^-x), evaluated as e^x / (1 + e^x) for x < 0 (no overflow). */
static inline float ksigmoidf(float x) {
  float e = kexpf(-fabsf(x));
  return (x >= 0.0f ? 1.0f : e) / (1.0f + e);
}

/* log(1 + e^x) = max(x, 0) + log1p(e^-|x|). */
static inline float ksoftplusf(float x) {
  float m = x > 0.0f ? x : 0.0f;
  return m + klog1pf(kexpf(-fabsf(x)));
}

/* erf: x (1 + P(x^2)) below 0.875, 1 - e^(-x^2) Q(x) on [0.875, 4] (Q
 * approximates erfc(x) e^(x^2)); erf(x) rounds to 1 beyond 3.92. */
static inline float kerff(float x) {
  float a = fabsf(x);
  float z = a * a;
  float p = -0x1.463d36p-11f;
  p = p * z + 0x1.4a0840p-8f;
  p = p * z - 0x1.b6fe0ep-6f;
  p = p * z + 0x1.ce21d8p-4f;
  p = p * z - 0x1.812710p-2f;
  p = p * z + 0x1.06eba6p-3f;
  float small = a + a * p;
  float b = a > 4.0f ? 4.0f : a;
  float u = b - 2.4375f;
  float q = -0x1.0b4c58p-21f;
  q = q * u + 0x1.16eae2p-19f;
  q = q * u - 0x1.300e6cp-18f;
  q = q * u + 0x1.0ff4d8p-16f;
  q = q * u - 0x1.1cb19ep-14f;
  q = q * u + 0x1.fabc60p-13f;
  q = q * u - 0x1.acb670p-11f;
  q = q * u + 0x1.62de72p-9f;
  q = q * u - 0x1.1b6092p-7f;
  q = q * u + 0x1.b225fap-6f;
  q = q * u - 0x1.3db072p-4f;
  q = q * u + 0x1.b97392p-3f;
  float large = 1.0f - kexpf(-(b * b)) * q;
  return km_copysignf(a < 0.875f ? small : large, x);
}

/*===------------------------------------------------------------------===*/
/* double: exp, expm1, log, log1p                                          */
/*===------------------------------------------------------------------===*/

/* x = k ln2 + r, |x| <= 1100 (callers clamp; NaN gives a NaN r). */
static inline double km_reduce_ln2(double x, int64_t *k) {
  double t = x * KM_INV_LN2 + 0x1.8p52;
  double kd = t - 0x1.8p52;
  *k = (int64_t)(km_d2u(t) - 0x4338000000000000ull);
  double r = x - kd * KM_LN2_HI;
  return r - kd * KM_LN2_LO;
}

/* (e^r - 1 - r) / r^2 for |r| <= 0.35: Taylor to r^12 (error < 2^-60). */
static inline double km_expm1_tail(double r) {
  double q = 1.0 / 6227020800.0;
  q = q * r + 1.0 / 479001600.0;
  q = q * r + 1.0 / 39916800.0;
  q = q * r + 1.0 / 3628800.0;
  q = q * r + 1.0 / 362880.0;
  q = q * r + 1.0 / 40320.0;
  q = q * r + 1.0 / 5040.0;
  q = q * r + 1.0 / 720.0;
  q = q * r + 1.0 / 120.0;
  q = q * r + 1.0 / 24.0;
  q = q * r + 1.0 / 6.0;
  return q * r + 0.5;
}

/* e^r * 2^k for |r| <= 0.36 and k in [-1100, 1100]: two factors so a
 * subnormal result rounds once. */
static inline double km_exp_scale(double r, int64_t k) {
  double p = 1.0 + (r + r * r * km_expm1_tail(r));
  int64_t k1 = k >> 1, k2 = k - k1;
  return (p * km_pow2(k1)) * km_pow2(k2);
}

static inline double kexp(double x) {
  double xc = x > 710.0 ? 710.0 : x;
  xc = xc < -746.0 ? -746.0 : xc;
  int64_t k;
  double r = km_reduce_ln2(xc, &k);
  return km_exp_scale(r, k);
}

static inline double kexpm1(double x) {
  double xc = x > 710.0 ? 710.0 : x;
  xc = xc < -40.0 ? -40.0 : xc;
  int64_t k;
  double r = km_reduce_ln2(xc, &k);
  double s = km_pow2(k - 1); /* as in kexpm1f */
  double y = 2.0 * ((s * r + (s - 0.5)) + s * (r * r * km_expm1_tail(r)));
  return fabs(x) < 0x1p-54 ? x : y;
}

/* Splits finite x > 0 into 2^e * m with m in [sqrt(1/2), sqrt(2)). */
static inline double km_log_split(double x, int64_t *e) {
  int sub = x < 0x1p-1022;
  double xs = sub ? x * 0x1p54 : x;
  uint64_t ix = km_d2u(xs) + (0x3ff0000000000000ull - 0x3fe6a09e667f3bcdull);
  *e = (int64_t)(ix >> 52) - 1023 - (sub ? 54 : 0);
  return km_u2d((ix & 0x000fffffffffffffull) + 0x3fe6a09e667f3bcdull);
}

/* (2 atanh(s) - 2s) / s = z (2/3 + z R2(z)), z = s^2 <= 0.0295: Taylor to
 * z^12.  km_atanh_r2 is R2. */
static inline double km_atanh_r2(double z) {
  double R = 2.0 / 25.0;
  R = R * z + 2.0 / 23.0;
  R = R * z + 2.0 / 21.0;
  R = R * z + 2.0 / 19.0;
  R = R * z + 2.0 / 17.0;
  R = R * z + 2.0 / 15.0;
  R = R * z + 2.0 / 13.0;
  R = R * z + 2.0 / 11.0;
  R = R * z + 2.0 / 9.0;
  R = R * z + 2.0 / 7.0;
  return R * z + 2.0 / 5.0;
}
static inline double km_atanh_tail(double z) {
  return z * (2.0 / 3.0 + z * km_atanh_r2(z));
}

static inline double klog(double x) {
  int64_t e;
  double m = km_log_split(x, &e);
  double f = m - 1.0;
  double s = f / (2.0 + f);
  double R = km_atanh_tail(s * s);
  double hfsq = 0.5 * f * f;
  double ed = (double)e;
  double y = ed * KM_LN2_HI - ((hfsq - (s * (hfsq + R) + ed * KM_LN2_LO)) - f);
  y = x == 0.0 ? -INFINITY : y;
  y = x < 0.0 ? NAN : y;
  y = x == INFINITY ? x : y;
  return x != x ? x : y;
}

static inline double klog1p(double x) {
  double u = 1.0 + x;
  double c = x - (u - 1.0);
  double y = klog(u) + c / u;
  y = u == 0.0 ? -INFINITY : y;
  y = x == INFINITY ? x : y;
  return x == 0.0 ? x : y;
}

/*===------------------------------------------------------------------===*/
/* double: activations and erf                                             */
/*===------------------------------------------------------------------===*/

static inline double ktanh(double x) {
  double a = fabs(x);
  a = a > 20.0 ? 20.0 : a; /* tanh(19.1) rounds to 1 */
  double t = kexpm1(2.0 * a);
  /* t / (t + 2) with the sum's and the quotient's rounding errors
   * corrected, so only t's error remains */
  double d = t + 2.0, dl = (2.0 - d) + t;
  double y = t / d, p, pe;
  km_two_prod(y, d, &p, &pe);
  y += (((t - p) - pe) - y * dl) / d;
  return km_copysign(y, x);
}

static inline double ksigmoid(double x) {
  double e = kexp(-fabs(x));
  return (x >= 0.0 ? 1.0 : e) / (1.0 + e);
}

static inline double ksoftplus(double x) {
  double m = x > 0.0 ? x : 0.0;
  return m + klog1p(kexp(-fabs(x)));
}

/* erf: the Taylor series below 1.5 (terms summed smallest first), else
 * 1 - erfc with erfc(x) = e^(-x^2) / (sqrt(pi) F), F the continued
 * fraction x + (1/2)/(x + 1/(x + (3/2)/(x + ...))) taken 100 deep; e^(-x^2)
 * uses the exact square.  erf rounds to 1 beyond 6. */
static inline double kerf(double x) {
  double a = fabs(x);
  if (a != a) return x;
  if (a >= 6.0) return km_copysign(1.0, x);
  if (a < 1.5) {
    double z = a * a, t = a, terms[30];
    for (int n = 0; n < 30; n++) {
      terms[n] = t / (double)(2 * n + 1);
      t = -t * z / (double)(n + 1);
    }
    double s = 0.0;
    for (int n = 29; n >= 0; n--) s += terms[n];
    return km_copysign(s * KM_2_SQRTPI, x);
  }
  double f = a;
  for (int k = 100; k > 0; k--) f = a + (0.5 * (double)k) / f;
  double h, l;
  km_two_prod(a, a, &h, &l);
  double erfc = kexp(-h) * (1.0 - l) / (KM_SQRTPI * f);
  return km_copysign(1.0 - erfc, x);
}

/*===------------------------------------------------------------------===*/
/* sine and cosine                                                         */
/*===------------------------------------------------------------------===*/

/* 2/pi, 1216 bits after the binary point, behind 128 zero bits: word 2
 * starts 0.101000101111... */
static const uint64_t km_two_over_pi[21] = {
    0x0000000000000000u, 0x0000000000000000u, 0xa2f9836e4e441529u,
    0xfc2757d1f534ddc0u, 0xdb6295993c439041u, 0xfe5163abdebbc561u,
    0xb7246e3a424dd2e0u, 0x06492eea09d1921cu, 0xfe1deb1cb129a73eu,
    0xe88235f52ebb4484u, 0xe99c7026b45f7e41u, 0x3991d639835339f4u,
    0x9c845f8bbdf9283bu, 0x1ff897ffde05980fu, 0xef2f118b5a0a6d1fu,
    0x6d367ecf27cb09b7u, 0x4f463f669e5fea2du, 0x7527bac7ebe5f17bu,
    0x3d0739f78a5292eau, 0x6bfb5fb11f8d5d08u, 0x56033046fc7b6babu,
};

/* 64 bits of the table starting at bit |p| (bit 0 = MSB of word 0). */
static inline uint64_t km_2pi_bits(int p) {
  int w = p >> 6, sh = p & 63;
  uint64_t hi = km_two_over_pi[w], lo = km_two_over_pi[w + 1];
  return (hi << sh) | ((lo >> 1) >> (63 - sh));
}

/* Exact reduction of finite |x| >= pi/4: x = (q + f) pi/2 with |f| <= 1/2;
 * returns q mod 4 and f pi/2 as the double-double *rh + *rl.
 *
 * With x = M 2^E (M the 53-bit integer mantissa), bits of 2/pi of weight
 * 2^-j for j < E - 1 only add multiples of 4 to x 2/pi, so a 192-bit
 * window W from bit j = E - 1 on gives x 2/pi mod 4 = M W / 2^190 (the
 * rest of the table changes it by less than 2^-137).  The 128 fraction
 * bits below the point are normalised (the closest a double comes to a
 * multiple of pi/2 leaves 61 leading zeros) and 106 of them become a
 * double-double. */
static inline int km_rem_pio2(double x, double *rh, double *rl) {
  typedef unsigned __int128 u128;
  uint64_t ix = km_d2u(x) & 0x7fffffffffffffffull;
  int ex = (int)(ix >> 52);
  uint64_t M = (ix & 0x000fffffffffffffull) | 0x0010000000000000ull;
  int p = ex - 1075 + 126; /* table bit of j = E - 1 */
  uint64_t a0 = km_2pi_bits(p), a1 = km_2pi_bits(p + 64),
           a2 = km_2pi_bits(p + 128);
  u128 p2 = (u128)M * a2, p1 = (u128)M * a1, p0 = (u128)M * a0;
  /* limbs of M W, least significant first: l0 l1 l2 (bits 0..191) */
  uint64_t l0 = (uint64_t)p2;
  u128 c = (p2 >> 64) + (uint64_t)p1;
  uint64_t l1 = (uint64_t)c;
  c = (c >> 64) + (p1 >> 64) + (uint64_t)p0;
  uint64_t l2 = (uint64_t)c;
  /* the point is at bit 190: integer bits 190..191 of l2 */
  int q = (int)(l2 >> 62);
  u128 U = ((u128)(l2 & 0x3fffffffffffffffull) << 66) | ((u128)l1 << 2) |
           (l0 >> 62);
  int neg = (int)(U >> 127); /* f >= 1/2: take f - 1 and q + 1 */
  q = (q + neg) & 3;
  u128 A = neg ? (u128)0 - U : U;
  double fh = 0.0, fl = 0.0;
  if (A != 0) {
    uint64_t ahi = (uint64_t)(A >> 64);
    int lz = ahi ? __builtin_clzll(ahi) : 64 + __builtin_clzll((uint64_t)A);
    A <<= lz;
    int64_t top = (int64_t)(A >> 75);                      /* 53 bits */
    int64_t next = (int64_t)((A >> 22) & 0x1fffffffffffffull); /* 53 bits */
    fh = (double)top * km_pow2(-53 - lz);
    fl = (double)next * km_pow2(-106 - lz);
  }
  double ph, pe;
  km_two_prod(fh, KM_PIO2_HI, &ph, &pe);
  pe += fh * KM_PIO2_LO + fl * KM_PIO2_HI;
  double h = ph + pe, l = pe - (h - ph);
  if (neg) {
    h = -h;
    l = -l;
  }
  if (x < 0) {
    h = -h;
    l = -l;
    q = (4 - q) & 3;
  }
  *rh = h;
  *rl = l;
  return q;
}

/* sin(h + l) and cos(h + l) for |h| <= pi/4 + tiny, |l| <= ulp(h). */
static inline double km_sin_poly(double h, double l) {
  double z = h * h;
  double p = 1.0 / 355687428096000.0;
  p = p * z - 1.0 / 1307674368000.0;
  p = p * z + 1.0 / 6227020800.0;
  p = p * z - 1.0 / 39916800.0;
  p = p * z + 1.0 / 362880.0;
  p = p * z - 1.0 / 5040.0;
  p = p * z + 1.0 / 120.0;
  p = p * z - 1.0 / 6.0;
  return h + ((h * z) * p + (l - 0.5 * z * l));
}
static inline double km_cos_poly(double h, double l) {
  double z = h * h;
  double p = 1.0 / 6402373705728000.0;
  p = p * z - 1.0 / 20922789888000.0;
  p = p * z + 1.0 / 87178291200.0;
  p = p * z - 1.0 / 479001600.0;
  p = p * z + 1.0 / 3628800.0;
  p = p * z - 1.0 / 40320.0;
  p = p * z + 1.0 / 720.0;
  p = p * z - 1.0 / 24.0;
  double hz = 0.5 * z, w = 1.0 - hz;
  /* 1 - hz rounded, plus what the rounding lost (as in fdlibm) */
  return w + (((1.0 - w) - hz) + (z * z * (-p) - h * l));
}

/* sin (cosine when |want_cos| is set) of any double. */
static inline double km_sincos(double x, int want_cos) {
  double a = fabs(x);
  if (!(a >= 0x1.921fb54442d18p-1)) /* |x| < pi/4, or NaN */
    return want_cos ? km_cos_poly(x, 0.0) : km_sin_poly(x, 0.0);
  if (a == INFINITY) return x - x;
  double h, l;
  int q = (km_rem_pio2(x, &h, &l) + want_cos) & 3;
  double v = (q & 1) ? km_cos_poly(h, l) : km_sin_poly(h, l);
  return (q & 2) ? -v : v;
}
static inline double ksin(double x) { return km_sincos(x, 0); }
static inline double kcos(double x) { return km_sincos(x, 1); }

/* Float sine/cosine, branch-free, for |x| <= KM_TRIGF_FAST_MAX: reduce in
 * double with pi/2 = PIO2_1 + PIO2_2 (k PIO2_1 is exact for k < 2^20) and
 * evaluate double polynomials.  Beyond the bound the result is garbage (no
 * undefined behaviour): use ksinf/kcosf, or patch such elements. */
#define KM_TRIGF_FAST_MAX 0x1p19f

static inline float km_sincosf_fast(float x, int want_cos) {
  double xd = (double)x;
  double t = xd * KM_2_PI + 0x1.8p52;
  double kd = t - 0x1.8p52;
  int q = (int)((km_d2u(t) + (uint64_t)want_cos) & 3);
  double r = (xd - kd * KM_PIO2_1) - kd * KM_PIO2_2;
  double z = r * r;
  double s = 1.0 / 6227020800.0;
  s = s * z - 1.0 / 39916800.0;
  s = s * z + 1.0 / 362880.0;
  s = s * z - 1.0 / 5040.0;
  s = s * z + 1.0 / 120.0;
  s = s * z - 1.0 / 6.0;
  s = r + (r * z) * s;
  double c = 1.0 / 87178291200.0;
  c = c * z - 1.0 / 479001600.0;
  c = c * z + 1.0 / 3628800.0;
  c = c * z - 1.0 / 40320.0;
  c = c * z + 1.0 / 720.0;
  c = c * z - 1.0 / 24.0;
  c = c * z + 0.5;
  c = 1.0 - z * c;
  double v = (q & 1) ? c : s;
  return (float)((q & 2) ? -v : v);
}
static inline float ksinf_fast(float x) { return km_sincosf_fast(x, 0); }
static inline float kcosf_fast(float x) { return km_sincosf_fast(x, 1); }
static inline float ksinf(float x) {
  return fabsf(x) <= KM_TRIGF_FAST_MAX ? ksinf_fast(x) : (float)ksin(x);
}
static inline float kcosf(float x) {
  return fabsf(x) <= KM_TRIGF_FAST_MAX ? kcosf_fast(x) : (float)kcos(x);
}

/*===------------------------------------------------------------------===*/
/* pow                                                                     */
/*===------------------------------------------------------------------===*/

/* The special cases of pow (C99 F.9.4.4) applied to |r| = e^(y log|x|),
 * computed for x != 0 finite: the sign for a negative x and odd integer y,
 * NaN for a finite x < 0 and non-integer y, and pow(+-1, +-inf) =
 * pow(1, y) = pow(x, +-0) = 1 even for NaN operands. */
static inline float km_pow_finishf(float x, float y, float r) {
  float yh = y * 0.5f;
  int yint = km_truncf(y) == y;
  int yodd = yint && km_truncf(yh) != yh;
  float ax = fabsf(x);
  r = ((km_f2u(x) >> 31) && yodd) ? -r : r;
  r = (x < 0.0f && x > -INFINITY && !yint) ? NAN : r;
  r = (ax == 1.0f && fabsf(y) == INFINITY) ? 1.0f : r;
  return (y == 0.0f || x == 1.0f) ? 1.0f : r;
}
static inline double km_pow_finish(double x, double y, double r) {
  double yh = y * 0.5;
  int yint = km_trunc(y) == y;
  int yodd = yint && km_trunc(yh) != yh;
  double ax = fabs(x);
  r = ((km_d2u(x) >> 63) && yodd) ? -r : r;
  r = (x < 0.0 && x > -INFINITY && !yint) ? NAN : r;
  r = (ax == 1.0 && fabs(y) == INFINITY) ? 1.0 : r;
  return (y == 0.0 || x == 1.0) ? 1.0 : r;
}

/* pow in float: y log|x| and the exponential in double (< 2^-40 relative
 * error before the final rounding). */
static inline float kpowf(float x, float y) {
  double ax = fabs((double)x);
  int64_t e;
  double m = km_log_split(ax, &e);
  double f = m - 1.0;
  double s = f / (2.0 + f);
  double z = s * s;
  double R = z * (2.0 / 3.0 +
                  z * (2.0 / 5.0 +
                       z * (2.0 / 7.0 +
                            z * (2.0 / 9.0 +
                                 z * (2.0 / 11.0 +
                                      z * (2.0 / 13.0 + z * (2.0 / 15.0)))))));
  double hfsq = 0.5 * f * f;
  double ed = (double)e;
  double L = ed * KM_LN2_HI - ((hfsq - (s * (hfsq + R) + ed * KM_LN2_LO)) - f);
  L = ax == 0.0 ? -INFINITY : L;
  L = ax == INFINITY ? INFINITY : L;
  L = ax != ax ? ax : L;
  double t = (double)y * L;
  t = t > 200.0 ? 200.0 : t;
  t = t < -200.0 ? -200.0 : t;
  int64_t k;
  double r = km_reduce_ln2(t, &k);
  /* e^r to 2^-37 (Taylor to r^9) is plenty before rounding to float */
  double q = 1.0 / 362880.0;
  q = q * r + 1.0 / 40320.0;
  q = q * r + 1.0 / 5040.0;
  q = q * r + 1.0 / 720.0;
  q = q * r + 1.0 / 120.0;
  q = q * r + 1.0 / 24.0;
  q = q * r + 1.0 / 6.0;
  q = q * r + 0.5;
  double p = 1.0 + (r + r * r * q);
  return km_pow_finishf(x, y, (float)(p * km_pow2(k))); /* |k| <= 289 */
}

/* log|x| as a double-double, for kpow: 2 atanh(s) with s = f / (2 + f) as
 * a double-double, e ln2 from a 42-bit split. */
static inline void km_log_dd(double ax, double *lh, double *ll) {
  int64_t e;
  double m = km_log_split(ax, &e);
  double f = m - 1.0; /* exact */
  double u = 2.0 + f, ul = f - (u - 2.0);
  double sh = f / u;
  double p, pe;
  km_two_prod(sh, u, &p, &pe);
  double sl = (((f - p) - pe) - sh * ul) / u;
  /* 2 atanh(s) - 2s = s^3 (2/3 + z R2(z)) to ~2^-59 relative: s^3 and the
   * bracket as double-doubles (the term reaches 1% of log|x|, and y log|x|
   * may be ~700, so double rounding here would cost several ulps). */
  double zh, zl, ch, cl;
  km_two_prod(sh, sh, &zh, &zl);
  km_two_prod(sh, zh, &ch, &cl);
  cl += sh * zl + 3.0 * zh * sl;
  double bh, bl;
  km_two_sum(0x1.5555555555555p-1, zh * km_atanh_r2(zh), &bh, &bl);
  bl += 0x1.5555555555555p-55; /* 2/3 - fl(2/3) */
  double qh, ql;
  km_two_prod(ch, bh, &qh, &ql);
  ql += ch * bl + cl * bh;
  double ed = (double)e;
  double hi, lo, hi2, lo2;
  km_two_sum(ed * KM_LN2_HI, 2.0 * sh, &hi, &lo);
  km_two_sum(hi, qh, &hi2, &lo2);
  lo += lo2 + ql + ed * KM_LN2_LO + 2.0 * sl;
  *lh = hi2 + lo;
  *ll = lo - (*lh - hi2);
}

static inline double kpow(double x, double y) {
  double ax = fabs(x);
  double lh, ll;
  km_log_dd(ax, &lh, &ll);
  lh = ax == 0.0 ? -INFINITY : lh;
  lh = ax == INFINITY ? INFINITY : lh;
  lh = ax != ax ? ax : lh;
  ll = (ax == 0.0 || ax == INFINITY || ax != ax) ? 0.0 : ll;
  /* y (lh + ll); a |y| beyond 2^900 overflows or underflows anyway */
  double yc = fabs(y) > 0x1p900 ? km_copysign(0x1p900, y) : y;
  double th, tl;
  km_two_prod(yc, lh, &th, &tl);
  tl += yc * ll;
  double res;
  if (th > 710.0) {
    res = INFINITY;
  } else if (th < -746.0) {
    res = 0.0;
  } else if (th != th) {
    res = th;
  } else {
    int64_t k;
    double r = km_reduce_ln2(th, &k) + tl;
    res = km_exp_scale(r, k);
  }
  return km_pow_finish(x, y, res);
}

/*===------------------------------------------------------------------===*/
/* Type-generic names (C11 _Generic), for templates written once over      */
/* float and double                                                        */
/*===------------------------------------------------------------------===*/
#define KM_GENERIC(x, f, d) _Generic((x), float: f, double: d)
#define KM_EXP(x) KM_GENERIC(x, kexpf, kexp)(x)
#define KM_EXPM1(x) KM_GENERIC(x, kexpm1f, kexpm1)(x)
#define KM_LOG(x) KM_GENERIC(x, klogf, klog)(x)
#define KM_LOG1P(x) KM_GENERIC(x, klog1pf, klog1p)(x)
#define KM_TANH(x) KM_GENERIC(x, ktanhf, ktanh)(x)
#define KM_ERF(x) KM_GENERIC(x, kerff, kerf)(x)
#define KM_SIN(x) KM_GENERIC(x, ksinf, ksin)(x)
#define KM_COS(x) KM_GENERIC(x, kcosf, kcos)(x)
#define KM_SIGMOID(x) KM_GENERIC(x, ksigmoidf, ksigmoid)(x)
#define KM_SOFTPLUS(x) KM_GENERIC(x, ksoftplusf, ksoftplus)(x)
#define KM_POW(x, y) KM_GENERIC(x, kpowf, kpow)(x, y)
#define KM_ABS(x) KM_GENERIC(x, fabsf, fabs)(x)
#define KM_SQRT(x) KM_GENERIC(x, sqrtf, sqrt)(x)
#define KM_RINT(x) KM_GENERIC(x, km_rintf, km_rint)(x)
#define KM_FLOOR(x) KM_GENERIC(x, km_floorf, km_floor)(x)
#define KM_CEIL(x) KM_GENERIC(x, km_ceilf, km_ceil)(x)

/*===------------------------------------------------------------------===*/
/* float16 and bfloat16                                                    */
/*===------------------------------------------------------------------===*/
/* Bit-exact with ir/dtype.c (ir_f16_to_f32, ir_f32_to_f16, ...): round to
 * nearest even, NaN stays a quiet NaN.  Templates cannot call the IR
 * library, so the algorithm lives here too; test_kmath checks the two
 * agree. */

static inline float kf16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t ex = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  float sub = km_u2f(sign | km_f2u((float)man * 0x1p-24f));
  float inf_nan = km_u2f(sign | 0x7f800000u | (man << 13));
  float normal = km_u2f(sign | ((ex + 112u) << 23) | (man << 13));
  return ex == 0 ? sub : (ex == 31 ? inf_nan : normal);
}

static inline uint16_t kf32_to_f16(float f) {
  uint32_t u = km_f2u(f);
  uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t ex = (u >> 23) & 0xffu, man = u & 0x7fffffu;
  int32_t e = (int32_t)ex - 127 + 15;
  /* normal half: round the 13 dropped bits to nearest even (a carry may
   * reach the exponent, up to infinity) */
  uint32_t half = ((uint32_t)(e < 1 ? 1 : e) << 10) | (man >> 13);
  uint32_t rem = man & 0x1fffu;
  half += (rem > 0x1000u || (rem == 0x1000u && (half & 1u)));
  /* subnormal half: shift the full mantissa right by 14 - e (>= 14) */
  int32_t shift = 14 - e;
  shift = shift < 14 ? 14 : (shift > 31 ? 31 : shift);
  uint32_t mf = man | 0x800000u;
  uint32_t sh = mf >> shift, srem = mf & ((1u << shift) - 1u);
  uint32_t mid = 1u << (shift - 1);
  sh += (srem > mid || (srem == mid && (sh & 1u)));
  uint32_t r = e >= 31 ? 0x7c00u : (e <= 0 ? (e < -10 ? 0u : sh) : half);
  r = ex == 0xffu ? (0x7c00u | (man ? 0x200u | (man >> 13) : 0u)) : r;
  return (uint16_t)(sign | r);
}

static inline float kbf16_to_f32(uint16_t h) {
  return km_u2f((uint32_t)h << 16);
}

static inline uint16_t kf32_to_bf16(float f) {
  uint32_t u = km_f2u(f);
  uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? (u >> 16) | 0x40u : r);
}

/* Truncating conversion: what ONNX Cast to bfloat16 does (docs/
 * decisions.md); NaN stays a quiet NaN. */
static inline uint16_t kf32_to_bf16_trunc(float f) {
  uint32_t u = km_f2u(f);
  return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? (u >> 16) | 0x40u
                                                    : u >> 16);
}

/*===------------------------------------------------------------------===*/
/* Typed element access                                                    */
/*===------------------------------------------------------------------===*/
/* Element types by their ONNX numbers (= ir_dtype). */
enum {
  KM_F32 = 1, KM_U8 = 2, KM_I8 = 3, KM_U16 = 4, KM_I16 = 5, KM_I32 = 6,
  KM_I64 = 7, KM_BOOL = 9, KM_F16 = 10, KM_F64 = 11, KM_U32 = 12,
  KM_U64 = 13, KM_BF16 = 16,
};

static inline int km_is_float(int dt) {
  return dt == KM_F32 || dt == KM_F64 || dt == KM_F16 || dt == KM_BF16;
}

/* Loads and stores with the semantics of ir_load_* / ir_store_* (ir.h):
 * floats load exactly into double, integers into int64 (uint64 through
 * kld_u64); stores round to float types, convert floats to integers by
 * truncation (NaN -> 0, saturating at the int64/uint64 range, then
 * keeping the low bits) and keep the low bits of integers.  |dt| is a
 * constant after specialisation, so the switches fold away. */
static inline double kld_f64(int dt, const void *p, int64_t i) {
  switch (dt) {
  case KM_F32: return ((const float *)p)[i];
  case KM_F64: return ((const double *)p)[i];
  case KM_F16: return kf16_to_f32(((const uint16_t *)p)[i]);
  case KM_BF16: return kbf16_to_f32(((const uint16_t *)p)[i]);
  case KM_U8: return ((const uint8_t *)p)[i];
  case KM_I8: return ((const int8_t *)p)[i];
  case KM_U16: return ((const uint16_t *)p)[i];
  case KM_I16: return ((const int16_t *)p)[i];
  case KM_I32: return ((const int32_t *)p)[i];
  case KM_I64: return (double)((const int64_t *)p)[i];
  case KM_U32: return ((const uint32_t *)p)[i];
  case KM_U64: return (double)((const uint64_t *)p)[i];
  case KM_BOOL: return ((const uint8_t *)p)[i] != 0;
  default: return 0.0;
  }
}

static inline int64_t km_f64_to_i64(double d) {
  if (d != d) return 0;
  if (d >= 9223372036854775807.0) return INT64_MAX;
  if (d <= -9223372036854775808.0) return INT64_MIN;
  return (int64_t)d;
}

static inline uint64_t km_f64_to_u64(double d) {
  if (d != d || d == 0) return 0;
  if (d < 0)
    return d <= -9223372036854775808.0 ? (uint64_t)INT64_MIN
                                       : (uint64_t)(int64_t)d;
  if (d >= 18446744073709551615.0) return UINT64_MAX;
  return (uint64_t)d;
}

static inline int64_t kld_i64(int dt, const void *p, int64_t i) {
  switch (dt) {
  case KM_U8: return ((const uint8_t *)p)[i];
  case KM_I8: return ((const int8_t *)p)[i];
  case KM_U16: return ((const uint16_t *)p)[i];
  case KM_I16: return ((const int16_t *)p)[i];
  case KM_I32: return ((const int32_t *)p)[i];
  case KM_I64: return ((const int64_t *)p)[i];
  case KM_U32: return ((const uint32_t *)p)[i];
  case KM_U64: return (int64_t)((const uint64_t *)p)[i];
  case KM_BOOL: return ((const uint8_t *)p)[i] != 0;
  default: return km_f64_to_i64(kld_f64(dt, p, i));
  }
}

static inline uint64_t kld_u64(int dt, const void *p, int64_t i) {
  if (dt == KM_U64) return ((const uint64_t *)p)[i];
  if (km_is_float(dt)) return km_f64_to_u64(kld_f64(dt, p, i));
  return (uint64_t)kld_i64(dt, p, i);
}

static inline void kst_i64(int dt, void *p, int64_t i, int64_t v);

static inline void kst_f64(int dt, void *p, int64_t i, double v) {
  switch (dt) {
  case KM_F32: ((float *)p)[i] = (float)v; break;
  case KM_F64: ((double *)p)[i] = v; break;
  case KM_F16: ((uint16_t *)p)[i] = kf32_to_f16((float)v); break;
  case KM_BF16: ((uint16_t *)p)[i] = kf32_to_bf16((float)v); break;
  case KM_BOOL: ((uint8_t *)p)[i] = v != 0; break;
  case KM_U64: ((uint64_t *)p)[i] = km_f64_to_u64(v); break;
  default: kst_i64(dt, p, i, km_f64_to_i64(v)); break;
  }
}

static inline void kst_i64(int dt, void *p, int64_t i, int64_t v) {
  uint64_t u = (uint64_t)v;
  switch (dt) {
  case KM_U8: ((uint8_t *)p)[i] = (uint8_t)u; break;
  case KM_I8: ((int8_t *)p)[i] = (int8_t)(uint8_t)u; break;
  case KM_U16: ((uint16_t *)p)[i] = (uint16_t)u; break;
  case KM_I16: ((int16_t *)p)[i] = (int16_t)(uint16_t)u; break;
  case KM_I32: ((int32_t *)p)[i] = (int32_t)(uint32_t)u; break;
  case KM_I64: ((int64_t *)p)[i] = v; break;
  case KM_U32: ((uint32_t *)p)[i] = (uint32_t)u; break;
  case KM_U64: ((uint64_t *)p)[i] = u; break;
  case KM_BOOL: ((uint8_t *)p)[i] = v != 0; break;
  default: kst_f64(dt, p, i, (double)v); break;
  }
}

static inline void kst_u64(int dt, void *p, int64_t i, uint64_t v) {
  if (dt == KM_U64) ((uint64_t *)p)[i] = v;
  else if (km_is_float(dt)) kst_f64(dt, p, i, (double)v);
  else kst_i64(dt, p, i, (int64_t)v);
}

#endif /* INGOT_KMATH_H */
