/* conv_bf16.c (AVX512-BF16) — the im2col step of a bf16 convolution
 * (descriptor and row layout: bf16.h; lowering: codegen/lower_bf16.c).
 *
 * A 2-D Conv in bf16 is a product per group: rows = output pixels, K =
 * taps x input channels of the group, columns = the group's output
 * channels.  k_bf16_im2col writes the rows as bf16 pairs (rounded to
 * nearest even in software, bf16_round.h) into scratch, once per run; the
 * product is then k_mm_bf16_amx or k_mm_bf16_avx512 on weights rounded
 * and packed at build time, with the float32 epilogue (bias, fused ops).
 * K runs tap-major so that each tap's channels are one contiguous NHWC
 * run of X: sixteen at a time, masked at the tail; taps that fall in the
 * padding are zeros.
 */
#include <immintrin.h>

#include "generic/matmul.h"
#include "x86_avx512/bf16.h"
#include "x86_avx512/bf16_round.h"

KSIG(k_bf16_im2col) {
  const k_bf16_im2col_desc *d = desc_;
  const float *x = kptr(d->x, arena, weights);
  uint16_t *out = kptr(d->out, arena, weights);
  const int64_t cg = d->cin_g, w = 2 * d->k2;
  const int64_t K = d->k[0] * d->k[1] * cg;
  const int64_t oh = d->out_hw[0], ow = d->out_hw[1];
  for (int64_t t = task_begin; t < task_end; t++) {
    int64_t r0 = kchunk(d->rows, d->tasks, t),
            r1 = kchunk(d->rows, d->tasks, t + 1);
    for (int64_t r = r0; r < r1; r++) {
      int64_t b = r / (oh * ow), i = r / ow % oh, j = r % ow;
      const float *xb = x + b * d->xs_n;
      for (int64_t g = 0; g < d->group; g++) {
        uint16_t *o = out + 2 * g * d->g_pairs + r * w;
        for (int64_t kh = 0; kh < d->k[0]; kh++) {
          int64_t ih = i * d->s[0] + kh * d->d[0] - d->pb[0];
          for (int64_t kw = 0; kw < d->k[1]; kw++) {
            int64_t iw = j * d->s[1] + kw * d->d[1] - d->pb[1];
            uint16_t *ot = o + (kh * d->k[1] + kw) * cg;
            if (ih < 0 || ih >= d->in[0] || iw < 0 || iw >= d->in[1]) {
              memset(ot, 0, (size_t)cg * 2);
              continue;
            }
            const float *xp = xb + ih * d->xs_h + iw * d->xs_w + g * cg;
            for (int64_t c = 0; c < cg; c += 16)
              bf_round_store(ot + c, xp + c, cg - c);
          }
        }
        for (int64_t p = K; p < w; p++) o[p] = 0; /* past K: zero pairs */
      }
    }
    if (t == d->tasks - 1) /* AMX padding rows: the last task zeroes them */
      for (int64_t g = 0; g < d->group; g++)
        for (int64_t r = d->rows; r < d->rows_pad; r++)
          memset(out + 2 * g * d->g_pairs + r * w, 0, (size_t)w * 2);
  }
}
