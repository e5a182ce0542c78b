/* matmul.c (AVX-512) — register-blocked SGEMM for MatMul, Gemm and 1x1
 * convolutions (descriptor: generic/matmul.h).
 *
 * The lowering picks k_mm_f32_avx512 for float32 products whose B is
 * packed (or has contiguous columns) and whose Y has contiguous columns.
 * The micro-kernel keeps mr x nv zmm accumulators (mr*nv <= 24 of the 32
 * registers) over the whole K loop: per step of K it loads nv vectors of
 * B's row and does mr*nv FMAs against A elements broadcast from memory
 * (which LLVM folds into the FMA as {1to16} operands).  The last vector of
 * a column block is loaded and stored under a mask, so an unpacked B and
 * any N need no padding and no scalar tail.  Rows: whole micro-tiles, the
 * last shifted back to overlap (as in the generic template).
 */
#include <immintrin.h>

#include "generic/matmul.h"

#define MM_MR_MAX 16
#define MM_NV_MAX 4

/* Lanes [0, cols) of a vector, cols in [1, 16]. */
K_INLINE __mmask16 mm_mask(int64_t cols) {
  return cols >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << cols) - 1u);
}

/* Rows [i0, i0 + mr) x columns [j0, j0 + 16*(nv-1) + lanes of |last|) of
 * Y; |bp| is B at (0, j0) and |brs| its row stride. */
K_INLINE void mm_micro(const k_mm_desc *d, const float *a, const float *bp,
                       int64_t brs, float *y, const float *c, int64_t i0,
                       int64_t mr, int64_t j0, int64_t nv, __mmask16 last) {
  __m512 acc[MM_MR_MAX][MM_NV_MAX];
  for (int64_t i = 0; i < mr; i++)
    for (int64_t v = 0; v < nv; v++) acc[i][v] = _mm512_setzero_ps();
  const float *ap = a + i0 * d->a_rs;
  for (int64_t p = 0; p < d->k; p++) {
    __m512 bv[MM_NV_MAX];
    for (int64_t v = 0; v < nv; v++)
      bv[v] = v == nv - 1 ? _mm512_maskz_loadu_ps(last, bp + 16 * v)
                          : _mm512_loadu_ps(bp + 16 * v);
    for (int64_t i = 0; i < mr; i++) {
      __m512 av = _mm512_set1_ps(ap[i * d->a_rs + p * d->a_cs]);
      for (int64_t v = 0; v < nv; v++)
        acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
    }
    bp += brs;
  }
  const __m512 alpha = _mm512_set1_ps(d->alpha), beta = _mm512_set1_ps(d->beta);
  for (int64_t i = 0; i < mr; i++) {
    float *yr = y + (i0 + i) * d->y_rs + j0;
    const float *cr = c ? c + (i0 + i) * d->c_rs + j0 * d->c_cs : NULL;
    for (int64_t v = 0; v < nv; v++) {
      __mmask16 m = v == nv - 1 ? last : (__mmask16)0xffff;
      __m512 r = _mm512_mul_ps(acc[i][v], alpha);
      if (cr) {
        __m512 cv = d->c_cs ? _mm512_maskz_loadu_ps(m, cr + 16 * v)
                            : _mm512_set1_ps(cr[0]);
        r = _mm512_fmadd_ps(cv, beta, r);
      }
      _mm512_mask_storeu_ps(yr + 16 * v, m, r);
    }
  }
}

KSIG(k_mm_f32_avx512) {
  const k_mm_desc *d = desc_;
  const float *a0 = kptr(d->a, arena, weights);
  const float *b0 = kptr(d->b, arena, weights);
  float *y0 = kptr(d->y, arena, weights);
  const float *c = d->has_c ? kptr(d->c, arena, weights) : NULL;
  const int64_t mr = d->mr, nv = d->nv, nw = 16 * nv;
  for (int64_t t = task_begin; t < task_end; t++) {
    int64_t tn = t % d->tiles_n, tm = t / d->tiles_n % d->tiles_m;
    int64_t tb = t / d->tiles_n / d->tiles_m;
    int64_t ao = 0, bo = 0, yo = 0;
    for (int64_t q = d->nbdim - 1, bi = tb; q >= 0; q--) {
      int64_t i = bi % d->bdims[q];
      bi /= d->bdims[q];
      ao += i * d->a_bs[q];
      bo += i * d->b_bs[q];
      yo += i * d->y_bs[q];
    }
    const float *a = a0 + ao;
    float *y = y0 + yo;
    int64_t i_beg = tm * d->mt;
    int64_t i_end = i_beg + d->mt < d->m ? i_beg + d->mt : d->m;
    int64_t j_end = (tn + 1) * d->nt < d->n ? (tn + 1) * d->nt : d->n;
    for (int64_t j0 = tn * d->nt; j0 < j_end; j0 += nw) {
      int64_t cols = j_end - j0 < nw ? j_end - j0 : nw;
      int64_t nvj = (cols + 15) / 16;
      __mmask16 last = mm_mask(cols - 16 * (nvj - 1));
      const float *bp;
      int64_t brs;
      if (d->b_panel) {
        bp = b0 + bo + j0 / d->b_panel * d->b_ps + j0 % d->b_panel;
        brs = d->b_panel;
      } else {
        bp = b0 + bo + j0;
        brs = d->b_rs;
      }
      int64_t i0 = i_beg;
      if (nvj == nv && i_end - i0 >= mr) {
        for (; i0 + mr <= i_end; i0 += mr)
          mm_micro(d, a, bp, brs, y, c, i0, mr, j0, nv, last);
        if (i0 < i_end)
          mm_micro(d, a, bp, brs, y, c, i_end - mr, mr, j0, nv, last);
        continue;
      }
      for (; i0 < i_end; i0 += mr) {
        int64_t rows = i_end - i0 < mr ? i_end - i0 : mr;
        mm_micro(d, a, bp, brs, y, c, i0, rows, j0, nvj, last);
      }
    }
  }
}
