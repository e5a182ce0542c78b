/* conv.c (AVX-512) — direct and depthwise float32 convolution with zmm
 * register blocks (descriptor: generic/conv.h; loops: kconv_drive).
 *
 * The lowering picks these when the weights are packed (constant) and the
 * output's channels are contiguous (NHWC); ConvTranspose and weights given
 * at run time stay on the generic template.
 *  - k_conv_f32_avx512: px pixels x nv zmm of output channels; for every
 *    tap and input channel, nv weight vectors are loaded once and each
 *    pixel's input value is broadcast from memory into px*nv FMAs.
 *  - k_conv_dw_f32_avx512: px pixels x nv zmm of channels; per tap, nv
 *    weight vectors and px*nv input vectors, one FMA each.
 * The last vector of a channel block is stored (and, for depthwise, the
 * input loaded) under a mask: no scalar tails.
 */
#include <immintrin.h>

#include "generic/conv.h"
#include "generic/epilogue_apply.h"

#define CONV_PX_MAX 24 /* ORDER: generic/conv.c, lower_conv.c */
#define CONV_NV_MAX 4

/* What guarded pixels read outside the input (KCONV_ZEROS, conv.h). */
static const float conv_zeros[KCONV_ZEROS];

K_INLINE __mmask16 conv_mask(int64_t v, int64_t cols) {
  int64_t n = cols - 16 * v;
  return n >= 16  ? (__mmask16)0xffff
         : n <= 0 ? (__mmask16)0
                  : (__mmask16)((1u << n) - 1u);
}

K_INLINE void conv_tile_avx512(const k_conv_desc *d, const float *x,
                               const float *w, const float *bias, float *y,
                               int64_t i0b, int64_t i1b, int64_t o2,
                               int64_t npx, const int64_t *lo,
                               const int64_t *hi, int guard, int64_t nv,
                               int64_t cols, int64_t ci0, int64_t ci1,
                               int first) {
  __m512 acc[CONV_PX_MAX][CONV_NV_MAX];
  for (int64_t v = 0; v < nv; v++) {
    __m512 b = bias ? _mm512_loadu_ps(bias + 16 * v) : _mm512_setzero_ps();
    for (int64_t p = 0; p < npx; p++)
      acc[p][v] = first
                      ? b
                      : _mm512_maskz_loadu_ps(conv_mask(v, cols),
                                              y + (o2 + p) * d->ys[2] + 16 * v);
  }
  int64_t i2b = o2 * d->s[2] - d->pb[2];
  for (int64_t t0 = lo[0]; t0 < hi[0]; t0++)
    for (int64_t t1 = lo[1]; t1 < hi[1]; t1++) {
      const float *xr =
          x + (i0b + t0 * d->d[0]) * d->xs[0] + (i1b + t1 * d->d[1]) * d->xs[1];
      for (int64_t t2 = lo[2]; t2 < hi[2]; t2++) {
        const float *xp[CONV_PX_MAX];
        kconv_pixels(d, xr, i2b + t2 * d->d[2], npx, guard, conv_zeros, xp);
        const float *wp = w + t0 * d->ws[0] + t1 * d->ws[1] + t2 * d->ws[2];
        for (int64_t ci = ci0; ci < ci1; ci++) {
          __m512 wv[CONV_NV_MAX];
          for (int64_t v = 0; v < nv; v++)
            wv[v] = _mm512_loadu_ps(wp + ci * d->ws_i + 16 * v);
          for (int64_t p = 0; p < npx; p++) {
            __m512 xv = _mm512_set1_ps(xp[p][ci * d->xs_c]);
            for (int64_t v = 0; v < nv; v++)
              acc[p][v] = _mm512_fmadd_ps(xv, wv[v], acc[p][v]);
          }
        }
      }
    }
  for (int64_t p = 0; p < npx; p++)
    for (int64_t v = 0; v < nv; v++)
      _mm512_mask_storeu_ps(y + (o2 + p) * d->ys[2] + 16 * v,
                            conv_mask(v, cols), acc[p][v]);
}

K_INLINE void conv_dw_tile_avx512(const k_conv_desc *d, const float *x,
                                  const float *w, const float *bias, float *y,
                                  int64_t i0b, int64_t i1b, int64_t o2,
                                  int64_t npx, const int64_t *lo,
                                  const int64_t *hi, int guard, int64_t nv,
                                  int64_t cols, int64_t ci0, int64_t ci1,
                                  int first) {
  __m512 acc[CONV_PX_MAX][CONV_NV_MAX];
  (void)ci0, (void)ci1; /* one input channel per group */
  for (int64_t v = 0; v < nv; v++) {
    __m512 b = bias ? _mm512_loadu_ps(bias + 16 * v) : _mm512_setzero_ps();
    for (int64_t p = 0; p < npx; p++)
      acc[p][v] = first
                      ? b
                      : _mm512_maskz_loadu_ps(conv_mask(v, cols),
                                              y + (o2 + p) * d->ys[2] + 16 * v);
  }
  int64_t i2b = o2 * d->s[2] - d->pb[2];
  for (int64_t t0 = lo[0]; t0 < hi[0]; t0++)
    for (int64_t t1 = lo[1]; t1 < hi[1]; t1++) {
      const float *xr =
          x + (i0b + t0 * d->d[0]) * d->xs[0] + (i1b + t1 * d->d[1]) * d->xs[1];
      for (int64_t t2 = lo[2]; t2 < hi[2]; t2++) {
        const float *xp[CONV_PX_MAX];
        kconv_pixels(d, xr, i2b + t2 * d->d[2], npx, guard, conv_zeros, xp);
        const float *wp = w + t0 * d->ws[0] + t1 * d->ws[1] + t2 * d->ws[2];
        for (int64_t v = 0; v < nv; v++) {
          __m512 wv = _mm512_loadu_ps(wp + 16 * v);
          __mmask16 m = conv_mask(v, cols);
          for (int64_t p = 0; p < npx; p++)
            acc[p][v] = _mm512_fmadd_ps(
                _mm512_maskz_loadu_ps(m, xp[p] + 16 * v), wv, acc[p][v]);
        }
      }
    }
  for (int64_t p = 0; p < npx; p++)
    for (int64_t v = 0; v < nv; v++)
      _mm512_mask_storeu_ps(y + (o2 + p) * d->ys[2] + 16 * v,
                            conv_mask(v, cols), acc[p][v]);
}

KSIG(k_conv_f32_avx512) {
  const k_conv_desc *d = desc_;
  kconv_drive(d, conv_tile_avx512, kptr(d->x, arena, weights),
              kptr(d->w, arena, weights),
              d->has_bias ? kptr(d->bias, arena, weights) : NULL,
              kptr(d->y, arena, weights), task_begin, task_end);
  kconv_epilogue(d, &d->epi, kptr(d->y, arena, weights), task_begin,
                 task_end);
}

KSIG(k_conv_dw_f32_avx512) {
  const k_conv_desc *d = desc_;
  kconv_drive(d, conv_dw_tile_avx512, kptr(d->x, arena, weights),
              kptr(d->w, arena, weights),
              d->has_bias ? kptr(d->bias, arena, weights) : NULL,
              kptr(d->y, arena, weights), task_begin, task_end);
  kconv_epilogue(d, &d->epi, kptr(d->y, arena, weights), task_begin,
                 task_end);
}
