/* pool.c — the persistent thread pool that runs one plan step at a time.
 *
 * A session owns a pool of |threads| - 1 workers; the thread calling
 * ingot_session_run is the last member, so a one-thread session has no
 * workers at all.  rt_pool_run splits [0, tasks) into at most |threads|
 * contiguous chunks (the same split as kchunk() in kabi.h), publishes the
 * job by bumping a generation counter, works on chunk 0 itself and waits
 * until every worker has acknowledged the generation.
 *
 * Steps are short (microseconds), so waking threads through a condition
 * variable for every step would cost more than the work: workers and the
 * caller first spin on the atomics for a while and only then sleep (with
 * more threads than CPUs they sleep at once: a spinning thread would only
 * delay the one it waits for).  The
 * sleep/wake handshake is the usual Dekker pattern on seq_cst atomics: a
 * waiter announces itself (sleepers / caller_waiting) and then re-checks
 * the condition under the mutex; the waker changes the condition and then
 * looks for announced waiters, signalling under the mutex.
 *
 * A profiled run (profile.c) uses rt_pool_run_probed: each thread calls
 * the profiler's hooks around its own chunk.  rt_pool_run passes no probe,
 * so an unprofiled step costs one pointer test per chunk, no clock read.
 *
 * Worker threads start with every signal blocked, so the embedding
 * program's signal handlers keep running on its own threads.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

#define SPIN_ITERS 20000

struct rt_pool {
  int threads; /* workers + the caller */
  int spin;    /* busy-wait iterations before sleeping */
  pthread_t *workers;
  int started;
  pthread_mutex_t mu;
  pthread_cond_t wake, done;
  atomic_uint_fast64_t gen;
  atomic_int pending;
  atomic_int sleepers;
  atomic_int caller_waiting;
  atomic_int stop;
  /* the job of the current generation; written before gen is bumped */
  rt_prof *prof; /* NULL except in rt_pool_run_probed */
  rt_step_fn fn;
  uint8_t *arena;
  const uint8_t *weights;
  int64_t tasks, chunks;
};

typedef struct worker_arg {
  rt_pool *pool;
  int index; /* 1 .. threads-1; the caller is 0 */
} worker_arg;

static inline void cpu_relax(void) { __builtin_ia32_pause(); }

/* Step functions come from the engine's code, not from this build: clang's
 * -fsanitize=function (part of UBSan) would read a type signature in
 * front of each callee's first byte, which loaded code does not carry. */
#if defined(__clang__)
__attribute__((no_sanitize("function")))
#endif
static void call_step(rt_step_fn fn, uint8_t *arena, const uint8_t *weights,
                      int64_t t0, int64_t t1) {
  fn(arena, weights, t0, t1);
}

static int64_t chunk_begin(int64_t n, int64_t parts, int64_t i) {
  return n / parts * i + (i < n % parts ? i : n % parts);
}

/* Runs tasks [b, e) on thread |thread|, between the profiler's hooks when
 * the job is probed: the unprofiled path reads no clock. */
static void run_range(rt_prof *prof, int thread, rt_step_fn fn,
                      uint8_t *arena, const uint8_t *weights, int64_t b,
                      int64_t e) {
  if (!prof) {
    call_step(fn, arena, weights, b, e);
    return;
  }
  rt_prof_chunk_begin(prof, thread);
  call_step(fn, arena, weights, b, e);
  rt_prof_chunk_end(prof, thread, b, e);
}

static void run_chunk(rt_pool *p, int64_t i) {
  if (i >= p->chunks) return;
  int64_t b = chunk_begin(p->tasks, p->chunks, i);
  int64_t e = chunk_begin(p->tasks, p->chunks, i + 1);
  if (b < e) run_range(p->prof, (int)i, p->fn, p->arena, p->weights, b, e);
}

static uint64_t wait_generation(rt_pool *p, uint64_t seen) {
  for (int i = 0; i < p->spin; i++) {
    uint64_t g = atomic_load(&p->gen);
    if (g != seen) return g;
    cpu_relax();
  }
  pthread_mutex_lock(&p->mu);
  atomic_fetch_add(&p->sleepers, 1);
  uint64_t g;
  while ((g = atomic_load(&p->gen)) == seen) pthread_cond_wait(&p->wake, &p->mu);
  atomic_fetch_sub(&p->sleepers, 1);
  pthread_mutex_unlock(&p->mu);
  return g;
}

static void *worker_main(void *arg_) {
  worker_arg *arg = arg_;
  rt_pool *p = arg->pool;
  int64_t index = arg->index;
  free(arg);
  uint64_t seen = 0;
  for (;;) {
    seen = wait_generation(p, seen);
    if (atomic_load(&p->stop)) return NULL;
    run_chunk(p, index);
    if (atomic_fetch_sub(&p->pending, 1) == 1 &&
        atomic_load(&p->caller_waiting)) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
  }
}

int rt_cpu_count(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  int n = CPU_COUNT(&set);
  return n > 0 ? n : 1;
}

static void publish(rt_pool *p) {
  atomic_fetch_add(&p->gen, 1);
  if (atomic_load(&p->sleepers) > 0) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
  }
}

void rt_pool_destroy(rt_pool *p) {
  if (!p) return;
  if (p->started) {
    atomic_store(&p->stop, 1);
    publish(p);
    for (int i = 0; i < p->started; i++) pthread_join(p->workers[i], NULL);
  }
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  free(p->workers);
  free(p);
}

ingot_status rt_pool_create(int threads, rt_pool **out) {
  *out = NULL;
  if (threads < 1)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "thread count %d must be at least 1", threads);
  rt_pool *p = calloc(1, sizeof *p);
  if (!p) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  p->threads = threads;
  /* spinning only pays when every thread has a CPU of its own */
  p->spin = threads <= rt_cpu_count() ? SPIN_ITERS : 0;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  if (threads > 1) {
    p->workers = calloc((size_t)threads - 1, sizeof *p->workers);
    if (!p->workers) {
      rt_pool_destroy(p);
      return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
    }
  }
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int err = 0;
  for (int i = 1; i < threads && !err; i++) {
    worker_arg *a = malloc(sizeof *a);
    if (!a) {
      err = 1;
      break;
    }
    a->pool = p;
    a->index = i;
    if (pthread_create(&p->workers[i - 1], NULL, worker_main, a) != 0) {
      free(a);
      err = 1;
      break;
    }
    p->started++;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (err) {
    int started = p->started;
    rt_pool_destroy(p);
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                             "could start only %d of %d worker threads",
                             started, threads - 1);
  }
  *out = p;
  return NULL;
}

int rt_pool_threads(const rt_pool *p) { return p->threads; }

void rt_pool_run_inline(rt_step_fn fn, uint8_t *arena, const uint8_t *weights,
                        int64_t tasks) {
  call_step(fn, arena, weights, 0, tasks);
}

static void run_job(rt_pool *p, rt_prof *prof, rt_step_fn fn, uint8_t *arena,
                    const uint8_t *weights, int64_t tasks) {
  if (p->threads == 1 || tasks <= 1) {
    run_range(prof, 0, fn, arena, weights, 0, tasks);
    return;
  }
  p->prof = prof;
  p->fn = fn;
  p->arena = arena;
  p->weights = weights;
  p->tasks = tasks;
  p->chunks = tasks < p->threads ? tasks : p->threads;
  atomic_store(&p->pending, p->threads - 1);
  publish(p);
  run_chunk(p, 0);
  for (int i = 0; i < p->spin; i++) {
    if (atomic_load(&p->pending) == 0) return;
    cpu_relax();
  }
  pthread_mutex_lock(&p->mu);
  atomic_store(&p->caller_waiting, 1);
  while (atomic_load(&p->pending) != 0) pthread_cond_wait(&p->done, &p->mu);
  atomic_store(&p->caller_waiting, 0);
  pthread_mutex_unlock(&p->mu);
}

void rt_pool_run(rt_pool *p, rt_step_fn fn, uint8_t *arena,
                 const uint8_t *weights, int64_t tasks) {
  run_job(p, NULL, fn, arena, weights, tasks);
}

void rt_pool_run_probed(rt_pool *p, rt_prof *prof, rt_step_fn fn,
                        uint8_t *arena, const uint8_t *weights,
                        int64_t tasks) {
  run_job(p, prof, fn, arena, weights, tasks);
}
