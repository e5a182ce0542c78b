/* resize.c — Resize/Upsample templates: k_rs_nearest (a table-driven
 * gather, exact for every dtype) and k_rs_interp (linear and cubic).
 *
 * Every coordinate decision (coordinate transformation, nearest rounding,
 * cubic coefficients, exclude_outside, crop boxes, edge clamping) was made
 * at build time and is in the tap tables (resize.h); what is left is a
 * walk over output rows.  Per row, the kept dims give a base offset and
 * each resized level above the last view dim its tap list; the loop over
 * the last view dim then only fetches that dim's taps.
 *
 * The interpolating template evaluates the taps as nested sums: level L's
 * value is the weighted sum, in tap order starting from 0, of level
 * L + 1's values, the innermost level reading the input — exactly the
 * sums the reference's separable passes perform, in the same order, so
 * the result is the reference's to the last bit (for finite inputs: see
 * krs_leaf).  A position outside the
 * crop box has the extrapolation value at its level, as in the reference.
 * The nesting is written once (krs_up) and instantiated per depth.  With
 * |inner| > 1 (kept trailing dims, e.g. channels last) each tap reads a
 * contiguous run of up to KRS_BLOCK outputs, which vectorises.
 */
#include <string.h>

#include "generic/resize.h"
#include "kmath.h"

/* Tap lists of the resized levels for the output being computed. */
typedef struct krs_taps {
  const int64_t *off[KMAX_RANK];
  const double *w[KMAX_RANK];
  int32_t n[KMAX_RANK];
} krs_taps;

/* Points level L's taps at entry |o| of its tables. */
static inline void krs_entry(const krs *d, const uint8_t *tab, int L,
                             int64_t o, krs_taps *tp) {
  int64_t e = o * d->taps[L];
  tp->off[L] = (const int64_t *)(tab + d->off_tab[L]) + e;
  tp->w[L] = (const double *)(tab + d->w_tab[L]) + e;
  if (d->crop) memcpy(&tp->n[L], tab + d->n_tab[L] + 4 * o, 4);
}

/* Row |row|: base offset of the kept dims before the last view dim, and
 * the taps of the resized ones. */
static inline int64_t krs_row(const krs *d, const uint8_t *tab, int64_t row,
                              krs_taps *tp) {
  int64_t base = 0;
  for (int k = d->rank - 2; k >= 0; k--) {
    int64_t i = row % d->out_dims[k];
    row /= d->out_dims[k];
    if (d->level[k] < 0)
      base += i * d->src_str[k];
    else
      krs_entry(d, tab, d->level[k], i, tp);
  }
  return base;
}

KSIG(k_rs_nearest) {
  const krs *d = desc_;
  const uint8_t *src = kptr(d->src, arena, weights);
  const uint8_t *tab = kptr(d->tab, arena, weights);
  uint8_t *dst = kptr(d->dst, arena, weights);
  const int64_t es = d->esize, run = d->inner * es;
  const int last = d->rank - 1, lastL = d->level[last];
  const int64_t n = d->out_dims[last];
  const int64_t *loff =
      lastL < 0 ? NULL : (const int64_t *)(tab + d->off_tab[lastL]);
  const int32_t *ln =
      lastL < 0 ? NULL : (const int32_t *)(tab + d->n_tab[lastL]);
  int64_t r0 = kchunk(d->rows, d->tasks, task_begin);
  int64_t r1 = kchunk(d->rows, d->tasks, task_end);
  for (int64_t row = r0; row < r1; row++) {
    krs_taps tp;
    int64_t off = krs_row(d, tab, row, &tp);
    int inside = 1;
    for (int L = 0; L < d->nres; L++) {
      if (L == lastL) continue;
      inside &= !d->crop || tp.n[L] != 0;
      off += tp.off[L][0];
    }
    uint8_t *o = dst + row * n * run;
    for (int64_t j = 0; j < n; j++) {
      int64_t at = lastL < 0 ? off + j * d->src_str[last] : off + loff[j];
      int in = inside && (!d->crop || lastL < 0 || ln[j] != 0);
      if (in) {
        memcpy(o + j * run, src + at * es, (size_t)run);
      } else {
        for (int64_t i = 0; i < d->inner; i++)
          memcpy(o + j * run + i * es, d->extrap_bytes, (size_t)es);
      }
    }
  }
}

/* The innermost level L: out[i] = sum over its taps j of w_j x[at + off_j
 * + i], i < w.  The loop runs over all taps[L] table slots (a constant,
 * so it unrolls and the loop around it can vectorise); unused slots have
 * weight 0 and add 0 * x, which leaves a sum of finite values unchanged
 * (the reference skips them, so an infinite or NaN input in an unused
 * slot is the one case where the results differ). */
static inline void krs_leaf(const krs *d, const uint8_t *src,
                            const krs_taps *tp, int L, int64_t at, int64_t w,
                            double *out) {
  if (d->crop && tp->n[L] == 0) {
    for (int64_t i = 0; i < w; i++) out[i] = d->extrapolation;
    return;
  }
  for (int64_t i = 0; i < w; i++) out[i] = 0.0;
  for (int32_t j = 0; j < d->taps[L]; j++) {
    double wj = tp->w[L][j];
    int64_t o = at + tp->off[L][j];
    for (int64_t i = 0; i < w; i++)
      out[i] += wj * kld_f64(d->dtype, src, o + i);
  }
}

typedef void (*krs_level_fn)(const krs *d, const uint8_t *src,
                             const krs_taps *tp, int L, int64_t at,
                             int64_t w, double *out);

/* Level L above |below|: out[i] = sum over taps j of w_j below(at + off_j)
 * (the function pointer is a constant at every call, so it inlines). */
static inline void krs_up(const krs *d, const uint8_t *src,
                          const krs_taps *tp, int L, int64_t at, int64_t w,
                          double *out, krs_level_fn below) {
  if (d->crop && tp->n[L] == 0) {
    for (int64_t i = 0; i < w; i++) out[i] = d->extrapolation;
    return;
  }
  double t[KRS_BLOCK];
  for (int64_t i = 0; i < w; i++) out[i] = 0.0;
  for (int32_t j = 0; j < d->taps[L]; j++) { /* as in krs_leaf */
    double wj = tp->w[L][j];
    below(d, src, tp, L + 1, at + tp->off[L][j], w, t);
    for (int64_t i = 0; i < w; i++) out[i] += wj * t[i];
  }
}

static inline void krs_up2(const krs *d, const uint8_t *src,
                           const krs_taps *tp, int L, int64_t at, int64_t w,
                           double *out) {
  krs_up(d, src, tp, L, at, w, out, krs_leaf);
}
static inline void krs_up3(const krs *d, const uint8_t *src,
                           const krs_taps *tp, int L, int64_t at, int64_t w,
                           double *out) {
  krs_up(d, src, tp, L, at, w, out, krs_up2);
}
static inline void krs_up4(const krs *d, const uint8_t *src,
                           const krs_taps *tp, int L, int64_t at, int64_t w,
                           double *out) {
  krs_up(d, src, tp, L, at, w, out, krs_up3);
}

KSIG(k_rs_interp) {
  const krs *d = desc_;
  const uint8_t *src = kptr(d->src, arena, weights);
  const uint8_t *tab = kptr(d->tab, arena, weights);
  uint8_t *dst = kptr(d->dst, arena, weights);
  const int last = d->rank - 1, lastL = d->level[last];
  const int64_t n = d->out_dims[last];
  int64_t r0 = kchunk(d->rows, d->tasks, task_begin);
  int64_t r1 = kchunk(d->rows, d->tasks, task_end);
  for (int64_t row = r0; row < r1; row++) {
    krs_taps tp;
    int64_t base = krs_row(d, tab, row, &tp);
    for (int64_t j = 0; j < n; j++) {
      int64_t at = base;
      if (lastL < 0)
        at += j * d->src_str[last];
      else
        krs_entry(d, tab, lastL, j, &tp);
      int64_t o = (row * n + j) * d->inner;
      for (int64_t i0 = 0; i0 < d->inner; i0 += KRS_BLOCK) {
        int64_t w = d->inner - i0 < KRS_BLOCK ? d->inner - i0 : KRS_BLOCK;
        double res[KRS_BLOCK];
        switch (d->nres) {
        case 1: krs_leaf(d, src, &tp, 0, at + i0, w, res); break;
        case 2: krs_up2(d, src, &tp, 0, at + i0, w, res); break;
        case 3: krs_up3(d, src, &tp, 0, at + i0, w, res); break;
        default: krs_up4(d, src, &tp, 0, at + i0, w, res); break;
        }
        for (int64_t i = 0; i < w; i++)
          kst_f64(d->dtype, dst, o + i0 + i, res[i]);
      }
    }
  }
}
