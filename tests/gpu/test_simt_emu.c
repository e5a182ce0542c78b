/* test_simt_emu.c — the SIMT emulator itself (simt_emu.h): indices, shared
 * memory across a barrier, both shuffles against their PTX definitions,
 * dp4a, and the hangs it must report instead of running on (a barrier or
 * shuffle that some thread exits without reaching, shared memory over the
 * launch's size, a shuffle in a partial warp), and mma.sync m16n8k32's
 * fragment layout: known matrices through one mma per warp. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "nvptx/simt.h"
#include "simt_emu.h"

typedef struct tdesc {
  uint32_t n;
} tdesc;

/* out[b·ntid + t] = reversed block: thread t reads what ntid-1-t wrote to
 * shared memory before the barrier. */
static GSIG(k_reverse) {
  (void)weights;
  const tdesc *d = desc_;
  SIMT_SHARED(uint32_t, s, 256);
  uint32_t t = simt_tid(), n = simt_ntid(), b = simt_bid_x();
  s[t] = b * 1000 + t;
  simt_sync();
  uint32_t v = s[n - 1 - t];
  simt_sync();
  s[t] = 0; /* a missing second barrier would let this clobber a reader */
  uint32_t *out = (uint32_t *)(void *)arena;
  if (b * n + t < d->n) out[b * n + t] = v;
}

/* out[3t..3t+2] = shfl_xor(t, 5), shfl_idx(t·t, 31 - lane), warp sum. */
static GSIG(k_shuffles) {
  (void)desc_, (void)weights;
  uint32_t t = simt_tid();
  uint32_t *out = (uint32_t *)(void *)arena;
  uint32_t a = simt_shfl_xor(t, 5);
  uint32_t b = simt_shfl_idx(t * t, 31 - t % 32);
  uint32_t s = t;
  for (uint32_t m = 16; m; m /= 2) s += simt_shfl_xor(s, m);
  out[3 * t] = a, out[3 * t + 1] = b, out[3 * t + 2] = s;
}

static GSIG(k_early_exit_barrier) {
  (void)desc_, (void)weights, (void)arena;
  if (simt_tid() == 3) return;
  simt_sync();
}

static GSIG(k_early_exit_shuffle) {
  (void)desc_, (void)weights, (void)arena;
  if (simt_tid() == 40) return;
  (void)simt_shfl_xor(1, 1);
}

static GSIG(k_too_much_shared) {
  (void)desc_, (void)weights, (void)arena;
  SIMT_SHARED(uint32_t, s, 1024);
  s[0] = 1;
}

static GSIG(k_dp4a) {
  (void)desc_, (void)weights;
  uint32_t *out = (uint32_t *)(void *)arena;
  /* a = bytes 255, 1, 128, 7 (u8); b = -128, 127, -1, 2 (s8) */
  out[0] = simt_dp4a_us(0x078001ffu, 0x02ff7f80u, 10);
}

/* mma.sync m16n8k32 u8 x s8: per warp w, A (16x32 u8, row-major) at
 * arena + w·MMA_BYTES, then B as 8 columns of 32 s8, C (16x8 s32, row-
 * major), D (16x8 s32).  The fragments are built from the PTX ISA's
 * formulas as written there (element i of a lane -> row, column), the
 * opposite direction from the emulator, which reads each element from its
 * lane and register. */
#define MMA_BYTES (16 * 32 + 8 * 32 + 2 * 16 * 8 * 4)
static void mma_frag_a(const uint8_t *A, uint32_t lane, uint32_t a[4]) {
  uint32_t g = lane >> 2, t = lane % 4;
  memset(a, 0, 4 * sizeof *a);
  for (uint32_t i = 0; i < 16; i++) {
    uint32_t row = (i < 4 || (i >= 8 && i < 12)) ? g : g + 8;
    uint32_t col = i < 8 ? t * 4 + (i & 3) : t * 4 + (i & 3) + 16;
    a[i / 4] |= (uint32_t)A[row * 32 + col] << (8 * (i % 4));
  }
}
static void mma_frag_b(const uint8_t *Bcols, uint32_t lane, uint32_t b[2]) {
  uint32_t g = lane >> 2, t = lane % 4;
  b[0] = b[1] = 0;
  for (uint32_t i = 0; i < 8; i++) {
    uint32_t row = i < 4 ? t * 4 + (i & 3) : t * 4 + (i & 3) + 16, col = g;
    b[i / 4] |= (uint32_t)Bcols[col * 32 + row] << (8 * (i % 4));
  }
}
static uint32_t mma_c_index(uint32_t lane, uint32_t i) { /* row·8 + col */
  uint32_t g = lane >> 2, t = lane % 4;
  return (i < 2 ? g : g + 8) * 8 + t * 2 + (i & 1);
}

static GSIG(k_mma) {
  (void)desc_, (void)weights;
  uint32_t lane = simt_tid() % 32;
  uint8_t *m = arena + simt_tid() / 32 * MMA_BYTES;
  uint32_t a[4], b[2], c[4], dd[4];
  mma_frag_a(m, lane, a);
  mma_frag_b(m + 512, lane, b);
  for (uint32_t i = 0; i < 4; i++)
    memcpy(&c[i], m + 768 + 4 * mma_c_index(lane, i), 4);
  simt_mma_us(dd, a, b, c);
  for (uint32_t i = 0; i < 4; i++)
    memcpy(m + 768 + 512 + 4 * mma_c_index(lane, i), &dd[i], 4);
}

static GSIG(k_mma_early_exit) {
  (void)desc_, (void)weights, (void)arena;
  uint32_t a[4] = {0}, b[2] = {0}, c[4] = {0}, dd[4];
  if (simt_tid() == 7) return;
  simt_mma_us(dd, a, b, c);
}

static void mma_test(void) {
  static uint8_t arena[2 * MMA_BYTES];
  uint32_t seed = 12345;
  for (size_t i = 0; i < sizeof arena; i++) {
    seed = seed * 1103515245u + 12345u;
    arena[i] = (uint8_t)(seed >> 16);
  }
  /* Warp 1: extremes (255 x -128 everywhere) and C near 2^31, so the sum
   * wraps as the s32 accumulator of mma without .satfinite does. */
  memset(arena + MMA_BYTES, 255, 512);
  memset(arena + MMA_BYTES + 512, 0x80, 256);
  for (uint32_t i = 0; i < 128; i++) {
    uint32_t v = 0x80000000u + i;
    memcpy(arena + MMA_BYTES + 768 + 4 * i, &v, 4);
  }
  /* The PTX ISA's figures, spot-checked: lane 5 (group 1, thread 1) holds
   * A[1][4..7] in a0..a3 and A[9][20..23] in a12..a15; lane 31 holds
   * B[28..31][7] in b4..b7; lane 6 holds C[9][4] in c2. */
  uint32_t a[4], b[2];
  mma_frag_a(arena, 5, a);
  CHECK(a[0] == (uint32_t)(arena[1 * 32 + 4] | arena[1 * 32 + 5] << 8 |
                           arena[1 * 32 + 6] << 16 |
                           (uint32_t)arena[1 * 32 + 7] << 24));
  CHECK((a[3] & 0xff) == arena[9 * 32 + 20] &&
        a[3] >> 24 == arena[9 * 32 + 23]);
  mma_frag_b(arena + 512, 31, b);
  CHECK((b[1] & 0xff) == arena[512 + 7 * 32 + 28] &&
        b[1] >> 24 == arena[512 + 7 * 32 + 31]);
  CHECK(mma_c_index(6, 2) == 9 * 8 + 4);

  uint32_t want[2][128];
  for (uint32_t w = 0; w < 2; w++) {
    const uint8_t *m = arena + w * MMA_BYTES;
    for (uint32_t r = 0; r < 16; r++)
      for (uint32_t n = 0; n < 8; n++) {
        uint32_t acc;
        memcpy(&acc, m + 768 + 4 * (r * 8 + n), 4);
        for (uint32_t k = 0; k < 32; k++)
          acc += (uint32_t)((int32_t)m[r * 32 + k] *
                            (int32_t)(int8_t)m[512 + n * 32 + k]);
        want[w][r * 8 + n] = acc;
      }
  }
  uint32_t g1[3] = {1, 1, 1}, b64[3] = {64, 1, 1};
  char err[256];
  CHECK(simt_launch(k_mma, NULL, arena, NULL, g1, b64, 0, err, sizeof err));
  CHECK(simt_last_mma_count() == 64);
  for (uint32_t w = 0; w < 2; w++)
    for (uint32_t e = 0; e < 128; e++) {
      uint32_t got;
      memcpy(&got, arena + w * MMA_BYTES + 768 + 512 + 4 * e, 4);
      if (got != want[w][e]) {
        fprintf(stderr, "mma: warp %u D[%u][%u] = %u, want %u\n", w, e / 8,
                e % 8, got, want[w][e]);
        check_failures++;
        return;
      }
    }
}

static void expect_error(const char *what, simt_kernel k, uint32_t threads,
                         uint32_t smem, const char *want) {
  uint32_t grid[3] = {2, 1, 1}, block[3] = {threads, 1, 1};
  uint8_t arena[4096];
  char err[256];
  int ok = simt_launch(k, NULL, arena, NULL, grid, block, smem, err,
                       sizeof err);
  if (ok || !strstr(err, want)) {
    fprintf(stderr, "%s: got %s '%s', want an error with '%s'\n", what,
            ok ? "success" : "error", err, want);
    check_failures++;
  }
}

int main(void) {
  uint32_t out[3 * 256];
  char err[256];
  tdesc d = {250};
  uint32_t grid[3] = {2, 1, 1}, block[3] = {128, 1, 1};
  memset(out, 0xff, sizeof out);
  CHECK(simt_launch(k_reverse, &d, (uint8_t *)out, NULL, grid, block, 1024,
                    err, sizeof err));
  for (uint32_t i = 0; i < 250; i++) {
    uint32_t b = i / 128, t = i % 128;
    if (out[i] != b * 1000 + 127 - t) {
      fprintf(stderr, "reverse: out[%u] = %u, want %u\n", i, out[i],
              b * 1000 + 127 - t);
      check_failures++;
      break;
    }
  }
  CHECK(out[250] == 0xffffffffu); /* the guard held */
  CHECK(simt_last_sync_count() == 2 * 2 * 128);

  uint32_t g1[3] = {1, 1, 1}, b64[3] = {64, 1, 1};
  CHECK(simt_launch(k_shuffles, NULL, (uint8_t *)out, NULL, g1, b64, 0, err,
                    sizeof err));
  for (uint32_t t = 0; t < 64; t++) {
    uint32_t w = t / 32 * 32, src = w + 31 - t % 32;
    uint32_t sum = 0;
    for (uint32_t l = 0; l < 32; l++) sum += w + l;
    if (out[3 * t] != (t ^ 5) || out[3 * t + 1] != src * src ||
        out[3 * t + 2] != sum) {
      fprintf(stderr, "shuffles: thread %u got %u %u %u, want %u %u %u\n", t,
              out[3 * t], out[3 * t + 1], out[3 * t + 2], t ^ 5, src * src,
              sum);
      check_failures++;
      break;
    }
  }
  CHECK(simt_last_shfl_count() == 64 * 7);

  uint32_t b1[3] = {1, 1, 1};
  CHECK(simt_launch(k_dp4a, NULL, (uint8_t *)out, NULL, g1, b1, 0, err,
                    sizeof err));
  CHECK(out[0] == (uint32_t)(10 + 255 * -128 + 1 * 127 + 128 * -1 + 7 * 2));

  mma_test();
  expect_error("mma with an exited lane", k_mma_early_exit, 32, 0,
               "shuffle or mma");
  expect_error("mma in a partial warp", k_mma_early_exit, 40, 0,
               "not a whole number of warps");
  expect_error("barrier with an exited thread", k_early_exit_barrier, 64, 0,
               "block barrier");
  expect_error("shuffle with an exited lane", k_early_exit_shuffle, 64, 0,
               "warp shuffle");
  expect_error("shared memory over the launch's", k_too_much_shared, 32, 1024,
               "shared memory");
  expect_error("shuffle in a partial warp", k_early_exit_shuffle, 48, 0,
               "not a whole number of warps");
  return check_report("test_simt_emu");
}
