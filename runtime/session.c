/* session.c — one arena, the engine's inputs and outputs, and run.
 *
 * A session owns one 64-byte aligned, zero-initialised arena of the size
 * the engine's memory plan asks for; every activation, input and output
 * lives in it at the offsets the planner chose.  Inputs are converted
 * into the arena as they are set and stay there across runs (the planner
 * never reuses an input's bytes), so a benchmark sets them once.  Running
 * calls every step of the plan in order through the session's thread pool,
 * which returns only when the step is complete: that is the barrier
 * between steps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

#define MAX_THREADS 1024

struct ingot_session {
  ingot_engine *engine;
  uint8_t *arena;
  rt_pool *pool;
  uint8_t *input_set; /* per input: set since the session was created */
  int has_run;
};

void ingot_session_destroy(ingot_session *s) {
  if (!s) return;
  rt_pool_destroy(s->pool);
  free(s->arena);
  free(s->input_set);
  ingot_engine_release(s->engine);
  free(s);
}

ingot_status ingot_session_create(ingot_engine *engine,
                                  const ingot_session_options *opt,
                                  ingot_session **out) {
  if (!engine || !out)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "ingot_session_create: NULL argument");
  *out = NULL;
  int threads = opt && opt->threads ? opt->threads : rt_cpu_count();
  if (threads < 0 || threads > MAX_THREADS)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "thread count %d outside [0, %d]", threads,
                             MAX_THREADS);
  ingot_session *s = calloc(1, sizeof *s);
  if (!s) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  rt_engine_retain(engine);
  s->engine = engine;
  uint64_t bytes = (engine->header.arena_size + 63) & ~(uint64_t)63;
  if (bytes > SIZE_MAX) bytes = SIZE_MAX & ~(uint64_t)63;
  s->arena = aligned_alloc(64, bytes ? (size_t)bytes : 64);
  s->input_set = calloc(engine->n_inputs + 1, 1);
  ingot_status st = NULL;
  if (!s->arena || !s->input_set)
    st = ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                           "no memory for an arena of %llu bytes",
                           (unsigned long long)engine->header.arena_size);
  else
    memset(s->arena, 0, (size_t)bytes);
  if (!st) st = rt_pool_create(threads, &s->pool);
  if (st) {
    ingot_session_destroy(s);
    return st;
  }
  *out = s;
  return NULL;
}

int ingot_session_thread_count(const ingot_session *s) {
  return s ? rt_pool_threads(s->pool) : 0;
}

/* Checks an I/O call; returns the tensor through |out|. */
static ingot_status check_io(const ingot_session *s, int index, int output,
                             ingot_dtype dtype, const void *data,
                             size_t nbytes, const rt_tensor **out) {
  const char *kind = output ? "output" : "input";
  if (!s)
    return ingot_make_status(INGOT_INVALID_ARGUMENT, "%s: NULL session", kind);
  const ingot_engine *e = s->engine;
  uint32_t n = output ? e->n_outputs : e->n_inputs;
  if (index < 0 || (uint32_t)index >= n)
    return ingot_make_status(INGOT_OUT_OF_RANGE,
                             "%s index %d out of range (the engine has %u)",
                             kind, index, n);
  const rt_tensor *t = &e->tensors[(output ? e->n_inputs : 0) + (uint32_t)index];
  if ((uint32_t)dtype != t->dtype && dtype != INGOT_FLOAT32)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "%s '%s' is %s; pass %s%s data, not %s", kind,
                             t->name, rt_dtype_name(t->dtype),
                             rt_dtype_name(t->dtype),
                             t->dtype == INGOT_FLOAT32 ? "" : " or float32",
                             rt_dtype_name(dtype));
  uint64_t want = t->count * rt_dtype_size(dtype);
  if (nbytes != want) {
    char shape[160] = "";
    size_t len = 0;
    for (uint32_t k = 0; k < t->rank && len < sizeof shape - 24; k++)
      len += (size_t)snprintf(shape + len, sizeof shape - len, "%s%lld",
                              k ? "x" : "", (long long)t->dims[k]);
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "%s '%s' (%s[%s]) as %s needs %llu bytes, got %zu",
                             kind, t->name, rt_dtype_name(t->dtype), shape,
                             rt_dtype_name(dtype), (unsigned long long)want,
                             nbytes);
  }
  if (!data && nbytes)
    return ingot_make_status(INGOT_INVALID_ARGUMENT, "%s '%s': data is NULL",
                             kind, t->name);
  *out = t;
  return NULL;
}

ingot_status ingot_session_set_input(ingot_session *s, int index,
                                     ingot_dtype dtype, const void *data,
                                     size_t nbytes) {
  const rt_tensor *t;
  INGOT_RETURN_IF_ERROR(check_io(s, index, 0, dtype, data, nbytes, &t));
  rt_convert_in(t, (uint32_t)dtype, data, s->arena);
  s->input_set[index] = 1;
  return NULL;
}

ingot_status ingot_session_run(ingot_session *s) {
  if (!s)
    return ingot_make_status(INGOT_INVALID_ARGUMENT, "run: NULL session");
  const ingot_engine *e = s->engine;
  for (uint32_t i = 0; i < e->n_inputs; i++)
    if (!s->input_set[i])
      return ingot_make_status(INGOT_FAILED_PRECONDITION,
                               "input '%s' has not been set",
                               e->tensors[i].name);
  for (uint32_t i = 0; i < e->n_steps; i++) {
    const rt_step *st = &e->steps[i];
    /* Waking other threads costs microseconds (far more on a busy
     * machine); a step with less work than that runs on the caller. */
    if (st->ops + st->bytes < RT_PARALLEL_MIN_WORK)
      rt_pool_run_inline(st->fn, s->arena, e->weights, st->tasks);
    else
      rt_pool_run(s->pool, st->fn, s->arena, e->weights, st->tasks);
  }
  s->has_run = 1;
  return NULL;
}

ingot_status ingot_session_get_output(ingot_session *s, int index,
                                      ingot_dtype dtype, void *data,
                                      size_t nbytes) {
  const rt_tensor *t;
  INGOT_RETURN_IF_ERROR(check_io(s, index, 1, dtype, data, nbytes, &t));
  if (!s->has_run)
    return ingot_make_status(INGOT_FAILED_PRECONDITION,
                             "output '%s' read before the session ran",
                             t->name);
  rt_convert_out(t, (uint32_t)dtype, s->arena, data);
  return NULL;
}
