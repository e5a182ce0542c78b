/* simt_emu.c — see simt_emu.h.  The state of the running launch is
 * thread-local: launches on different host threads are independent, and
 * the kernel side (simt.h's simt_emu_* calls) finds it without arguments,
 * as a GPU thread finds its special registers. */
#define _GNU_SOURCE
#include "simt_emu.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIMT_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SIMT_ASAN 1
#endif
#ifdef SIMT_ASAN
#include <sanitizer/common_interface_defs.h>
#define STACK_BYTES (64 * 1024)
#else
#define STACK_BYTES (64 * 1024)
#endif

#define WARP 32
#define MAX_THREADS 1024

typedef enum { F_RUN, F_BAR, F_WARP, F_DONE } fstate;

typedef struct fiber {
  ucontext_t ctx;
  void *stack;
  fstate state;
  uint32_t tid;
  uint32_t wait_gen;  /* generation of the barrier it waits on */
  uint32_t smem_off;  /* SIMT_SHARED walk */
} fiber;

typedef struct emu {
  simt_kernel k;
  const void *desc;
  uint8_t *arena;
  const uint8_t *weights;
  uint32_t grid[3], bid[3], nthreads, smem_size;
  uint8_t *smem;
  fiber *f;
  fiber *cur;
  ucontext_t sched;
  void *sched_fake_stack;
  /* block barrier */
  uint32_t bar_arrived, bar_gen;
  /* per-warp exchange: values, arrivals, generation */
  uint32_t wval[MAX_THREADS];
  uint32_t warr[MAX_THREADS / WARP], wgen[MAX_THREADS / WARP];
  uint32_t wfrag[MAX_THREADS][6]; /* mma: each lane's a[4], b[2] */
  int failed;
  char *err;
  size_t errcap;
  uint64_t nsync, nshfl, nmma;
  uint64_t progress; /* arrivals and completions: deadlock detection */
  void *scratch;
} emu;

static _Thread_local emu *E;
static _Thread_local uint64_t last_sync, last_shfl, last_mma;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
  if (E->failed) return;
  E->failed = 1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(E->err, E->errcap, fmt, ap);
  va_end(ap);
}

/* Back to the scheduler; returns when the scheduler resumes this fiber. */
static void yield(void) {
  fiber *f = E->cur;
#ifdef SIMT_ASAN
  void *fake = NULL;
  __sanitizer_start_switch_fiber(&fake, NULL, 0);
  swapcontext(&f->ctx, &E->sched);
  __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#else
  swapcontext(&f->ctx, &E->sched);
#endif
}

static void fiber_main(void) {
#ifdef SIMT_ASAN
  __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
  E->k(E->desc, E->arena, E->weights);
  E->cur->state = F_DONE;
#ifdef SIMT_ASAN
  __sanitizer_start_switch_fiber(NULL, NULL, 0); /* this stack dies */
#endif
  setcontext(&E->sched);
}

/*===--- the kernel side (simt.h) ----------------------------------------===*/
uint32_t simt_emu_tid(void) { return E->cur->tid; }
uint32_t simt_emu_ntid(void) { return E->nthreads; }
uint32_t simt_emu_bid(int axis) { return E->bid[axis]; }

void simt_emu_sync(void) {
  fiber *f = E->cur;
  E->nsync++;
  f->wait_gen = E->bar_gen;
  E->progress++;
  if (++E->bar_arrived == E->nthreads) {
    E->bar_arrived = 0;
    E->bar_gen++;
    return;
  }
  f->state = F_BAR;
  while (E->bar_gen == f->wait_gen && !E->failed) yield();
  f->state = F_RUN;
}

/* Waits until all lanes of the warp of |f| have arrived. */
static void warp_wait(fiber *f) {
  uint32_t w = f->tid / WARP;
  f->wait_gen = E->wgen[w];
  E->progress++;
  if (++E->warr[w] == WARP) {
    E->warr[w] = 0;
    E->wgen[w]++;
    return;
  }
  f->state = F_WARP;
  while (E->wgen[w] == f->wait_gen && !E->failed) yield();
  f->state = F_RUN;
}

uint32_t simt_emu_shfl(uint32_t v, uint32_t lane, int xor_mode) {
  fiber *f = E->cur;
  E->nshfl++;
  if (E->nthreads % WARP) {
    fail("block %u,%u,%u: warp shuffle in a block of %u threads (not a "
         "whole number of warps)",
         E->bid[0], E->bid[1], E->bid[2], E->nthreads);
    return 0;
  }
  uint32_t base = f->tid / WARP * WARP, me = f->tid % WARP;
  uint32_t src = (xor_mode ? me ^ lane : lane) % WARP;
  E->wval[f->tid] = v;
  warp_wait(f);
  uint32_t r = E->wval[base + src];
  warp_wait(f);
  return r;
}

/* mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32 (simt.h has the
 * fragment layout).  Every lane publishes its A and B registers; after
 * the whole warp has arrived, each lane computes its own four D elements,
 * reading every matrix element from the lane and register the PTX ISA
 * puts it in: A[r][k] is byte k % 4 of register 2·(k >= 16) + (r >= 8) of
 * lane 4·(r % 8) + (k % 16) / 4, and B[k][n] byte k % 4 of register
 * (k >= 16) of lane 4n + (k % 16) / 4.  A second arrival keeps a lane from
 * overwriting its registers before the others have read them. */
void simt_emu_mma(uint32_t d[4], const uint32_t a[4], const uint32_t b[2],
                  const uint32_t c[4]) {
  fiber *f = E->cur;
  E->nmma++;
  if (E->nthreads % WARP) {
    fail("block %u,%u,%u: mma.sync in a block of %u threads (not a whole "
         "number of warps)",
         E->bid[0], E->bid[1], E->bid[2], E->nthreads);
    return;
  }
  uint32_t base = f->tid / WARP * WARP, lane = f->tid % WARP;
  uint32_t g = lane / 4, t = lane % 4, out[4];
  memcpy(E->wfrag[f->tid], a, 4 * sizeof *a);
  memcpy(E->wfrag[f->tid] + 4, b, 2 * sizeof *b);
  warp_wait(f);
  for (uint32_t i = 0; i < 4; i++) {
    uint32_t r = g + (i >= 2 ? 8 : 0), n = 2 * t + (i & 1), acc = c[i];
    for (uint32_t k = 0; k < 32; k++) {
      uint32_t al = 4 * (r % 8) + k % 16 / 4, bl = 4 * n + k % 16 / 4;
      uint32_t ar = 2 * (k >= 16) + (r >= 8), br = 4 + (k >= 16);
      uint8_t av = (uint8_t)(E->wfrag[base + al][ar] >> (8 * (k % 4)));
      int8_t bv = (int8_t)(uint8_t)(E->wfrag[base + bl][br] >> (8 * (k % 4)));
      acc += (uint32_t)((int32_t)av * (int32_t)bv);
    }
    out[i] = acc;
  }
  warp_wait(f);
  memcpy(d, out, sizeof out);
}

void *simt_emu_shared(uint32_t bytes) {
  fiber *f = E->cur;
  uint32_t off = (f->smem_off + 15) & ~15u;
  if ((uint64_t)off + bytes > E->smem_size) {
    fail("block %u,%u,%u: kernel uses more than the launch's %u bytes of "
         "shared memory",
         E->bid[0], E->bid[1], E->bid[2], E->smem_size);
    /* The thread runs on until its next scheduling point: give it memory
     * it may use (the block stops there). */
    if (!E->scratch) E->scratch = calloc(1, bytes);
    return E->scratch;
  }
  f->smem_off = off + bytes;
  return E->smem + off;
}

/*===--- the scheduler ---------------------------------------------------===*/

static void resume(fiber *f) {
  E->cur = f;
#ifdef SIMT_ASAN
  void *fake = NULL;
  __sanitizer_start_switch_fiber(&fake, f->stack, STACK_BYTES);
  swapcontext(&E->sched, &f->ctx);
  __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#else
  swapcontext(&E->sched, &f->ctx);
#endif
}

static void run_block(void) {
  uint32_t n = E->nthreads;
  memset(E->smem, 0xa5, E->smem_size); /* garbage */
  E->bar_arrived = 0;
  memset(E->warr, 0, sizeof E->warr);
  for (uint32_t t = 0; t < n; t++) {
    fiber *f = &E->f[t];
    f->state = F_RUN;
    f->tid = t;
    f->smem_off = 0;
    getcontext(&f->ctx);
    f->ctx.uc_stack.ss_sp = f->stack;
    f->ctx.uc_stack.ss_size = STACK_BYTES;
    f->ctx.uc_link = NULL;
    makecontext(&f->ctx, fiber_main, 0);
  }
  for (;;) {
    uint32_t done = 0, waiting = 0;
    uint64_t progress = E->progress;
    for (uint32_t t = 0; t < n; t++) {
      fiber *f = &E->f[t];
      if (f->state == F_DONE) {
        done++;
        continue;
      }
      resume(f);
      if (f->state == F_DONE) done++, E->progress++;
      else waiting++;
    }
    if (done == n || E->failed) break;
    if (progress == E->progress) {
      fail("block %u,%u,%u: deadlock: %u thread(s) wait at barriers or "
           "shuffles that the others never reach",
           E->bid[0], E->bid[1], E->bid[2], waiting);
      break;
    }
    if (done && waiting) {
      /* Someone waits at a barrier or shuffle that a finished thread will
       * never reach: a hang on a GPU.  Report which. */
      for (uint32_t t = 0; t < n; t++) {
        fiber *f = &E->f[t];
        if (f->state == F_BAR && f->wait_gen == E->bar_gen) {
          fail("block %u,%u,%u: thread %u waits at a block barrier that "
               "%u finished thread(s) never reach",
               E->bid[0], E->bid[1], E->bid[2], t, done);
          break;
        }
        if (f->state == F_WARP && f->wait_gen == E->wgen[t / WARP]) {
          uint32_t w = t / WARP, gone = 0;
          for (uint32_t l = 0; l < WARP; l++)
            gone += E->f[w * WARP + l].state == F_DONE;
          if (gone) {
            fail("block %u,%u,%u: thread %u waits in a warp shuffle or mma that "
                 "%u finished lane(s) of its warp never reach",
                 E->bid[0], E->bid[1], E->bid[2], t, gone);
            break;
          }
        }
      }
    }
  }
  /* A failed block leaves fibers suspended on their stacks; nothing of
   * theirs is heap-owned, so dropping them is safe. */
}

int simt_launch(simt_kernel k, const void *desc, uint8_t *arena,
                const uint8_t *weights, const uint32_t grid[3],
                const uint32_t block[3], uint32_t smem, char *err,
                size_t errcap) {
  if (errcap) err[0] = 0;
  if (block[1] != 1 || block[2] != 1 || block[0] == 0 ||
      block[0] > MAX_THREADS) {
    snprintf(err, errcap, "block %ux%ux%u: the emulator runs 1..%d threads "
             "along x only", block[0], block[1], block[2], MAX_THREADS);
    return 0;
  }
  if (!grid[0] || !grid[1] || !grid[2]) {
    snprintf(err, errcap, "empty grid %ux%ux%u", grid[0], grid[1], grid[2]);
    return 0;
  }
  emu *e = calloc(1, sizeof *e);
  if (!e) {
    snprintf(err, errcap, "out of memory");
    return 0;
  }
  e->k = k, e->desc = desc, e->arena = arena, e->weights = weights;
  e->nthreads = block[0];
  e->smem_size = smem;
  e->err = err, e->errcap = errcap;
  e->smem = malloc(smem ? smem : 1);
  e->f = calloc(block[0], sizeof *e->f);
  int ok = e->smem && e->f;
  for (uint32_t t = 0; ok && t < block[0]; t++)
    ok = (e->f[t].stack = malloc(STACK_BYTES)) != NULL;
  if (!ok) snprintf(err, errcap, "out of memory");
  emu *saved = E;
  E = e;
  for (uint32_t z = 0; ok && z < grid[2] && !e->failed; z++)
    for (uint32_t y = 0; y < grid[1] && !e->failed; y++)
      for (uint32_t x = 0; x < grid[0] && !e->failed; x++) {
        e->bid[0] = x, e->bid[1] = y, e->bid[2] = z;
        run_block();
      }
  E = saved;
  if (e->failed) ok = 0;
  last_sync = e->nsync, last_shfl = e->nshfl, last_mma = e->nmma;
  for (uint32_t t = 0; e->f && t < block[0]; t++) free(e->f[t].stack);
  free(e->f);
  free(e->smem);
  free(e->scratch);
  free(e);
  return ok;
}

uint64_t simt_last_sync_count(void) { return last_sync; }
uint64_t simt_last_shfl_count(void) { return last_shfl; }
uint64_t simt_last_mma_count(void) { return last_mma; }
