/* session.c — one arena, the engine's inputs and outputs, and run.
 *
 * A session owns one 64-byte aligned, zero-initialised arena of the size
 * the engine's memory plan asks for; every activation, input and output
 * lives in it at the offsets the planner chose.  Inputs are converted
 * into the arena as they are set and stay there across runs (the planner
 * never reuses an input's bytes), so a benchmark sets them once.  Running
 * calls every step of the plan in order through the session's thread pool,
 * which returns only when the step is complete: that is the barrier
 * between steps.  With profiling on, profile.c runs the steps instead
 * (ingot_session_run tests one flag word; the loop here reads no clock).
 *
 * Keeping tensors (ingot_session_keep_tensors) runs the same loop and,
 * after each step, copies the mapped tensors (TENSOR_MAP) that step
 * completes into one snapshot buffer, in arena order and layout; reading
 * one converts it like an output.  Copying at the step that completes a
 * tensor is what makes it exact: later steps may reuse its bytes.
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
  unsigned profiling; /* INGOT_PROFILE_* flags of the next run */
  rt_prof *prof;      /* results; NULL until profiling is first set */
  /* keep_tensors: snap[i] is map entry i with its offset in |kept|;
   * order[] lists the entries by ready step: the inputs are
   * order[step_first[0], step_first[1]), the tensors step k completes
   * order[step_first[k + 1], step_first[k + 2]). */
  uint8_t *kept;
  rt_tensor *snap;
  uint32_t *order, *step_first;
  int kept_valid;
  rt_cuda *cuda; /* INGOT_DEVICE_CUDA: the GPU runs the steps */
};

static void keep_free(ingot_session *s) {
  free(s->kept);
  free(s->snap);
  free(s->order);
  free(s->step_first);
  s->kept = NULL;
  s->snap = NULL;
  s->order = s->step_first = NULL;
  s->kept_valid = 0;
}

void ingot_session_destroy(ingot_session *s) {
  if (!s) return;
  keep_free(s);
  rt_cuda_destroy(s->cuda);
  rt_prof_destroy(s->prof);
  rt_pool_destroy(s->pool);
  free(s->arena);
  free(s->input_set);
  ingot_engine_release(s->engine);
  free(s);
}

ingot_status ingot_session_create(ingot_engine *engine,
                                  const ingot_session_options *opt,
                                  ingot_session **out) {
  return ingot_session_create_on(engine, opt, INGOT_DEVICE_CPU, 0, out);
}

ingot_status ingot_session_create_on(ingot_engine *engine,
                                     const ingot_session_options *opt,
                                     int device, int device_index,
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
  if (!st && device == INGOT_DEVICE_CUDA)
    st = rt_cuda_create(engine, device_index, &s->cuda);
  else if (!st && device != INGOT_DEVICE_CPU)
    st = ingot_make_status(INGOT_INVALID_ARGUMENT, "unknown device %d",
                           device);
  if (st) {
    ingot_session_destroy(s);
    return st;
  }
  *out = s;
  return NULL;
}

const char *ingot_session_device_code(const ingot_session *s) {
  return s && s->cuda ? rt_cuda_code(s->cuda) : NULL;
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

static void run_step(ingot_session *s, const rt_step *st) {
  const ingot_engine *e = s->engine;
  /* Waking other threads costs microseconds (far more on a busy
   * machine); a step with less work than that runs on the caller. */
  if (rt_step_inline(st))
    rt_pool_run_inline(st->fn, s->arena, e->weights, st->tasks);
  else
    rt_pool_run(s->pool, st->fn, s->arena, e->weights, st->tasks);
}

static void copy_kept(ingot_session *s, uint32_t from, uint32_t to) {
  const ingot_engine *e = s->engine;
  for (uint32_t j = from; j < to; j++) {
    uint32_t i = s->order[j];
    memcpy(s->kept + s->snap[i].arena_offset,
           s->arena + e->map[i].t.arena_offset, (size_t)s->snap[i].arena_bytes);
  }
}

static void run_keeping(ingot_session *s) {
  const ingot_engine *e = s->engine;
  const uint32_t *start = s->step_first;
  copy_kept(s, start[0], start[1]); /* the inputs */
  for (uint32_t i = 0; i < e->n_steps; i++) {
    run_step(s, &e->steps[i]);
    copy_kept(s, start[i + 1], start[i + 2]);
  }
  s->kept_valid = 1;
}

static ingot_status cuda_run_timed(void *ctx, int64_t *stamps) {
  ingot_session *s = ctx;
  return rt_cuda_run(s->cuda, s->arena, stamps);
}

ingot_status ingot_session_set_cuda_graph(ingot_session *s, int on) {
  if (!s)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "set_cuda_graph: NULL session");
  if (!s->cuda)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "CUDA Graphs are for CUDA sessions; this "
                             "session runs on the CPU");
  return rt_cuda_set_graph(s->cuda, on);
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
  if (s->cuda) {
    if (s->kept)
      return ingot_make_status(INGOT_UNIMPLEMENTED,
                               "CUDA sessions do not keep intermediate "
                               "tensors yet");
    if (s->profiling)
      INGOT_RETURN_IF_ERROR(
          rt_prof_run_timed_by(s->prof, e, cuda_run_timed, s));
    else
      INGOT_RETURN_IF_ERROR(rt_cuda_run(s->cuda, s->arena, NULL));
    s->has_run = 1;
    return NULL;
  }
  if (s->kept) {
    run_keeping(s);
    s->has_run = 1;
    return NULL;
  }
  if (s->profiling) {
    INGOT_RETURN_IF_ERROR(rt_prof_run(s->prof, e, s->pool, s->arena));
    s->has_run = 1;
    return NULL;
  }
  for (uint32_t i = 0; i < e->n_steps; i++) run_step(s, &e->steps[i]);
  s->has_run = 1;
  return NULL;
}

/*===--- profiling (the work is in profile.c) -----------------------------===*/

ingot_status ingot_session_set_profiling(ingot_session *s, unsigned flags) {
  if (!s)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "set_profiling: NULL session");
  unsigned known =
      INGOT_PROFILE_TIME | INGOT_PROFILE_TRACE | INGOT_PROFILE_COUNTERS;
  if (flags & ~known)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "set_profiling: unknown flags 0x%x",
                             flags & ~known);
  if (flags && !s->prof) {
    INGOT_RETURN_IF_ERROR(
        rt_prof_create(s->engine, rt_pool_threads(s->pool), &s->prof));
    if (s->cuda)
      rt_prof_counters_off(s->prof, "hardware counters count CPU threads; "
                                    "a CUDA session's steps run on the GPU");
  }
  if (s->cuda) flags &= ~(unsigned)INGOT_PROFILE_COUNTERS;
  if (s->prof) INGOT_RETURN_IF_ERROR(rt_prof_set_flags(s->prof, flags));
  s->profiling = flags;
  return NULL;
}

void ingot_session_profile_reset(ingot_session *s) {
  if (s && s->prof) rt_prof_reset(s->prof);
}

ingot_status ingot_session_profile_summary(const ingot_session *s,
                                           ingot_profile_summary *out) {
  if (!s || !out)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "profile summary: NULL argument");
  memset(out, 0, sizeof *out);
  out->counters_note = "profiling was never turned on";
  if (s->prof) rt_prof_summary(s->prof, out);
  return NULL;
}

ingot_status ingot_session_step_profile(const ingot_session *s, int step,
                                        ingot_step_profile *out) {
  if (!s || !out)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "step profile: NULL argument");
  if (step < 0 || (uint32_t)step >= s->engine->n_steps)
    return ingot_make_status(INGOT_OUT_OF_RANGE,
                             "step index %d out of range (the plan has %u)",
                             step, s->engine->n_steps);
  if (!s->prof) {
    memset(out, 0, sizeof *out);
    out->threads = rt_step_threads(&s->engine->steps[step],
                                   rt_pool_threads(s->pool));
    return NULL;
  }
  return rt_prof_step(s->prof, step, out);
}

ingot_status ingot_session_profile_event(const ingot_session *s, size_t index,
                                         ingot_profile_event *out) {
  if (!s || !out)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "profile event: NULL argument");
  if (!s->prof)
    return ingot_make_status(INGOT_OUT_OF_RANGE,
                             "profile event %zu: nothing was recorded", index);
  return rt_prof_event(s->prof, index, out);
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

/*===--- intermediate tensors ---------------------------------------------===*/

ingot_status ingot_session_keep_tensors(ingot_session *s, int on) {
  if (!s)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "keep_tensors: NULL session");
  keep_free(s);
  if (!on) return NULL;
  const ingot_engine *e = s->engine;
  uint32_t n = e->n_map, steps = e->n_steps;
  uint64_t total = 0;
  for (uint32_t i = 0; i < n; i++)
    total += (e->map[i].t.arena_bytes + 63) & ~(uint64_t)63;
  if (total > SIZE_MAX / 2)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                             "keep_tensors: %llu bytes of tensors",
                             (unsigned long long)total);
  s->kept = malloc(total ? (size_t)total : 64);
  s->snap = calloc(n + 1, sizeof *s->snap);
  s->order = calloc(n + 1, sizeof *s->order);
  s->step_first = calloc((size_t)steps + 2, sizeof *s->step_first);
  if (!s->kept || !s->snap || !s->order || !s->step_first) {
    keep_free(s);
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                             "keep_tensors: no memory for %llu bytes of "
                             "tensors",
                             (unsigned long long)total);
  }
  /* Counting sort by ready step: slot 0 holds the inputs, slot k + 1 the
   * tensors step k completes; slot j is order[start[j], start[j + 1]). */
  uint32_t *start = s->step_first, *pos = calloc((size_t)steps + 2, sizeof *pos);
  if (!pos) {
    keep_free(s);
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  }
  for (uint32_t i = 0; i < n; i++) {
    uint32_t r = e->map[i].ready_step;
    start[(r == INGOT_TENSOR_READY_INPUT ? 0 : r + 1) + 1]++;
  }
  for (uint32_t j = 1; j <= steps + 1; j++) start[j] += start[j - 1];
  memcpy(pos, start, ((size_t)steps + 2) * sizeof *pos);
  uint64_t off = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t r = e->map[i].ready_step;
    s->order[pos[r == INGOT_TENSOR_READY_INPUT ? 0 : r + 1]++] = i;
    s->snap[i] = e->map[i].t;
    s->snap[i].arena_offset = off;
    off += (e->map[i].t.arena_bytes + 63) & ~(uint64_t)63;
  }
  free(pos);
  return NULL;
}

ingot_status ingot_session_read_tensor(ingot_session *s, int index,
                                       ingot_dtype dtype, void *data,
                                       size_t nbytes) {
  if (!s)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "read_tensor: NULL session");
  const ingot_engine *e = s->engine;
  if (index < 0 || (uint32_t)index >= e->n_map)
    return ingot_make_status(INGOT_OUT_OF_RANGE,
                             "tensor index %d out of range (the engine maps "
                             "%u tensors)",
                             index, e->n_map);
  const rt_tensor *t = &e->map[index].t;
  if (!s->kept || !s->kept_valid)
    return ingot_make_status(INGOT_FAILED_PRECONDITION,
                             "tensor '%s': no run since "
                             "ingot_session_keep_tensors turned keeping on",
                             t->name);
  if ((uint32_t)dtype != t->stored_dtype && dtype != INGOT_FLOAT32)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "tensor '%s' is %s; read it as %s or float32, "
                             "not %s",
                             t->name, rt_dtype_name(t->stored_dtype),
                             rt_dtype_name(t->stored_dtype),
                             rt_dtype_name(dtype));
  uint64_t want = t->count * rt_dtype_size(dtype);
  if (nbytes != want || (!data && nbytes))
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "tensor '%s' as %s needs %llu bytes, got %zu",
                             t->name, rt_dtype_name(dtype),
                             (unsigned long long)want, nbytes);
  rt_convert_out(&s->snap[index], (uint32_t)dtype, s->kept, data);
  return NULL;
}
