/* steps.c — step functions for the runtime tests, compiled by clang at
 * build time into ELF relocatable objects (PIC, non-PIC, one section per
 * function) that stand in for LLVM's output.  Each construct is here for
 * the relocations it makes the loader handle:
 *   - calls to memcpy/memmove/memset with run-time sizes (PLT32 to the
 *     whitelisted symbols, through the loader's stubs);
 *   - a static const table in .rodata (PC32, or 32S without PIC);
 *   - a preemptible global in .data (GOTPCREL/REX_GOTPCRELX with -fPIC);
 *   - a .bss counter updated atomically from every run;
 *   - a const table of function pointers (R_X86_64_64 in .data.rel.ro);
 *   - a switch that becomes a jump table.
 * Step ABI: void step(uint8_t *arena, const uint8_t *weights, int64_t t0,
 * int64_t t1), computing tasks [t0, t1). */
#include <stdint.h>
#include <string.h>

#include "layout.h"

int64_t ingot_test_offset = 1000;
static int64_t runs;
static const int64_t table[16] = {3, 1, 4, 1, 5, 9, 2, 6,
                                  5, 3, 5, 8, 9, 7, 9, 3};

__attribute__((noinline)) static int64_t op_neg(int64_t v) { return -v; }
__attribute__((noinline)) static int64_t op_sq(int64_t v) { return v * v; }
__attribute__((noinline)) static int64_t op_inc(int64_t v) { return v + 1; }
static int64_t (*const ops[3])(int64_t) = {op_neg, op_sq, op_inc};

__attribute__((noinline)) static int64_t sw(int64_t v) {
  switch (v & 7) {
  case 0: return 11 + v;
  case 1: return 22 * v;
  case 2: return v - 7;
  case 3: return v * 8;
  case 4: return 100 - v;
  case 5: return v ^ 5;
  case 6: return -3 * v;
  default: return 7 * v + 1;
  }
}

void step_affine(uint8_t *arena, const uint8_t *weights, int64_t t0,
                 int64_t t1) {
  const float *x = (const float *)(arena + A_X);
  float *y = (float *)(arena + A_Y);
  const float *scale = (const float *)(weights + W_SCALE);
  const float *bias = (const float *)(weights + W_BIAS);
  for (int64_t h = t0; h < t1; h++)
    for (int w = 0; w < T_W; w++)
      for (int c = 0; c < T_C; c++) {
        int64_t i = (h * T_W + w) * T_C + c;
        y[i] = x[i] * scale[c] + bias[c];
      }
}

void step_index(uint8_t *arena, const uint8_t *weights, int64_t t0,
                int64_t t1) {
  const int64_t *idx = (const int64_t *)(arena + A_IDX);
  int64_t *z = (int64_t *)(arena + A_Z);
  for (int64_t i = t0; i < t1; i++) {
    int64_t v = idx[i];
    z[i] = ops[((v % 3) + 3) % 3](v) + 3 * table[v & 15] + ingot_test_offset +
           sw(v);
  }
}

void step_copy(uint8_t *arena, const uint8_t *weights, int64_t t0,
               int64_t t1) {
  int64_t n, q, s;
  memcpy(&n, weights + W_NBYTES, 8);
  memcpy(&q, weights + W_QBYTES, 8);
  memcpy(&s, weights + W_SBYTES, 8);
  memcpy(arena + A_XCOPY, arena + A_X, (size_t)n);
  memmove(arena + A_QO, arena + A_Q, (size_t)q);
  memset(arena + A_SCRATCH, 0x5a, (size_t)s);
  int64_t r = __atomic_add_fetch(&runs, 1, __ATOMIC_SEQ_CST);
  memcpy(arena + A_COUNT, &r, 8);
}

void step_zero(uint8_t *arena, const uint8_t *weights, int64_t t0,
               int64_t t1) {
  int64_t *sum = (int64_t *)(arena + A_SUM);
  sum[0] = sum[1] = 0;
}

void step_sum(uint8_t *arena, const uint8_t *weights, int64_t t0,
              int64_t t1) {
  int64_t *sum = (int64_t *)(arena + A_SUM);
  for (int64_t t = t0; t < t1; t++) {
    __atomic_fetch_add(&sum[0], t, __ATOMIC_RELAXED);
    __atomic_fetch_add(&sum[1], 1, __ATOMIC_RELAXED);
  }
}
