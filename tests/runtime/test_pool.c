/* test_pool.c — the thread pool: every task of [0, tasks) runs exactly
 * once per step, chunks are contiguous and one per thread, steps are
 * barriers, for thread and task counts around the edge cases, many times
 * over; plus bad thread counts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "rt.h"

#define MAX_TASKS 1500

/* arena layout: int64 hits[MAX_TASKS], int64 calls, int64 max_span */
static void count_step(uint8_t *arena, const uint8_t *weights, int64_t t0,
                       int64_t t1) {
  int64_t *hits = (int64_t *)arena;
  for (int64_t t = t0; t < t1; t++) __atomic_fetch_add(&hits[t], 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&hits[MAX_TASKS], 1, __ATOMIC_RELAXED);
  int64_t span = t1 - t0, cur = __atomic_load_n(&hits[MAX_TASKS + 1], __ATOMIC_RELAXED);
  while (span > cur &&
         !__atomic_compare_exchange_n(&hits[MAX_TASKS + 1], &cur, span, 0,
                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
}

/* Step 2 of a pair: reads what step 1 wrote; a missing barrier shows. */
static void check_step(uint8_t *arena, const uint8_t *weights, int64_t t0,
                       int64_t t1) {
  int64_t *hits = (int64_t *)arena;
  for (int64_t t = t0; t < t1; t++)
    if (__atomic_load_n(&hits[t], __ATOMIC_RELAXED) != 1)
      __atomic_fetch_add(&hits[MAX_TASKS + 2], 1, __ATOMIC_RELAXED);
}

int main(void) {
  CHECK(rt_cpu_count() >= 1);
  rt_pool *p = NULL;
  ingot_status s = rt_pool_create(0, &p);
  CHECK(ingot_status_code_of(s) == INGOT_INVALID_ARGUMENT && p == NULL);
  ingot_status_free(s);

  int64_t *arena = calloc(MAX_TASKS + 3, sizeof *arena);
  const int threads[] = {1, 2, 3, 4, 7};
  const int64_t tasks[] = {1, 2, 3, 5, 7, 8, 64, 999, MAX_TASKS};
  for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++) {
    CHECK_OK(rt_pool_create(threads[i], &p));
    if (!p) continue;
    CHECK(rt_pool_threads(p) == threads[i]);
    for (int rep = 0; rep < 60; rep++)
      for (size_t k = 0; k < sizeof tasks / sizeof tasks[0]; k++) {
        int64_t n = tasks[k];
        memset(arena, 0, (MAX_TASKS + 3) * sizeof *arena);
        rt_pool_run(p, count_step, (uint8_t *)arena, NULL, n);
        rt_pool_run(p, check_step, (uint8_t *)arena, NULL, n);
        int64_t wrong = 0;
        for (int64_t t = 0; t < n; t++) wrong += arena[t] != 1;
        for (int64_t t = n; t < MAX_TASKS; t++) wrong += arena[t] != 0;
        int64_t chunks = n < threads[i] ? n : threads[i];
        if (wrong || arena[MAX_TASKS] != chunks ||
            arena[MAX_TASKS + 1] != (n + chunks - 1) / chunks ||
            arena[MAX_TASKS + 2] != 0) {
          fprintf(stderr,
                  "threads %d tasks %lld: %lld wrong, %lld calls, span %lld, "
                  "%lld unordered\n",
                  threads[i], (long long)n, (long long)wrong,
                  (long long)arena[MAX_TASKS], (long long)arena[MAX_TASKS + 1],
                  (long long)arena[MAX_TASKS + 2]);
          check_failures++;
          rep = 1000;
          break;
        }
      }
    rt_pool_destroy(p);
  }
  rt_pool_destroy(NULL);
  free(arena);
  return check_report("test_pool");
}
