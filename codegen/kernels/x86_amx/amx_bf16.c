/* amx_bf16.c — bf16 products on AMX-BF16 tdpbf16ps (descriptor: k_mm_desc
 * with K counted in pairs, as k_mm_bf16_avx512; layouts: x86_avx512/
 * bf16.h; lowering: codegen/lower_bf16.c).
 *
 * The block is 2x2 tiles, 32 rows x 32 columns, with the int8 template's
 * tile numbering (amx.c): accumulators 0-3, A rows 4-5, B 6-7, every tile
 * 16 rows x 64 bytes (16 fp32, or 16 bf16 pairs).  Per K step (16 pairs,
 * 32 values of K) two A tiles load from the bf16 scratch (row stride
 * a_rs pairs) and two B tiles from the packed weights (panels of 16
 * columns, 1 KiB per K step, contiguous).  The lowering pads so that every
 * tile is whole: A has a multiple of 32 rows (zero rows past M) and a
 * multiple of 16 pairs (zero pairs past K), B a multiple of 16 pair rows
 * and an even count of 16-column panels (zeros).  The accumulators stay in
 * tiles for all of K, then go through a 4 KiB stack buffer to Y: alpha,
 * beta·C (or a fused bias) and the fused elementwise ops, valid rows and
 * columns only, as the float32 template orders them.  Batched products
 * (activation x activation MatMuls) take each task's matrix offsets from
 * kmm_batch_offsets, tiles_b matrices after tiles_m x tiles_n tiles; a
 * matrix's last row block may read rows of the next one (or the zeroed
 * padding after the last), whose results are never stored.
 */
#include <immintrin.h>

#include "generic/epilogue_apply.h"
#include "generic/matmul.h"

#define BA_INLINE static inline __attribute__((always_inline))

typedef struct bamx_cfg {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} bamx_cfg;

BA_INLINE void bamx_configure(void) {
  _Alignas(64) bamx_cfg c;
  memset(&c, 0, sizeof c);
  c.palette = 1;
  for (int t = 0; t < 8; t++) c.colsb[t] = 64, c.rows[t] = 16;
  _tile_loadconfig(&c);
}

/* Rows [i0, i0+32) x columns [j0, j0+32) of Y from the accumulators. */
BA_INLINE void bamx_store(const k_mm_desc *d, const float *acc, float *y,
                          const float *c, int64_t i0, int64_t j0) {
  int64_t rows = d->m - i0 < 32 ? d->m - i0 : 32;
  int64_t cols = d->n - j0 < 32 ? d->n - j0 : 32;
  for (int64_t r = 0; r < rows; r++) {
    float *yr = y + (i0 + r) * d->y_rs + j0;
    const float *ar = acc + r * 32;
    const float *cr = c ? c + (i0 + r) * d->c_rs + j0 * d->c_cs : NULL;
    for (int64_t j = 0; j < cols; j++) {
      float v = ar[j] * d->alpha;
      if (cr) v = __builtin_fmaf(cr[j * d->c_cs], d->beta, v);
      yr[j] = v;
    }
    kepi_run(&d->epi, yr, cols);
  }
}

KSIG(k_mm_bf16_amx) {
  const k_mm_desc *d = desc_;
  const uint8_t *abase = kptr(d->a, arena, weights);
  const uint8_t *wbase = kptr(d->b, arena, weights);
  float *ybase = kptr(d->y, arena, weights);
  const float *c = d->has_c ? kptr(d->c, arena, weights) : NULL;
  const int64_t rs = d->a_rs * 4;    /* bytes per A row */
  const int64_t ksteps = d->k / 16;  /* d->k: pairs, a multiple of 16 */
  const int64_t panel = d->b_ps * 4; /* bytes per 16-column panel */
  _Alignas(64) float acc[32 * 32];
  bamx_configure();
  for (int64_t t = task_begin; t < task_end; t++) {
    int64_t tn = t % d->tiles_n, tm = t / d->tiles_n % d->tiles_m;
    int64_t ao, bo, yo; /* A and B in pairs (4 bytes), Y in floats */
    kmm_batch_offsets(d, t / d->tiles_n / d->tiles_m, &ao, &bo, &yo);
    const uint8_t *a0 = abase + ao * 4, *w = wbase + bo * 4;
    float *y = ybase + yo;
    int64_t i_beg = tm * d->mt, j_beg = tn * d->nt;
    int64_t i_end = i_beg + d->mt < d->m ? i_beg + d->mt : d->m;
    int64_t j_end = j_beg + d->nt < d->n ? j_beg + d->nt : d->n;
    for (int64_t i0 = i_beg; i0 < i_end; i0 += 32)
      for (int64_t j0 = j_beg; j0 < j_end; j0 += 32) {
        const uint8_t *ap = a0 + i0 * rs;
        const uint8_t *w0 = w + (j0 / 16) * panel, *w1 = w0 + panel;
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
        for (int64_t s = 0; s < ksteps; s++) {
          _tile_loadd(6, w0 + s * 1024, 64);
          _tile_loadd(4, ap + s * 64, rs);
          _tile_dpbf16ps(0, 4, 6);
          _tile_loadd(7, w1 + s * 1024, 64);
          _tile_dpbf16ps(1, 4, 7);
          _tile_loadd(5, ap + 16 * rs + s * 64, rs);
          _tile_dpbf16ps(2, 5, 6);
          _tile_dpbf16ps(3, 5, 7);
        }
        _tile_stored(0, acc, 128);
        _tile_stored(1, acc + 16, 128);
        _tile_stored(2, acc + 16 * 32, 128);
        _tile_stored(3, acc + 16 * 32 + 16, 128);
        bamx_store(d, acc, y, c, i0, j0);
      }
  }
  _tile_release();
}
