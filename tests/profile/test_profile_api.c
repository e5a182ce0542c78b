/* test_profile_api.c — the runtime's profiling API on a real engine.
 *
 * usage: test_profile_api ENGINE
 *
 * This program defines clock_gettime itself, so libingot_rt (linked
 * statically) calls this counting version: a run with profiling off must
 * read no clock at all, a timed run one per step boundary.  Then: step
 * statistics are ordered and cover every run; a trace has one run event
 * and one step event per step per run, steps tile the run, and on two
 * threads the chunks of every step cover its tasks exactly once; counters
 * are either on with counts or off with a reason; results outlive turning
 * profiling off and go on reset; misuse is an error, never a crash.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../check.h"
#include "ingot/ingot.h"

static long clock_reads;

int clock_gettime(clockid_t id, struct timespec *ts) {
  clock_reads++;
  return (int)syscall(SYS_clock_gettime, id, ts);
}

static ingot_session *open_session(ingot_engine *e, int threads) {
  ingot_session_options opt = {.threads = threads};
  ingot_session *s = NULL;
  CHECK_OK(ingot_session_create(e, &opt, &s));
  if (!s) return NULL;
  for (int i = 0; i < ingot_engine_input_count(e); i++) {
    ingot_tensor_info info;
    CHECK_OK(ingot_engine_input_info(e, i, &info));
    void *buf = calloc(info.nbytes + 1, 1);
    CHECK_OK(ingot_session_set_input(s, i, info.dtype, buf, info.nbytes));
    free(buf);
  }
  return s;
}

static void test_zero_overhead(ingot_session *s, int steps) {
  for (int i = 0; i < 3; i++) CHECK_OK(ingot_session_run(s));
  clock_reads = 0;
  for (int i = 0; i < 50; i++) CHECK_OK(ingot_session_run(s));
  CHECK(clock_reads == 0);
  /* off again after being on: back to the plain loop */
  CHECK_OK(ingot_session_set_profiling(s, INGOT_PROFILE_TIME));
  clock_reads = 0;
  CHECK_OK(ingot_session_run(s));
  CHECK(clock_reads == steps + 1);
  CHECK_OK(ingot_session_set_profiling(s, 0));
  clock_reads = 0;
  for (int i = 0; i < 20; i++) CHECK_OK(ingot_session_run(s));
  CHECK(clock_reads == 0);
  ingot_session_profile_reset(s);
}

static void test_times(ingot_session *s, int steps) {
  enum { RUNS = 40 };
  CHECK_OK(ingot_session_set_profiling(s, INGOT_PROFILE_TIME));
  for (int i = 0; i < RUNS; i++) CHECK_OK(ingot_session_run(s));
  CHECK_OK(ingot_session_set_profiling(s, 0));
  CHECK_OK(ingot_session_run(s)); /* not recorded */
  ingot_profile_summary sm;
  CHECK_OK(ingot_session_profile_summary(s, &sm));
  CHECK(sm.timed_runs == RUNS);
  CHECK(sm.traced_runs == 0 && sm.events == 0);
  CHECK(sm.timer_overhead_ns > 0 && sm.timer_overhead_ns < 1e6);
  double total = 0;
  for (int i = 0; i < steps; i++) {
    ingot_step_profile p;
    CHECK_OK(ingot_session_step_profile(s, i, &p));
    CHECK(p.runs == RUNS);
    CHECK(p.threads == 1);
    CHECK(p.min_us >= 0 && p.min_us <= p.median_us);
    CHECK(p.min_us <= p.quiet_us && p.quiet_us <= p.max_us);
    CHECK(p.median_us <= p.max_us && p.min_us <= p.mean_us &&
          p.mean_us <= p.max_us);
    total += p.median_us;
  }
  CHECK(total > 0);
  ingot_session_profile_reset(s);
  CHECK_OK(ingot_session_profile_summary(s, &sm));
  CHECK(sm.timed_runs == 0);
  ingot_step_profile p;
  CHECK_OK(ingot_session_step_profile(s, 0, &p));
  CHECK(p.runs == 0 && p.median_us == 0);
}

/* Trace on |threads| threads: checks the structure of every run. */
static void test_trace(ingot_engine *e, int threads) {
  enum { RUNS = 6 };
  ingot_session *s = open_session(e, threads);
  if (!s) return;
  int steps = 0;
  ingot_engine_info info;
  ingot_engine_get_info(e, &info);
  steps = info.step_count;
  CHECK_OK(ingot_session_set_profiling(s, INGOT_PROFILE_TRACE));
  for (int i = 0; i < RUNS; i++) CHECK_OK(ingot_session_run(s));
  ingot_profile_summary sm;
  CHECK_OK(ingot_session_profile_summary(s, &sm));
  CHECK(sm.traced_runs == RUNS && sm.timed_runs == RUNS);
  long long *covered = calloc((size_t)steps * RUNS + 1, sizeof *covered);
  double *step_end = calloc((size_t)RUNS + 1, sizeof *step_end);
  int run_events = 0, step_events = 0;
  for (size_t k = 0; k < sm.events; k++) {
    ingot_profile_event ev;
    CHECK_OK(ingot_session_profile_event(s, k, &ev));
    CHECK(ev.run >= 0 && ev.run < RUNS);
    CHECK(ev.duration_us >= 0 && ev.start_us >= 0);
    CHECK(ev.thread >= 0 && ev.thread < threads);
    if (ev.run < 0 || ev.run >= RUNS) continue;
    if (ev.kind == INGOT_EVENT_RUN) {
      run_events++;
      CHECK(ev.step == -1 && ev.thread == 0);
      step_end[ev.run] = ev.start_us;
    } else if (ev.kind == INGOT_EVENT_STEP) {
      step_events++;
      CHECK(ev.thread == 0);
      /* steps follow each other without gaps (shared stamps) */
      CHECK(ev.start_us - step_end[ev.run] < 1e-3 &&
            step_end[ev.run] - ev.start_us < 1e-3);
      step_end[ev.run] = ev.start_us + ev.duration_us;
    } else {
      CHECK(ev.kind == INGOT_EVENT_CHUNK);
      CHECK(ev.step >= 0 && ev.step < steps);
      ingot_step_info si;
      CHECK_OK(ingot_engine_step_info(e, ev.step, &si));
      CHECK(0 <= ev.task_begin && ev.task_begin < ev.task_end &&
            ev.task_end <= si.tasks);
      covered[ev.run * steps + ev.step] += ev.task_end - ev.task_begin;
    }
  }
  CHECK(run_events == RUNS);
  CHECK(step_events == RUNS * steps);
  int split = 0;
  for (int i = 0; i < steps; i++) {
    ingot_step_info si;
    ingot_step_profile p;
    CHECK_OK(ingot_engine_step_info(e, i, &si));
    CHECK_OK(ingot_session_step_profile(s, i, &p));
    split += p.threads > 1;
    for (int r = 0; r < RUNS; r++) CHECK(covered[r * steps + i] == si.tasks);
  }
  if (threads > 1) CHECK(split > 0); /* the conv steps are split */
  ingot_profile_event ev;
  ingot_status bad = ingot_session_profile_event(s, sm.events, &ev);
  CHECK(ingot_status_code_of(bad) == INGOT_OUT_OF_RANGE);
  ingot_status_free(bad);
  free(covered);
  free(step_end);
  ingot_session_destroy(s);
}

static void test_counters(ingot_session *s, int steps) {
  CHECK_OK(ingot_session_set_profiling(s, INGOT_PROFILE_COUNTERS));
  for (int i = 0; i < 5; i++) CHECK_OK(ingot_session_run(s));
  CHECK_OK(ingot_session_set_profiling(s, 0));
  ingot_profile_summary sm;
  CHECK_OK(ingot_session_profile_summary(s, &sm));
  CHECK(sm.timed_runs == 0); /* counting alone reads no clock */
  if (sm.counters) {
    CHECK(sm.counter_runs == 5);
    double cycles = 0, instructions = 0;
    for (int i = 0; i < steps; i++) {
      ingot_step_profile p;
      CHECK_OK(ingot_session_step_profile(s, i, &p));
      cycles += p.cycles;
      instructions += p.instructions;
    }
    CHECK(cycles > 0 && instructions > 0);
    printf("counters on: %.0f cycles, %.0f instructions per run\n", cycles,
           instructions);
  } else {
    CHECK(sm.counters_note && strstr(sm.counters_note, "perf_event_open"));
    printf("counters off: %s\n", sm.counters_note);
  }
  ingot_session_profile_reset(s);
}

static void test_misuse(ingot_session *s, int steps) {
  ingot_status st = ingot_session_set_profiling(s, 64);
  CHECK(ingot_status_code_of(st) == INGOT_INVALID_ARGUMENT);
  ingot_status_free(st);
  st = ingot_session_set_profiling(NULL, INGOT_PROFILE_TIME);
  CHECK(ingot_status_code_of(st) == INGOT_INVALID_ARGUMENT);
  ingot_status_free(st);
  ingot_step_profile p;
  st = ingot_session_step_profile(s, steps, &p);
  CHECK(ingot_status_code_of(st) == INGOT_OUT_OF_RANGE);
  ingot_status_free(st);
  st = ingot_session_step_profile(s, -1, &p);
  CHECK(ingot_status_code_of(st) == INGOT_OUT_OF_RANGE);
  ingot_status_free(st);
  st = ingot_session_profile_summary(s, NULL);
  CHECK(ingot_status_code_of(st) == INGOT_INVALID_ARGUMENT);
  ingot_status_free(st);
  ingot_session_profile_reset(NULL);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_profile_api ENGINE\n");
    return 2;
  }
  ingot_engine *e = NULL;
  CHECK_OK(ingot_engine_load_file(argv[1], &e));
  if (!e) return check_report("test_profile_api");
  ingot_engine_info info;
  ingot_engine_get_info(e, &info);
  ingot_session *s = open_session(e, 1);
  if (s) {
    /* before profiling was ever on: empty results, not errors */
    ingot_profile_summary sm;
    CHECK_OK(ingot_session_profile_summary(s, &sm));
    CHECK(sm.timed_runs == 0 && sm.events == 0 && !sm.counters);
    test_misuse(s, info.step_count);
    test_zero_overhead(s, info.step_count);
    test_times(s, info.step_count);
    test_counters(s, info.step_count);
    ingot_session_destroy(s);
  }
  test_trace(e, 1);
  test_trace(e, 2);
  ingot_engine_release(e);
  return check_report("test_profile_api");
}
