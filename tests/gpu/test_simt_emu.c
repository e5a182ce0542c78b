/* test_simt_emu.c — the SIMT emulator itself (simt_emu.h): indices, shared
 * memory across a barrier, both shuffles against their PTX definitions,
 * dp4a, and the hangs it must report instead of running on (a barrier or
 * shuffle that some thread exits without reaching, shared memory over the
 * launch's size, a shuffle in a partial warp). */
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
