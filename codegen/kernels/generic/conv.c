/* conv.c — generic convolution templates (descriptor: conv.h).
 *
 * k_conv_f32: direct float32 convolution, grouped or not, any layout.  A
 * register block holds px output pixels x nv vectors of 16 output
 * channels; for every tap and input channel it loads the nv weight vectors
 * once (contiguous after prepacking) and multiplies them by one broadcast
 * input value per pixel.  Interior pixels of a row (all taps inside the
 * input) run in whole blocks of px; border pixels join blocks that read
 * zeros for taps outside the input (NHWC) or run one at a time with
 * clipped tap ranges (kconv_drive, conv.h).  ConvTranspose takes the same
 * weights and runs pixel by pixel: output o sees input i = (o + pad - t*dil) /
 * stride for the taps where that division is exact and i is inside the input.
 *
 * k_conv_dw_f32: depthwise (one input and one output channel per group) in
 * NHWC: the vectors run over channels of X itself, so a block is px pixels
 * x nv channel vectors and each tap is one multiply-add per vector.
 *
 * k_conv_q8: ConvInteger and QLinearConv as a plain loop nest with the
 * exact int32 accumulator (wrapping, as the reference) and DESIGN.md §5
 * requantisation; the int8 engine replaces it with VNNI/AMX kernels.
 *
 * Float contraction is enabled in the float kernels (see matmul.c).
 */
#include "generic/conv.h"
#include "generic/epilogue_apply.h"

#define CONV_PX_MAX 24
#define CONV_NV_MAX 4

/* What guarded pixels read outside the input (conv.h, KCONV_ZEROS). */
static const float conv_zeros[KCONV_ZEROS];

/* Initial accumulators: the bias (or zero) of channels [0, cols). */
K_INLINE kf16 conv_bias16(const k_conv_desc *d, const float *bias, int64_t v,
                          int64_t cols) {
  if (!bias) return (kf16){0};
  return d->bias_padded ? kf16_load(bias + 16 * v)
                        : kf16_load_part(bias + 16 * v, 1, cols - 16 * v);
}

/* Weights of output channels [16v, 16v + 16) for one tap and input
 * channel, |wp| pointing at channel 0 of the block. */
K_INLINE kf16 conv_w16(const k_conv_desc *d, const float *wp, int64_t v,
                       int64_t cols) {
  if (d->w_packed) return kf16_load(wp + 16 * v);
  return kf16_load_part(wp + 16 * v * d->ws_o, d->ws_o, cols - 16 * v);
}

/* ConvTranspose: one output pixel (o0, o1, o2). */
K_INLINE void convt_pixel_f32(const k_conv_desc *d, const float *x,
                              const float *w, const float *bias, float *y,
                              const int64_t *o, int64_t nv, int64_t cols,
                              int64_t ci0, int64_t ci1, int first) {
#if defined(__clang__)
#pragma clang fp contract(fast)
#endif
  kf16 acc[CONV_NV_MAX];
  float *yp = y + o[2] * d->ys[2];
  for (int64_t v = 0; v < nv; v++)
    acc[v] =
        first ? conv_bias16(d, bias, v, cols)
              : kf16_load_part(yp + 16 * v * d->ys_c, d->ys_c, cols - 16 * v);
  for (int64_t t0 = 0; t0 < d->k[0]; t0++) {
    int64_t n0 = o[0] + d->pb[0] - t0 * d->d[0];
    if (n0 < 0 || n0 % d->s[0] || n0 / d->s[0] >= d->in[0]) continue;
    for (int64_t t1 = 0; t1 < d->k[1]; t1++) {
      int64_t n1 = o[1] + d->pb[1] - t1 * d->d[1];
      if (n1 < 0 || n1 % d->s[1] || n1 / d->s[1] >= d->in[1]) continue;
      for (int64_t t2 = 0; t2 < d->k[2]; t2++) {
        int64_t n2 = o[2] + d->pb[2] - t2 * d->d[2];
        if (n2 < 0 || n2 % d->s[2] || n2 / d->s[2] >= d->in[2]) continue;
        const float *xp = x + n0 / d->s[0] * d->xs[0] +
                          n1 / d->s[1] * d->xs[1] + n2 / d->s[2] * d->xs[2];
        const float *wp = w + t0 * d->ws[0] + t1 * d->ws[1] + t2 * d->ws[2];
        for (int64_t ci = ci0; ci < ci1; ci++) {
          float xv = xp[ci * d->xs_c];
          for (int64_t v = 0; v < nv; v++)
            acc[v] += conv_w16(d, wp + ci * d->ws_i, v, cols) * xv;
        }
      }
    }
  }
  for (int64_t v = 0; v < nv; v++)
    kf16_store_part(yp + 16 * v * d->ys_c, d->ys_c, cols - 16 * v, acc[v]);
}

/* The register block of k_conv_f32 (kconv_tile_fn, conv.h). */
K_INLINE void conv_tile_f32(const k_conv_desc *d, const float *x,
                            const float *w, const float *bias, float *y,
                            int64_t i0b, int64_t i1b, int64_t o2, int64_t npx,
                            const int64_t *lo, const int64_t *hi, int guard,
                            int64_t nv, int64_t cols, int64_t ci0, int64_t ci1,
                            int first) {
#if defined(__clang__)
#pragma clang fp contract(fast)
#endif
  if (d->transposed) {
    int64_t o[3] = {i0b, i1b, o2};
    convt_pixel_f32(d, x, w, bias, y, o, nv, cols, ci0, ci1, first);
    return;
  }
  kf16 acc[CONV_PX_MAX][CONV_NV_MAX];
  for (int64_t v = 0; v < nv; v++) {
    kf16 b = conv_bias16(d, bias, v, cols);
    for (int64_t p = 0; p < npx; p++)
      acc[p][v] =
          first ? b
                : kf16_load_part(y + (o2 + p) * d->ys[2] + 16 * v * d->ys_c,
                                 d->ys_c, cols - 16 * v);
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
          kf16 wv[CONV_NV_MAX];
          for (int64_t v = 0; v < nv; v++)
            wv[v] = conv_w16(d, wp + ci * d->ws_i, v, cols);
          for (int64_t p = 0; p < npx; p++) {
            float xv = xp[p][ci * d->xs_c];
            for (int64_t v = 0; v < nv; v++) acc[p][v] += wv[v] * xv;
          }
        }
      }
    }
  for (int64_t p = 0; p < npx; p++)
    for (int64_t v = 0; v < nv; v++)
      kf16_store_part(y + (o2 + p) * d->ys[2] + 16 * v * d->ys_c, d->ys_c,
                      cols - 16 * v, acc[p][v]);
}

KSIG(k_conv_f32) {
  const k_conv_desc *d = desc_;
  kconv_drive(d, conv_tile_f32, kptr(d->x, arena, weights),
              kptr(d->w, arena, weights),
              d->has_bias ? kptr(d->bias, arena, weights) : NULL,
              kptr(d->y, arena, weights), task_begin, task_end);
  kconv_epilogue(d, &d->epi, kptr(d->y, arena, weights), task_begin,
                 task_end);
}

/*===------------------------------------------------------------------===*/
/* Depthwise                                                               */
/*===------------------------------------------------------------------===*/

/* The register block of k_conv_dw_f32 (kconv_tile_fn): the vectors run
 * over channels [c0, c0 + cols) of X itself; x, w, y start at channel c0. */
K_INLINE void conv_dw_tile_f32(const k_conv_desc *d, const float *x,
                               const float *w, const float *bias, float *y,
                               int64_t i0b, int64_t i1b, int64_t o2,
                               int64_t npx, const int64_t *lo,
                               const int64_t *hi, int guard, int64_t nv,
                               int64_t cols, int64_t ci0, int64_t ci1,
                               int first) {
#if defined(__clang__)
#pragma clang fp contract(fast)
#endif
  kf16 acc[CONV_PX_MAX][CONV_NV_MAX];
  (void)ci0, (void)ci1; /* one input channel per group */
  for (int64_t v = 0; v < nv; v++) {
    kf16 b = bias ? kf16_load(bias + 16 * v) : (kf16){0};
    for (int64_t p = 0; p < npx; p++)
      acc[p][v] = first ? b
                        : kf16_load_part(y + (o2 + p) * d->ys[2] + 16 * v, 1,
                                         cols - 16 * v);
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
          kf16 wv = kf16_load(wp + 16 * v);
          for (int64_t p = 0; p < npx; p++)
            acc[p][v] += kf16_load_part(xp[p] + 16 * v, 1, cols - 16 * v) * wv;
        }
      }
    }
  for (int64_t p = 0; p < npx; p++)
    for (int64_t v = 0; v < nv; v++)
      kf16_store_part(y + (o2 + p) * d->ys[2] + 16 * v, 1, cols - 16 * v,
                      acc[p][v]);
}

KSIG(k_conv_dw_f32) {
  const k_conv_desc *d = desc_;
  kconv_drive(d, conv_dw_tile_f32, kptr(d->x, arena, weights),
              kptr(d->w, arena, weights),
              d->has_bias ? kptr(d->bias, arena, weights) : NULL,
              kptr(d->y, arena, weights), task_begin, task_end);
  kconv_epilogue(d, &d->epi, kptr(d->y, arena, weights), task_begin,
                 task_end);
}

/*===------------------------------------------------------------------===*/
/* ConvInteger, QLinearConv                                                */
/*===------------------------------------------------------------------===*/

KSIG(k_conv_q8) {
  const k_conv_desc *d = desc_;
  const uint8_t *x = kptr(d->x, arena, weights);
  const uint8_t *w = kptr(d->w, arena, weights);
  const int32_t *bias = d->has_bias ? kptr(d->bias, arena, weights) : NULL;
  uint8_t *y = kptr(d->y, arena, weights);
  const int64_t bpg = (d->cout_g + 15) / 16;
  int32_t zx = k_qparam_int(&d->x_zp, arena, weights, 0, 0);
  for (int64_t t = task_begin; t < task_end; t++) {
    kconv_work wk = kconv_work_of(d, t);
    for (int64_t r = wk.r0; r < wk.r1; r++) {
      int64_t n = r / (d->out[0] * d->out[1]);
      int64_t o0 = r / d->out[1] % d->out[0], o1 = r % d->out[1];
      int64_t ib[3] = {o0 * d->s[0] - d->pb[0], o1 * d->s[1] - d->pb[1], 0};
      int64_t lo[3], hi[3];
      kconv_taps(d->k[0], d->in[0], d->d[0], ib[0], &lo[0], &hi[0]);
      kconv_taps(d->k[1], d->in[1], d->d[1], ib[1], &lo[1], &hi[1]);
      for (int64_t o2 = 0; o2 < d->out[2]; o2++) {
        ib[2] = o2 * d->s[2] - d->pb[2];
        kconv_taps(d->k[2], d->in[2], d->d[2], ib[2], &lo[2], &hi[2]);
        for (int64_t cb = wk.cb0; cb < wk.cb1; cb++) {
          int64_t g = cb / bpg, co0 = cb % bpg * 16;
          int64_t co1 = co0 + 16 < d->cout_g ? co0 + 16 : d->cout_g;
          for (int64_t co = co0; co < co1; co++) {
            int64_t m = g * d->cout_g + co;
            int32_t zw = k_qparam_int(&d->w_zp, arena, weights, m, 0);
            uint32_t acc = bias ? (uint32_t)bias[m] : 0;
            for (int64_t t0 = lo[0]; t0 < hi[0]; t0++)
              for (int64_t t1 = lo[1]; t1 < hi[1]; t1++)
                for (int64_t t2 = lo[2]; t2 < hi[2]; t2++) {
                  int64_t xo = n * d->xs_n + g * d->cin_g * d->xs_c +
                               (ib[0] + t0 * d->d[0]) * d->xs[0] +
                               (ib[1] + t1 * d->d[1]) * d->xs[1] +
                               (ib[2] + t2 * d->d[2]) * d->xs[2];
                  int64_t wo = g * d->ws_g + co * d->ws_o + t0 * d->ws[0] +
                               t1 * d->ws[1] + t2 * d->ws[2];
                  for (int64_t ci = 0; ci < d->cin_g; ci++) {
                    int32_t xv = k_load_int(x, d->xtype, xo + ci * d->xs_c);
                    int32_t wv = k_load_int(w, d->wtype, wo + ci * d->ws_i);
                    acc += (uint32_t)((xv - zx) * (wv - zw));
                  }
                }
            int64_t yo = n * d->ys_n + o0 * d->ys[0] + o1 * d->ys[1] +
                         o2 * d->ys[2] + m * d->ys_c;
            if (d->kind == KCONV_INTEGER) {
              ((int32_t *)(void *)y)[yo] = (int32_t)acc;
              continue;
            }
            float mult = k_qparam_float(&d->x_scale, arena, weights, 0, 0) *
                         k_qparam_float(&d->w_scale, arena, weights, m, 0);
            mult = mult / k_qparam_float(&d->y_scale, arena, weights, 0, 0);
            float v = (float)(int32_t)acc * mult;
            int32_t q =
                k_saturate_rne(v, k_qparam_int(&d->y_zp, arena, weights, 0, 0),
                               d->qmin, d->qmax);
            if (d->ytype == 2)
              y[yo] = (uint8_t)q;
            else
              ((int8_t *)y)[yo] = (int8_t)q;
          }
        }
      }
    }
  }
}
