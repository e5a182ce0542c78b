/* profile.c — profiled runs: per-step wall time, a timeline of which
 * thread ran which tasks, and hardware counters per step.
 *
 * A session with profiling on calls rt_prof_run instead of its own loop,
 * so the unprofiled run reads no clock at all.  Timing reads the monotonic
 * clock once per step boundary: step i lasts from stamp i to stamp i+1,
 * which makes the step times add up to the run's time.  Each step time
 * thereby contains one clock read; that cost is measured when profiling
 * starts (median of back-to-back reads) and taken off every step time, so
 * the sum of the steps matches an unprofiled run even for models whose
 * steps last a few hundred nanoseconds.  A step's quiet time is its mean
 * over the quarter of the runs with the shortest totals.  Those add up to
 * the quiet runs' mean, and they leave out interruptions by other
 * processes (which lengthen whole runs) as long as a quarter of the runs
 * escape them.  Step medians do not add up on a busy host: interruptions
 * that hit most runs hit few samples of any one step.
 *
 * Tracing and counting need the threads of the pool: a probed step
 * (rt_pool_run_probed) calls rt_prof_chunk_begin/end on the thread that
 * runs each chunk.  Chunk i always runs on thread i, so every thread
 * writes only its own slot of the step, and the pool's end-of-step
 * barrier publishes the slots to the calling thread, which turns them into
 * events and sums after the run.  Steps that run on one thread are not
 * probed for the trace: their one chunk is the step itself.
 *
 * Counters come from perf_event_open: one group (cycles, instructions,
 * cache misses; user space only) per thread, opened by that thread for
 * itself the first time it runs a counted chunk, read with one read() at
 * each end of the chunk and scaled when the kernel multiplexed the group.
 * Where the kernel refuses (no PMU in a virtual machine, perf_event_paranoid,
 * seccomp) counting is off and the summary says why; nothing fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "rt.h"

#define N_COUNTERS 3
#define ALL_FLAGS \
  (INGOT_PROFILE_TIME | INGOT_PROFILE_TRACE | INGOT_PROFILE_COUNTERS)

static const struct {
  uint64_t config;
  const char *name;
} counter_events[N_COUNTERS] = {
    {PERF_COUNT_HW_CPU_CYCLES, "cycles"},
    {PERF_COUNT_HW_INSTRUCTIONS, "instructions"},
    {PERF_COUNT_HW_CACHE_MISSES, "cache-misses"},
};

/* A group read: nr, time enabled, time running, then the values. */
typedef struct group_read {
  uint64_t nr, enabled, running, value[N_COUNTERS];
} group_read;

/* What one thread measured of its chunk of the current step. */
typedef struct slot {
  int64_t t0, t1; /* ns, when traced */
  int64_t task_begin, task_end;
  double count[N_COUNTERS];
  uint8_t ran, timed, counted;
} slot;

/* Per pool thread; written only by that thread while a step runs. */
typedef struct prof_thread {
  _Alignas(64) int fd[N_COUNTERS]; /* fd[0] leads the group; -1: none */
  int err;        /* errno of a failed open, 0 if none */
  int err_event;  /* which counter failed */
  pid_t tid;      /* the thread the group counts */
  int begin_ok;
  group_read begin;
  int64_t t0;
} prof_thread;

typedef struct event {
  int64_t run, task_begin, task_end, t0, t1;
  int32_t step;
  int16_t thread, kind;
} event;

struct rt_prof {
  unsigned flags;
  int threads;
  uint32_t n_steps;
  const rt_step *steps; /* the engine's; the session keeps it alive */
  double timer_ns; /* one clock read; < 0 until measured */
  int64_t *stamps; /* n_steps + 1 step boundaries of the current run */
  /* time: samples[run * n_steps + step], raw ns */
  int64_t *samples;
  size_t timed_runs, cap_runs;
  /* trace */
  event *events;
  size_t n_events, cap_events;
  long long traced_runs;
  int64_t epoch; /* start of the first traced run */
  /* counters */
  int counters;     /* -1 never asked, 0 off, 1 on */
  char note[320];   /* why they are off */
  double *sums;     /* n_steps * N_COUNTERS */
  long long *counted_runs; /* per step */
  long long counter_runs;
  /* the current run, read by the pool threads' hooks */
  int cur_step, run_traced, run_counted;
  slot *slots;      /* n_steps * threads */
  prof_thread *th;  /* threads */
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static ingot_status oom(const char *what) {
  return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                           "profiling: out of memory for %s (call "
                           "ingot_session_profile_reset to drop old results)",
                           what);
}

/*===--- hardware counters ------------------------------------------------===*/

static void close_counters(prof_thread *th) {
  for (int k = 0; k < N_COUNTERS; k++) {
    if (th->fd[k] >= 0) close(th->fd[k]);
    th->fd[k] = -1;
  }
}

/* Opens the group for the calling thread; on failure records errno. */
static int open_counters(prof_thread *th) {
  for (int k = 0; k < N_COUNTERS; k++) {
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_HARDWARE;
    a.config = counter_events[k].config;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    a.read_format = PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED |
                    PERF_FORMAT_TOTAL_TIME_RUNNING;
    long fd = syscall(SYS_perf_event_open, &a, 0, -1,
                      k ? th->fd[0] : -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) {
      th->err = errno ? errno : EINVAL;
      th->err_event = k;
      close_counters(th);
      return 0;
    }
    th->fd[k] = (int)fd;
  }
  th->tid = (pid_t)syscall(SYS_gettid);
  th->err = 0;
  return 1;
}

static int read_group(const prof_thread *th, group_read *out) {
  return read(th->fd[0], out, sizeof *out) == (ssize_t)sizeof *out &&
         out->nr == N_COUNTERS;
}

/* "why counters are off" for a failed open. */
static void explain(char *buf, size_t n, const prof_thread *th) {
  const char *ev = counter_events[th->err_event].name;
  const char *msg = strerror(th->err);
  switch (th->err) {
  case ENOENT: case ENODEV: case EOPNOTSUPP:
    snprintf(buf, n,
             "this CPU exposes no hardware performance counters "
             "(perf_event_open(%s): %s; a virtual machine without a "
             "virtual PMU?)",
             ev, msg);
    break;
  case EACCES: case EPERM: {
    char level[16] = "?";
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
    if (f) {
      if (!fgets(level, sizeof level, f)) snprintf(level, sizeof level, "?");
      level[strcspn(level, "\n")] = '\0';
      fclose(f);
    }
    snprintf(buf, n,
             "the kernel does not let this process count (perf_event_open"
             "(%s): %s; kernel.perf_event_paranoid is %s: 2 or lower "
             "allows it, or a seccomp filter blocks the call)",
             ev, msg, level);
    break;
  }
  case ENOSYS:
    snprintf(buf, n, "this kernel has no perf_event_open");
    break;
  default:
    snprintf(buf, n, "perf_event_open(%s): %s", ev, msg);
  }
}

/*===--- lifetime and flags -----------------------------------------------===*/

ingot_status rt_prof_create(const ingot_engine *e, int threads,
                            rt_prof **out) {
  *out = NULL;
  rt_prof *p = calloc(1, sizeof *p);
  if (!p) return oom("the profiler");
  p->threads = threads;
  p->n_steps = e->n_steps;
  p->steps = e->steps;
  p->timer_ns = -1;
  p->counters = -1;
  size_t n = e->n_steps;
  p->stamps = calloc(n + 1, sizeof *p->stamps);
  p->slots = calloc(n * (size_t)threads + 1, sizeof *p->slots);
  p->sums = calloc(n * N_COUNTERS + 1, sizeof *p->sums);
  p->counted_runs = calloc(n + 1, sizeof *p->counted_runs);
  p->th = aligned_alloc(64, (size_t)threads * sizeof *p->th);
  if (!p->stamps || !p->slots || !p->sums || !p->counted_runs || !p->th) {
    free(p->th);
    p->th = NULL;
    rt_prof_destroy(p);
    return oom("the profiler");
  }
  memset(p->th, 0, (size_t)threads * sizeof *p->th);
  for (int t = 0; t < threads; t++)
    for (int k = 0; k < N_COUNTERS; k++) p->th[t].fd[k] = -1;
  *out = p;
  return NULL;
}

void rt_prof_destroy(rt_prof *p) {
  if (!p) return;
  for (int t = 0; p->th && t < p->threads; t++) close_counters(&p->th[t]);
  free(p->th);
  free(p->stamps);
  free(p->slots);
  free(p->sums);
  free(p->counted_runs);
  free(p->samples);
  free(p->events);
  free(p);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* The cost of one clock read, as the stamps between steps pay it. */
static void measure_timer(rt_prof *p) {
  enum { N = 101 };
  int64_t d[N];
  for (int i = 0; i < 8; i++) (void)now_ns();
  for (int i = 0; i < N; i++) {
    int64_t a = now_ns();
    int64_t b = now_ns();
    d[i] = b - a;
  }
  qsort(d, N, sizeof *d, cmp_i64);
  p->timer_ns = (double)d[N / 2];
}

ingot_status rt_prof_set_flags(rt_prof *p, unsigned flags) {
  if (flags & INGOT_PROFILE_TRACE) flags |= INGOT_PROFILE_TIME;
  if ((flags & INGOT_PROFILE_TIME) && p->timer_ns < 0) measure_timer(p);
  if ((flags & INGOT_PROFILE_COUNTERS) && p->counters < 0) {
    /* Test on the calling thread: the one that will run the session. */
    p->counters = open_counters(&p->th[0]);
    if (!p->counters) explain(p->note, sizeof p->note, &p->th[0]);
  }
  p->flags = flags & ALL_FLAGS;
  return NULL;
}

void rt_prof_reset(rt_prof *p) {
  p->timed_runs = 0;
  p->n_events = 0;
  p->traced_runs = 0;
  p->counter_runs = 0;
  memset(p->sums, 0, (size_t)p->n_steps * N_COUNTERS * sizeof *p->sums);
  memset(p->counted_runs, 0, (size_t)p->n_steps * sizeof *p->counted_runs);
}

/*===--- the probes (pool threads) ----------------------------------------===*/

void rt_prof_chunk_begin(rt_prof *p, int thread) {
  prof_thread *th = &p->th[thread];
  th->begin_ok = 0;
  if (p->run_counted) {
    if (th->fd[0] < 0 && !th->err) open_counters(th);
    th->begin_ok = th->fd[0] >= 0 && read_group(th, &th->begin);
  }
  if (p->run_traced) th->t0 = now_ns();
}

void rt_prof_chunk_end(rt_prof *p, int thread, int64_t task_begin,
                       int64_t task_end) {
  int64_t t1 = p->run_traced ? now_ns() : 0;
  prof_thread *th = &p->th[thread];
  slot *s = &p->slots[(size_t)p->cur_step * (size_t)p->threads +
                      (size_t)thread];
  s->ran = 1;
  s->task_begin = task_begin;
  s->task_end = task_end;
  s->timed = (uint8_t)p->run_traced;
  s->t0 = th->t0;
  s->t1 = t1;
  group_read end;
  if (th->begin_ok && read_group(th, &end)) {
    uint64_t en = end.enabled - th->begin.enabled;
    uint64_t run = end.running - th->begin.running;
    if (run > 0) {
      /* multiplexed: scale by the share of the time the group counted */
      double scale = (double)en / (double)run;
      for (int k = 0; k < N_COUNTERS; k++)
        s->count[k] = (double)(end.value[k] - th->begin.value[k]) * scale;
      s->counted = 1;
    }
  }
}

/*===--- a profiled run ---------------------------------------------------===*/

static ingot_status reserve(rt_prof *p, int timed, int traced) {
  size_t n = p->n_steps;
  if (timed && p->timed_runs == p->cap_runs) {
    size_t cap = p->cap_runs ? p->cap_runs * 2 : 64;
    if (n && cap > SIZE_MAX / sizeof(int64_t) / n) return oom("step times");
    int64_t *v = realloc(p->samples, cap * n * sizeof *v + 1);
    if (!v) return oom("step times");
    p->samples = v;
    p->cap_runs = cap;
  }
  /* a run, its steps, and at most one chunk per thread and step */
  size_t need = 1 + n * (1 + (size_t)p->threads);
  if (traced && p->cap_events - p->n_events < need) {
    size_t cap = p->cap_events ? p->cap_events : 1024;
    while (cap - p->n_events < need) {
      if (cap > SIZE_MAX / 2 / sizeof(event)) return oom("trace events");
      cap *= 2;
    }
    event *v = realloc(p->events, cap * sizeof *v);
    if (!v) return oom("trace events");
    p->events = v;
    p->cap_events = cap;
  }
  return NULL;
}

static void add_event(rt_prof *p, int kind, int step, int thread,
                      int64_t t0, int64_t t1, int64_t b, int64_t e) {
  event *ev = &p->events[p->n_events++];
  ev->run = p->traced_runs;
  ev->kind = (int16_t)kind;
  ev->step = step;
  ev->thread = (int16_t)thread;
  ev->t0 = t0;
  ev->t1 = t1;
  ev->task_begin = b;
  ev->task_end = e;
}

/* Turns the stamps and slots of the finished run into results. */
static void record(rt_prof *p, const ingot_engine *e, int timed) {
  uint32_t n = p->n_steps;
  const int64_t *t = p->stamps;
  if (timed) {
    int64_t *row = p->samples + p->timed_runs * n;
    for (uint32_t i = 0; i < n; i++) row[i] = t[i + 1] - t[i];
    p->timed_runs++;
  }
  if (p->run_traced) {
    if (p->traced_runs == 0) p->epoch = t[0];
    add_event(p, INGOT_EVENT_RUN, -1, 0, t[0], t[n], 0, 0);
    for (uint32_t i = 0; i < n; i++) {
      add_event(p, INGOT_EVENT_STEP, (int)i, 0, t[i], t[i + 1], 0,
                e->steps[i].tasks);
      int chunks = 0;
      for (int k = 0; k < p->threads; k++) {
        const slot *s = &p->slots[(size_t)i * (size_t)p->threads + (size_t)k];
        if (!s->ran || !s->timed) continue;
        add_event(p, INGOT_EVENT_CHUNK, (int)i, k, s->t0, s->t1,
                  s->task_begin, s->task_end);
        chunks++;
      }
      if (!chunks) /* ran whole on the calling thread, unprobed */
        add_event(p, INGOT_EVENT_CHUNK, (int)i, 0, t[i], t[i + 1], 0,
                  e->steps[i].tasks);
    }
    p->traced_runs++;
  }
  if (p->run_counted) {
    for (uint32_t i = 0; i < n; i++) {
      const slot *s = &p->slots[(size_t)i * (size_t)p->threads];
      double sum[N_COUNTERS] = {0};
      int ran = 0, complete = 1;
      for (int k = 0; k < p->threads; k++) {
        if (!s[k].ran) continue;
        ran = 1;
        if (!s[k].counted) complete = 0;
        for (int c = 0; c < N_COUNTERS; c++) sum[c] += s[k].count[c];
      }
      if (!ran || !complete) continue;
      for (int c = 0; c < N_COUNTERS; c++)
        p->sums[i * N_COUNTERS + c] += sum[c];
      p->counted_runs[i]++;
    }
    p->counter_runs++;
    for (int k = 1; k < p->threads && !p->note[0]; k++)
      if (p->th[k].err) {
        char why[256];
        explain(why, sizeof why, &p->th[k]);
        snprintf(p->note, sizeof p->note,
                 "counts incomplete: worker %d cannot count: %s", k, why);
      }
  }
}

ingot_status rt_prof_run(rt_prof *p, const ingot_engine *e, rt_pool *pool,
                         uint8_t *arena) {
  unsigned f = p->flags;
  int timed = (f & INGOT_PROFILE_TIME) != 0;
  p->run_traced = (f & INGOT_PROFILE_TRACE) != 0;
  p->run_counted = (f & INGOT_PROFILE_COUNTERS) && p->counters == 1;
  INGOT_RETURN_IF_ERROR(reserve(p, timed, p->run_traced));
  if (p->run_counted) {
    /* a session may move between threads: count the one running it */
    prof_thread *th = &p->th[0];
    if (th->fd[0] >= 0 && th->tid != (pid_t)syscall(SYS_gettid))
      close_counters(th);
  }
  if (p->run_traced || p->run_counted)
    memset(p->slots, 0,
           (size_t)p->n_steps * (size_t)p->threads * sizeof *p->slots);
  int64_t *t = p->stamps;
  if (timed) t[0] = now_ns();
  for (uint32_t i = 0; i < e->n_steps; i++) {
    const rt_step *st = &e->steps[i];
    int probe = p->run_counted ||
                (p->run_traced && rt_step_threads(st, p->threads) > 1);
    p->cur_step = (int)i;
    if (rt_step_inline(st)) {
      if (probe) rt_prof_chunk_begin(p, 0);
      rt_pool_run_inline(st->fn, arena, e->weights, st->tasks);
      if (probe) rt_prof_chunk_end(p, 0, 0, st->tasks);
    } else if (probe) {
      rt_pool_run_probed(pool, p, st->fn, arena, e->weights, st->tasks);
    } else {
      rt_pool_run(pool, st->fn, arena, e->weights, st->tasks);
    }
    if (timed) t[i + 1] = now_ns();
  }
  record(p, e, timed);
  return NULL;
}

void rt_prof_counters_off(rt_prof *p, const char *why) {
  p->counters = 0;
  snprintf(p->note, sizeof p->note, "%s", why);
}

ingot_status rt_prof_run_timed_by(rt_prof *p, const ingot_engine *e,
                                  ingot_status (*run)(void *ctx,
                                                      int64_t *stamps),
                                  void *ctx) {
  unsigned f = p->flags;
  int timed = (f & INGOT_PROFILE_TIME) != 0;
  p->run_traced = (f & INGOT_PROFILE_TRACE) != 0;
  p->run_counted = 0;
  p->timer_ns = 0; /* the stamps are not clock reads of this thread */
  INGOT_RETURN_IF_ERROR(reserve(p, timed, p->run_traced));
  if (p->run_traced)
    memset(p->slots, 0,
           (size_t)p->n_steps * (size_t)p->threads * sizeof *p->slots);
  int64_t t0 = now_ns();
  INGOT_RETURN_IF_ERROR(run(ctx, p->stamps));
  /* On the host clock from the run's start, so traces of several runs
   * line up one after another. */
  for (uint32_t i = 0; i <= e->n_steps; i++) p->stamps[i] += t0;
  record(p, e, timed);
  return NULL;
}

/*===--- results ----------------------------------------------------------===*/

void rt_prof_summary(const rt_prof *p, ingot_profile_summary *out) {
  out->timed_runs = (long long)p->timed_runs;
  out->traced_runs = p->traced_runs;
  out->counter_runs = p->counter_runs;
  out->timer_overhead_ns = p->timer_ns > 0 ? p->timer_ns : 0;
  out->counters = p->counters == 1;
  /* on: "" or why some counts are missing; off: why */
  out->counters_note =
      p->counters < 0 ? "not asked for (INGOT_PROFILE_COUNTERS)" : p->note;
  out->events = p->n_events;
}

typedef struct {
  int64_t total;
  size_t run;
} run_total;

static int cmp_run_total(const void *a, const void *b) {
  const run_total *x = a, *y = b;
  if (x->total != y->total) return x->total < y->total ? -1 : 1;
  return x->run < y->run ? -1 : x->run > y->run;
}

/* The mean of |v| (one step's times, in run order) over the quarter of
 * the runs (at least one) with the shortest totals; the plain mean when
 * out of memory.  The totals are sums of the corrected step times, so the
 * steps' results add up to the mean total of those runs. */
static double quiet_ns(const rt_prof *p, const int64_t *v) {
  size_t n = p->timed_runs, m = p->n_steps;
  run_total *r = malloc(n * sizeof *r);
  size_t hi = n; /* the runs [0, hi) of r, or all when out of memory */
  if (r) {
    int64_t timer = (int64_t)(p->timer_ns + 0.5);
    for (size_t k = 0; k < n; k++) {
      int64_t t = 0;
      for (size_t i = 0; i < m; i++) {
        int64_t x = p->samples[k * m + i] - timer;
        t += x > 0 ? x : 0;
      }
      r[k] = (run_total){t, k};
    }
    qsort(r, n, sizeof *r, cmp_run_total);
    hi = n / 4 ? n / 4 : 1;
  }
  double sum = 0;
  for (size_t k = 0; k < hi; k++) sum += (double)v[r ? r[k].run : k];
  free(r);
  return sum / (double)hi;
}

ingot_status rt_prof_step(const rt_prof *p, int step, ingot_step_profile *out) {
  memset(out, 0, sizeof *out);
  out->runs = (long long)p->timed_runs;
  out->threads = rt_step_threads(&p->steps[step], p->threads);
  out->counter_runs = p->counted_runs[step];
  if (out->counter_runs) {
    const double *s = &p->sums[(size_t)step * N_COUNTERS];
    out->cycles = s[0] / (double)out->counter_runs;
    out->instructions = s[1] / (double)out->counter_runs;
    out->cache_misses = s[2] / (double)out->counter_runs;
  }
  if (!p->timed_runs) return NULL;
  size_t n = p->timed_runs;
  int64_t *v = malloc(n * sizeof *v);
  if (!v) return oom("step statistics");
  for (size_t r = 0; r < n; r++) {
    int64_t x = p->samples[r * p->n_steps + (size_t)step] -
                (int64_t)(p->timer_ns + 0.5);
    v[r] = x > 0 ? x : 0;
  }
  out->quiet_us = quiet_ns(p, v) * 1e-3;
  qsort(v, n, sizeof *v, cmp_i64);
  double sum = 0;
  for (size_t r = 0; r < n; r++) sum += (double)v[r];
  double med = n % 2 ? (double)v[n / 2]
                     : 0.5 * ((double)v[n / 2 - 1] + (double)v[n / 2]);
  out->min_us = (double)v[0] * 1e-3;
  out->max_us = (double)v[n - 1] * 1e-3;
  out->median_us = med * 1e-3;
  out->mean_us = sum / (double)n * 1e-3;
  free(v);
  return NULL;
}

ingot_status rt_prof_event(const rt_prof *p, size_t index,
                           ingot_profile_event *out) {
  if (index >= p->n_events)
    return ingot_make_status(INGOT_OUT_OF_RANGE,
                             "profile event %zu out of range (%zu recorded)",
                             index, p->n_events);
  const event *ev = &p->events[index];
  out->kind = (ingot_event_kind)ev->kind;
  out->step = ev->step;
  out->thread = ev->thread;
  out->run = ev->run;
  out->task_begin = ev->task_begin;
  out->task_end = ev->task_end;
  out->start_us = (double)(ev->t0 - p->epoch) * 1e-3;
  out->duration_us = (double)(ev->t1 - ev->t0) * 1e-3;
  return NULL;
}
