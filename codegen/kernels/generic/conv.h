/* conv.h — descriptor of the convolution templates (conv.c and the x86
 * variants): Conv, ConvTranspose, ConvInteger, QLinearConv.  1x1
 * convolutions with stride 1 and no padding are lowered to the product
 * templates (matmul.h) instead.
 *
 * Geometry is the reference's (ir/ref/conv.c): the spatial part is
 * normalised to three dims, missing leading ones having size 1, so 1-D,
 * 2-D and 3-D convolutions share the loops.  Every operand is addressed by
 * element strides, so NHWC (rank 4 in the engine) and NCW/NCDHW (ranks 3
 * and 5, the model's layout) need no separate code:
 *   X(n, c, i0, i1, i2) = x[n*xs_n + c*xs_c + i0*xs[0] + i1*xs[1] + i2*xs[2]]
 *   Y likewise with ys_*,
 *   W(g, co, ci, t0, t1, t2) = w[g*ws_g + co*ws_o + ci*ws_i + t·ws]
 *     (co < cout_g, ci < cin_g: channels within group g),
 *   bias(g, co) = bias[g*bs_g + co].
 * Constant float32 weights are prepacked by the lowering as
 * [g][block][ci][t0][t1][t2][cw], blocks of cw = 16*nv output channels
 * (zero-padded; w_packed = 1): the output channels of one tap and input
 * channel are whole vectors, and a chunk of input channels of one block is
 * one contiguous run (it stays in L1 while the rows use it); block b of
 * group g starts at g*ws_g + b*ws_blk.  The bias is [g][blocks * cw].
 * Depthwise convolutions (cin_g = cout_g = 1, NHWC) pack W as
 * [t0][t1][t2][Cp] instead (ws_g = 1, ws_o = 0, ws_i = 0), and take the
 * channel vector from X.
 *
 * Work: rows (n, o0, o1) of the output, each row out[2] pixels, and
 * channel blocks of nv*16 output channels within a group (cblocks =
 * group * ceil(cout_g / (16*nv)) in all; ceil(C / (16*nv)) for depthwise).
 * A task takes its channel blocks one at a time and, for each, passes
 * over its rows once per chunk of ci_chunk input channels (the chunk's
 * weights stay in L1), adding each chunk onto what the previous left in Y.
 * There are rsplit * csplit tasks: task t covers row chunk t / csplit and
 * channel-block chunk t % csplit (kchunk of rows and of cblocks).  A row's
 * pixels whose taps are all inside the input (interior [olo, ohi), the same for
 * every row) run in register blocks of px pixels x nv vectors; border pixels
 * either join blocks that substitute zeros for the taps outside the input
 * (guard, NHWC) or run one at a time with clipped tap ranges.
 */
#ifndef INGOT_K_CONV_H
#define INGOT_K_CONV_H

#include "generic/matmul.h"

enum k_conv_kind {
  KCONV_F32 = 0,     /* float32 Conv / ConvTranspose */
  KCONV_INTEGER = 1, /* ConvInteger: int32 Σ (x - zx)(w - zw[c]) */
  KCONV_QLINEAR = 2, /* QLinearConv: requantised per DESIGN.md §5 */
};

typedef struct k_conv_desc {
  int32_t kind;       /* k_conv_kind */
  int32_t transposed; /* ConvTranspose: i = (o + pb - t*d) / s */
  int32_t xtype, wtype, ytype;
  int32_t has_bias;
  int32_t w_packed; /* see above: vectors of output channels load whole */
  int32_t depthwise;
  int32_t bias_padded; /* bias holds whole vectors (constant, zero-padded) */
  int32_t guard;       /* rows run in whole blocks, borders guarded */
  kbuf x, w, bias, y;
  int64_t batch, group, cin_g, cout_g;
  int64_t in[3], out[3], k[3], s[3], d[3], pb[3];
  int64_t xs_n, xs_c, xs[3];
  int64_t ys_n, ys_c, ys[3];
  int64_t ws_g, ws_o, ws_i, ws[3];
  int64_t ws_blk; /* packed: stride between blocks of 16*nv channels */
  int64_t bs_g;

  /* Work split and register blocking (see above). */
  int64_t rows, cblocks, rsplit, csplit; /* tasks = rsplit * csplit */
  int64_t olo, ohi;                      /* interior pixels of every row */
  int64_t ci_chunk; /* input channels per pass over the rows (<= cin_g) */
  int64_t px, nv;   /* register block: px pixels x nv 16-channel vectors */

  /* Quantised (KCONV_INTEGER, KCONV_QLINEAR): x_zp and the output's are
   * per tensor; w_zp and w_scale per tensor (rs 0) or per output channel
   * (rs 1, indexed by g*cout_g + co). */
  k_qparam x_zp, w_zp, x_scale, w_scale, y_scale, y_zp;
  int32_t qmin, qmax;

  /* Fused elementwise ops applied to Y after the sums (float32). */
  kepi epi;
} k_conv_desc;

/*===------------------------------------------------------------------===*/
/* Index helpers shared by the conv templates of every ISA                 */
/*===------------------------------------------------------------------===*/

/* Taps t in [0, k) with base + t*dil in [0, n): [*lo, *hi). */
K_INLINE void kconv_taps(int64_t k, int64_t n, int64_t dil, int64_t base,
                         int64_t *lo, int64_t *hi) {
  int64_t a = 0, b = k;
  if (base < 0) a = (-base + dil - 1) / dil;
  if (base + (k - 1) * dil > n - 1)
    b = n - 1 - base < 0 ? 0 : (n - 1 - base) / dil + 1;
  if (b < a) b = a;
  *lo = a;
  *hi = b;
}

/* A task's rows and channel blocks. */
typedef struct kconv_work {
  int64_t r0, r1, cb0, cb1;
} kconv_work;

K_INLINE kconv_work kconv_work_of(const k_conv_desc *d, int64_t t) {
  int64_t rt = t / d->csplit, ct = t % d->csplit;
  kconv_work w = {
      kchunk(d->rows, d->rsplit, rt), kchunk(d->rows, d->rsplit, rt + 1),
      kchunk(d->cblocks, d->csplit, ct), kchunk(d->cblocks, d->csplit, ct + 1)};
  return w;
}

/* Zero-filled input the guarded tiles read for taps outside the input:
 * enough for every input channel of a group (guard needs cin_g and, for
 * depthwise, 16*nv at most KCONV_ZEROS). */
#define KCONV_ZEROS 1024

/* Where each of a tile's npx pixels reads its input for one tap: |xr| is
 * the input row of taps t0, t1 and i2 the tap's position for pixel 0;
 * guarded pixels outside the row read |zeros| instead. */
K_INLINE void kconv_pixels(const k_conv_desc *d, const float *xr, int64_t i2,
                           int64_t npx, int guard, const float *zeros,
                           const float **xp) {
  for (int64_t p = 0; p < npx; p++) {
    int64_t i = i2 + p * d->s[2];
    xp[p] = guard && (i < 0 || i >= d->in[2]) ? zeros : xr + i * d->xs[2];
  }
}

/* A register block of a float template: npx pixels of one output row
 * from position o2 for output channels [0, cols) of the block (nv
 * vectors), summing input channels [ci0, ci1) of the group onto the bias
 * (|first|) or onto what Y already holds.  Taps: t0, t1 over lo/hi[0..1];
 * t2 over lo/hi[2], or, when |guard|, over the whole kernel with a zero
 * input for the pixels whose tap falls outside (NHWC only).  x points at
 * (n, first input channel of the block's group), w and bias at the
 * block's first output channel, y at (n, o0, o1, o2 = 0, the block's first
 * channel).  For ConvTranspose, i0b and i1b carry o0 and o1 instead (the
 * tile works out its taps). */
typedef void (*kconv_tile_fn)(const k_conv_desc *d, const float *x,
                              const float *w, const float *bias, float *y,
                              int64_t i0b, int64_t i1b, int64_t o2, int64_t npx,
                              const int64_t *lo, const int64_t *hi, int guard,
                              int64_t nv, int64_t cols, int64_t ci0,
                              int64_t ci1, int first);

/* One output row of one channel block, input channels [ci0, ci1).  With
 * d->guard the row runs in blocks of px, those touching a border guarded;
 * otherwise border pixels run one at a time with clipped taps and the
 * interior in blocks of px.  A last partial block has the constant size
 * (row length mod px), so every block size is a constant once specialised
 * and no pixel is computed twice (chunks accumulate into Y). */
K_INLINE void kconv_row(const k_conv_desc *d, kconv_tile_fn tile,
                        const float *x, const float *w, const float *bias,
                        float *y, int64_t i0b, int64_t i1b, int64_t *lo,
                        int64_t *hi, int64_t nvj, int64_t cols, int64_t ci0,
                        int64_t ci1, int first) {
  const int64_t nv = d->nv, px = d->px, out2 = d->out[2];
  if (d->transposed) {
    for (int64_t o2 = 0; o2 < out2; o2++)
      tile(d, x, w, bias, y, i0b, i1b, o2, 1, lo, hi, 0, nvj, cols, ci0, ci1,
           first);
    return;
  }
  if (d->guard) {
    lo[2] = 0;
    hi[2] = d->k[2];
    int64_t o2 = 0;
    for (; o2 + px <= out2; o2 += px) {
      if (nvj != nv)
        tile(d, x, w, bias, y, i0b, i1b, o2, px, lo, hi, 1, nvj, cols, ci0, ci1,
             first);
      else if (o2 < d->olo || o2 + px > d->ohi)
        tile(d, x, w, bias, y, i0b, i1b, o2, px, lo, hi, 1, nv, cols, ci0, ci1,
             first);
      else
        tile(d, x, w, bias, y, i0b, i1b, o2, px, lo, hi, 0, nv, cols, ci0, ci1,
             first);
    }
    if (out2 % px)
      tile(d, x, w, bias, y, i0b, i1b, o2, out2 % px, lo, hi, 1, nvj, cols, ci0,
           ci1, first);
    return;
  }
  for (int64_t o2 = 0; o2 < out2; o2++) { /* border pixels */
    if (o2 == d->olo && d->ohi > d->olo) o2 = d->ohi;
    if (o2 >= out2) break;
    kconv_taps(d->k[2], d->in[2], d->d[2], o2 * d->s[2] - d->pb[2], &lo[2],
               &hi[2]);
    tile(d, x, w, bias, y, i0b, i1b, o2, 1, lo, hi, 0, nvj, cols, ci0, ci1,
         first);
  }
  lo[2] = 0;
  hi[2] = d->k[2];
  int64_t o2 = d->olo, n = d->ohi > d->olo ? d->ohi - d->olo : 0;
  for (; o2 + px <= d->olo + n; o2 += px)
    tile(d, x, w, bias, y, i0b, i1b, o2, px, lo, hi, 0, nvj, cols, ci0, ci1,
         first);
  if (n % px)
    tile(d, x, w, bias, y, i0b, i1b, o2, n % px, lo, hi, 0, nvj, cols, ci0, ci1,
         first);
}

/* The loops every float conv template shares: a task's channel blocks,
 * chunks of ci_chunk input channels (whose weights stay in L1 while every
 * row of the task uses them; at least one pass, so an empty input still
 * writes the bias), rows.  |tile| is a constant at every call,
 * so it inlines. */
K_INLINE void kconv_drive(const k_conv_desc *d, kconv_tile_fn tile,
                          const float *x, const float *w, const float *bias,
                          float *y, int64_t task_begin, int64_t task_end) {
  const int64_t cw = 16 * d->nv;
  const int64_t width = d->depthwise ? d->group : d->cout_g;
  const int64_t bpg = (width + cw - 1) / cw; /* blocks per group */
  const int64_t cin = d->depthwise ? 1 : d->cin_g;
  for (int64_t t = task_begin; t < task_end; t++) {
    kconv_work wk = kconv_work_of(d, t);
    for (int64_t cb = wk.cb0; cb < wk.cb1; cb++) {
      int64_t g = cb / bpg, c0 = cb % bpg * cw;
      int64_t cols = width - c0 < cw ? width - c0 : cw;
      int64_t nvj = (cols + 15) / 16;
      const float *xb, *wb, *bb;
      float *yb;
      if (d->depthwise) {
        xb = x + c0 * d->xs_c;
        wb = w + c0;
        bb = bias ? bias + c0 : NULL;
        yb = y + c0 * d->ys_c;
      } else {
        xb = x + g * d->cin_g * d->xs_c;
        wb = w + g * d->ws_g +
             (d->w_packed ? c0 / cw * d->ws_blk : c0 * d->ws_o);
        bb = bias ? bias + g * d->bs_g + c0 : NULL;
        yb = y + (g * d->cout_g + c0) * d->ys_c;
      }
      for (int64_t ci0 = 0; ci0 == 0 || ci0 < cin; ci0 += d->ci_chunk) {
        int64_t ci1 = ci0 + d->ci_chunk < cin ? ci0 + d->ci_chunk : cin;
        for (int64_t r = wk.r0; r < wk.r1; r++) {
          int64_t n = r / (d->out[0] * d->out[1]);
          int64_t o0 = r / d->out[1] % d->out[0], o1 = r % d->out[1];
          int64_t i0b = o0 * d->s[0] - d->pb[0], i1b = o1 * d->s[1] - d->pb[1];
          int64_t lo[3], hi[3];
          kconv_taps(d->k[0], d->in[0], d->d[0], i0b, &lo[0], &hi[0]);
          kconv_taps(d->k[1], d->in[1], d->d[1], i1b, &lo[1], &hi[1]);
          if (d->transposed) i0b = o0, i1b = o1;
          const float *xr = xb + n * d->xs_n;
          float *yr = yb + n * d->ys_n + o0 * d->ys[0] + o1 * d->ys[1];
          if (ci0 == 0)
            kconv_row(d, tile, xr, wb, bb, yr, i0b, i1b, lo, hi, nvj, cols, ci0,
                      ci1, 1);
          else
            kconv_row(d, tile, xr, wb, bb, yr, i0b, i1b, lo, hi, nvj, cols, ci0,
                      ci1, 0);
        }
      }
    }
  }
}

#endif /* INGOT_K_CONV_H */
