/* movement.c — data-movement templates: k_mv_copy (strided box copy),
 * k_mv_pad, k_mv_gather and k_mv_fill.
 *
 * Nothing here does arithmetic on element values: elements are |esize|
 * bytes moved with memcpy of that size, which the specialiser turns into
 * one load and one store (the descriptor is a constant), so every dtype
 * shares the code.  The lowering (codegen/lower_movement.c) has already
 * merged contiguous dimensions, ordered them so writes are sequential and
 * decided how the work splits into tasks; the templates only walk.
 */
#include <string.h>

#include "generic/movement.h"

/* Offsets of unit |u| of an odometer over dims[0..n) with per-dim strides
 * (outermost first): fills idx[] and adds to *so / *dst_off. */
static inline void mv_unit_offsets(int64_t u, int n, const int64_t *dims,
                                   const int64_t *s_str, const int64_t *d_str,
                                   int64_t *idx, int64_t *so, int64_t *doff) {
  for (int k = n - 1; k >= 0; k--) {
    int64_t q = u / dims[k];
    idx[k] = u - q * dims[k];
    *so += idx[k] * s_str[k];
    *doff += idx[k] * d_str[k];
    u = q;
  }
}

/* Advances the odometer by one unit. */
static inline void mv_unit_next(int n, const int64_t *dims,
                                const int64_t *s_str, const int64_t *d_str,
                                int64_t *idx, int64_t *so, int64_t *doff) {
  for (int k = n - 1; k >= 0; k--) {
    *so += s_str[k];
    *doff += d_str[k];
    if (++idx[k] < dims[k]) return;
    *so -= s_str[k] * dims[k];
    *doff -= d_str[k] * dims[k];
    idx[k] = 0;
  }
}

/* dst[i * ds] = src[i * ss] for i in [0, n). */
static inline void mv_row(uint8_t *dst, const uint8_t *src, int64_t n,
                          int64_t ss, int64_t ds, int64_t es) {
  if (ss == 1 && ds == 1) {
    memcpy(dst, src, (size_t)(n * es));
    return;
  }
  for (int64_t i = 0; i < n; i++)
    memcpy(dst + i * ds * es, src + i * ss * es, (size_t)es);
}

KSIG(k_mv_copy) {
  const kmv_copy *d = desc_;
  const uint8_t *src = kptr(d->src, arena, weights);
  uint8_t *dst = kptr(d->dst, arena, weights);
  const int64_t es = d->esize;
  int64_t u0 = kchunk(d->units, d->tasks, task_begin);
  int64_t u1 = kchunk(d->units, d->tasks, task_end);
  if (u0 >= u1) return;
  int64_t idx[KMV_MAX_DIMS] = {0};
  int64_t so = d->src_base, doff = d->dst_base;
  mv_unit_offsets(u0, d->nu, d->udims, d->usrc, d->udst, idx, &so, &doff);
  for (int64_t u = u0; u < u1; u++) {
    if (!d->tile) {
      mv_row(dst + doff * es, src + so * es, d->n, d->nsrc, d->ndst, es);
    } else {
      /* A strip of up to KMV_TILE along |ta| (the last unit dim counts
       * the strips) times all |n|, in square blocks. */
      int64_t a0 = idx[d->nu - 1] * KMV_TILE;
      int64_t na = d->ta - a0 < KMV_TILE ? d->ta - a0 : KMV_TILE;
      for (int64_t b0 = 0; b0 < d->n; b0 += KMV_TILE) {
        int64_t nb = d->n - b0 < KMV_TILE ? d->n - b0 : KMV_TILE;
        for (int64_t a = 0; a < na; a++) {
          const uint8_t *s = src + (so + a * d->tsrc + b0 * d->nsrc) * es;
          uint8_t *t = dst + (doff + a * d->tdst + b0 * d->ndst) * es;
          mv_row(t, s, nb, d->nsrc, d->ndst, es);
        }
      }
    }
    mv_unit_next(d->nu, d->udims, d->usrc, d->udst, idx, &so, &doff);
  }
}

KSIG(k_mv_pad) {
  const kmv_pad *d = desc_;
  const uint8_t *src = kptr(d->src, arena, weights);
  uint8_t *dst = kptr(d->dst, arena, weights);
  const int64_t *map = kptr(d->map, arena, weights);
  const int64_t es = d->esize, r = d->rank, n = d->dims[r - 1];
  const int64_t *last = map + d->map_off[r - 1];
  uint8_t value[16];
  memcpy(value, kptr(d->value, arena, weights), (size_t)es);

  int64_t q0 = kchunk(d->rows, d->tasks, task_begin);
  int64_t q1 = kchunk(d->rows, d->tasks, task_end);
  int64_t idx[KMAX_RANK] = {0};
  for (int64_t k = r - 2, q = q0; k >= 0; k--) {
    idx[k] = q % d->dims[k];
    q /= d->dims[k];
  }
  for (int64_t q = q0; q < q1; q++) {
    uint8_t *o = dst + q * n * es;
    int64_t off = 0;
    int inside = 1;
    for (int64_t k = 0; k < r - 1; k++) {
      int64_t m = map[d->map_off[k] + idx[k]];
      inside &= m >= 0;
      off += m;
    }
    if (!inside) {
      for (int64_t i = 0; i < n; i++) memcpy(o + i * es, value, (size_t)es);
    } else {
      for (int64_t i = 0; i < d->lo; i++)
        memcpy(o + i * es, last[i] >= 0 ? src + (off + last[i]) * es : value,
               (size_t)es);
      if (d->hi > d->lo)
        memcpy(o + d->lo * es, src + (off + last[d->lo]) * es,
               (size_t)((d->hi - d->lo) * es));
      for (int64_t i = d->hi; i < n; i++)
        memcpy(o + i * es, last[i] >= 0 ? src + (off + last[i]) * es : value,
               (size_t)es);
    }
    for (int64_t k = r - 2; k >= 0; k--) {
      if (++idx[k] < d->dims[k]) break;
      idx[k] = 0;
    }
  }
}

KSIG(k_mv_gather) {
  const kmv_gather *d = desc_;
  const uint8_t *data = kptr(d->data, arena, weights);
  const uint8_t *ix = kptr(d->idx, arena, weights);
  uint8_t *dst = kptr(d->dst, arena, weights);
  const int64_t rows = d->outer * d->count, ib = d->inner_bytes;
  int64_t q0 = kchunk(rows, d->tasks, task_begin);
  int64_t q1 = kchunk(rows, d->tasks, task_end);
  for (int64_t q = q0; q < q1; q++) {
    int64_t j = q / d->count, i = q - j * d->count;
    if (d->dim == 0) {
      memset(dst + q * ib, 0, (size_t)ib);
      continue;
    }
    int64_t v;
    if (d->idx_dtype == KMV_IDX_I32) {
      int32_t w;
      memcpy(&w, ix + i * 4, 4);
      v = w;
    } else {
      memcpy(&v, ix + i * 8, 8);
    }
    if (v < 0) v += d->dim;
    v = v < 0 ? 0 : v >= d->dim ? d->dim - 1 : v;
    memcpy(dst + q * ib, data + (j * d->dim + v) * ib, (size_t)ib);
  }
}

KSIG(k_mv_fill) {
  const kmv_fill *d = desc_;
  uint8_t *dst = kptr(d->dst, arena, weights);
  const int64_t es = d->esize;
  uint8_t value[16];
  memcpy(value, kptr(d->value, arena, weights), (size_t)es);
  int64_t i0 = kchunk(d->count, d->tasks, task_begin);
  int64_t i1 = kchunk(d->count, d->tasks, task_end);
  for (int64_t i = i0; i < i1; i++) memcpy(dst + i * es, value, (size_t)es);
}
