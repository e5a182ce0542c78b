/* ingot.h — the public C API of libingot_rt.
 *
 * This header is the whole contract between a product and the Ingot
 * runtime: load an engine file built by `ingot build`, query its inputs and
 * outputs, create a session, set inputs, run, read outputs.  It depends on
 * nothing but the C standard library, and so does libingot_rt (plus libm,
 * pthread and libdl).
 *
 * Ownership and threads.  An ingot_engine is immutable after loading and
 * may be shared by any number of threads; it owns the mapped code and
 * weights.  An ingot_session holds one arena and the I/O buffers and is
 * used by one thread at a time; create one per caller thread.  Functions
 * named _create/_load return owned objects, freed by the matching
 * _destroy/_release; everything returned through an out-pointer that is
 * not an object (names, infos) is borrowed from the engine and lives as
 * long as it does.
 *
 * Statuses.  A function that can fail returns an |ingot_status|.  NULL means
 * success (so checking is one compare); anything else is an owned object that
 * carries a code and a human-readable message naming the file, node or tensor
 * and the reason.  The caller frees it with ingot_status_free() (or passes it
 * up).  A status never aborts the process.
 */
#ifndef INGOT_INGOT_H
#define INGOT_INGOT_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ingot_status_code {
  INGOT_OK = 0,
  INGOT_INVALID_ARGUMENT = 1,   /* the caller passed something wrong */
  INGOT_DATA_LOSS = 2,          /* a file is truncated or corrupt */
  INGOT_INCOMPATIBLE = 3,       /* version, feature or target mismatch */
  INGOT_UNIMPLEMENTED = 4,      /* valid input that Ingot does not support */
  INGOT_RESOURCE_EXHAUSTED = 5, /* out of memory or over a size limit */
  INGOT_OUT_OF_RANGE = 6,       /* an index or value outside its range */
  INGOT_INTERNAL = 7,           /* a bug in Ingot */
  INGOT_NOT_FOUND = 8,          /* a named file, tensor or node is absent */
  INGOT_FAILED_PRECONDITION = 9 /* needs something not available yet */
} ingot_status_code;

typedef struct ingot_status_object *ingot_status;

#if defined(__GNUC__) || defined(__clang__)
#define INGOT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define INGOT_PRINTF(f, a)
#endif

/* Makes a status with |code| and a printf-formatted message.  Never returns
 * NULL for a code other than INGOT_OK: when memory is short it returns a
 * static status that carries the code and a fixed message. */
ingot_status ingot_make_status(ingot_status_code code, const char *fmt, ...)
    INGOT_PRINTF(2, 3);
ingot_status ingot_make_status_v(ingot_status_code code, const char *fmt,
                                 va_list ap);

/* Prefixes the message of |s| with a formatted context ("file.onnx: ").
 * Returns |s| (possibly reallocated); NULL stays NULL. */
ingot_status ingot_status_annotate(ingot_status s, const char *fmt, ...)
    INGOT_PRINTF(2, 3);

static inline int ingot_ok(ingot_status s) { return s == NULL; }
ingot_status_code ingot_status_code_of(ingot_status s);
/* Borrowed; valid until the status is freed.  "OK" for NULL. */
const char *ingot_status_message(ingot_status s);
const char *ingot_status_code_name(ingot_status_code code);
void ingot_status_free(ingot_status s);

/*===------------------------------------------------------------------===*/
/* Engines and sessions                                                    */
/*===------------------------------------------------------------------===*/

/* Element types, numbered as ONNX's TensorProto.DataType. */
typedef enum ingot_dtype {
  INGOT_FLOAT32 = 1,
  INGOT_UINT8 = 2,
  INGOT_INT8 = 3,
  INGOT_UINT16 = 4,
  INGOT_INT16 = 5,
  INGOT_INT32 = 6,
  INGOT_INT64 = 7,
  INGOT_BOOL = 9,
  INGOT_FLOAT16 = 10,
  INGOT_FLOAT64 = 11,
  INGOT_UINT32 = 12,
  INGOT_UINT64 = 13,
  INGOT_BFLOAT16 = 16,
} ingot_dtype;

#define INGOT_MAX_DIMS 8

typedef struct ingot_engine ingot_engine;
typedef struct ingot_session ingot_session;

/* A graph input or output as the user sees it (the model's layout). */
typedef struct ingot_tensor_info {
  const char *name;   /* borrowed from the engine */
  ingot_dtype dtype;  /* the model's dtype */
  int rank;
  long long dims[INGOT_MAX_DIMS];
  size_t nbytes;      /* rank/dims/dtype's size in bytes */
} ingot_tensor_info;

/* Checks the header of the engine file at |path| against this runtime and
 * this CPU without mapping any code: format version, required CPU features
 * (and whether the OS allows AMX), sizes.  OK when it can run here, else
 * INGOT_INCOMPATIBLE (or DATA_LOSS for a corrupt header) saying exactly why.
 */
ingot_status ingot_engine_check_file(const char *path);

/* Loads an engine.  The file is read once; the engine keeps no reference to
 * |path|.  Fails with a message naming the file and what is wrong with it
 * (truncated, bad checksum, incompatible CPU, bad relocation, ...). */
ingot_status ingot_engine_load_file(const char *path, ingot_engine **out);
/* Same from memory; |data| is copied, the caller may free it afterwards. */
ingot_status ingot_engine_load_memory(const void *data, size_t size,
                                      ingot_engine **out);
void ingot_engine_release(ingot_engine *engine);

int ingot_engine_input_count(const ingot_engine *engine);
int ingot_engine_output_count(const ingot_engine *engine);
ingot_status ingot_engine_input_info(const ingot_engine *engine, int index,
                                     ingot_tensor_info *out);
ingot_status ingot_engine_output_info(const ingot_engine *engine, int index,
                                      ingot_tensor_info *out);
/* Index of the input/output named |name|, or -1. */
int ingot_engine_find_input(const ingot_engine *engine, const char *name);
int ingot_engine_find_output(const ingot_engine *engine, const char *name);

/* What `ingot inspect` shows; strings are borrowed from the engine. */
typedef struct ingot_engine_info {
  unsigned format_major, format_minor;
  const char *producer;             /* "ingot 0.1.0" */
  const char *target_triple;        /* "x86_64-unknown-linux-gnu" */
  const char *target_cpu;           /* LLVM CPU the code was built for */
  unsigned long long cpu_features;  /* INGOT_CPU_* bits it requires */
  unsigned long long content_hash;  /* FNV-1a 64 of the file after the header */
  size_t file_size, arena_size, weights_size, code_size;
  int step_count;
  const char *build_info;           /* "key: value" lines, "" if none */
} ingot_engine_info;
void ingot_engine_get_info(const ingot_engine *engine, ingot_engine_info *out);

/* Step |index| of the plan (execution order); strings borrowed. */
typedef struct ingot_step_info {
  const char *symbol;     /* its function in the engine's code */
  const char *kernel;     /* kernel template, e.g. "k_conv2d_nhwc_f32" */
  const char *op;         /* summary, e.g. "Conv 3x3/1 16->16 28x28" */
  const char *provenance; /* the model's node names, '\n'-separated */
  long long tasks;        /* the step's parallel work items */
  unsigned long long ops, bytes; /* arithmetic ops (1 MAC = 2), bytes moved */
  ingot_dtype precision;  /* compute dtype */
} ingot_step_info;
ingot_status ingot_engine_step_info(const ingot_engine *engine, int index,
                                    ingot_step_info *out);

/* Names of the INGOT_CPU_* bits in |features| ("avx2 fma"), written to
 * |buf| (truncated to |n| bytes); returns |buf|. */
const char *ingot_cpu_feature_names(unsigned long long features, char *buf,
                                    size_t n);
/* The version of this libingot_rt, "0.1.0". */
const char *ingot_version(void);

typedef enum ingot_device {
  INGOT_DEVICE_CPU = 0,
  /* NVIDIA GPU through the CUDA driver (libcuda.so.1, opened on first
   * use), for engines built with --target cuda (docs/gpu.md). */
  INGOT_DEVICE_CUDA = 1,
} ingot_device;

typedef struct ingot_session_options {
  int threads; /* 0: the CPUs available to the process */
} ingot_session_options;

/* |opt| may be NULL.  The session holds a reference to |engine|, so the
 * caller may release the engine first.  It allocates the arena (the size
 * the engine's plan says, zeroed) and starts |threads| - 1 worker threads;
 * the thread calling run is the last one.  A negative or absurd thread
 * count is INVALID_ARGUMENT; no memory is RESOURCE_EXHAUSTED. */
ingot_status ingot_session_create(ingot_engine *engine,
                                  const ingot_session_options *opt,
                                  ingot_session **out);
void ingot_session_destroy(ingot_session *session);
int ingot_session_thread_count(const ingot_session *session);
/* ingot_session_create on |device| (ingot_device); |device_index| picks
 * the GPU.  CPU: the same as ingot_session_create. */
ingot_status ingot_session_create_on(ingot_engine *engine,
                                     const ingot_session_options *opt,
                                     int device, int device_index,
                                     ingot_session **out);
/* For INGOT_DEVICE_CUDA sessions: the code they run ("cubin sm_80", "PTX
 * sm_80 (JIT)"); NULL for CPU sessions.  A CUDA session without the
 * driver fails to create with FAILED_PRECONDITION saying why, and CPU
 * sessions still work; CUDA sessions profile step times with CUDA events
 * (no hardware counters) and do not keep tensors yet (UNIMPLEMENTED). */
const char *ingot_session_device_code(const ingot_session *session);
/* CUDA sessions: |on| = 1 captures the steps' kernel launches into a CUDA
 * Graph at the next run and replays it on later runs (the input and
 * output copies stay outside the graph); 0 launches step by step again.
 * Profiled runs always launch step by step, with events between the
 * steps.  INVALID_ARGUMENT on a CPU session; FAILED_PRECONDITION when the
 * driver has no graphs. */
ingot_status ingot_session_set_cuda_graph(ingot_session *session, int on);

/* Copies |data| (|nbytes| bytes, the model's layout) into input |index|.
 * |dtype| is the input's own dtype or INGOT_FLOAT32 (converted).  Wrong
 * sizes or dtypes fail with INVALID_ARGUMENT naming the input; a bad index
 * is OUT_OF_RANGE.  Inputs stay set across runs. */
ingot_status ingot_session_set_input(ingot_session *session, int index,
                                     ingot_dtype dtype, const void *data,
                                     size_t nbytes);
/* Runs every step of the plan on the current inputs; FAILED_PRECONDITION
 * if an input was never set. */
ingot_status ingot_session_run(ingot_session *session);
/* Copies output |index| into |data| in the model's layout, converted to
 * |dtype| (the output's own dtype or INGOT_FLOAT32); errors as set_input,
 * and FAILED_PRECONDITION before the first run. */
ingot_status ingot_session_get_output(ingot_session *session, int index,
                                      ingot_dtype dtype, void *data,
                                      size_t nbytes);

/*===------------------------------------------------------------------===*/
/* Profiling                                                               */
/*===------------------------------------------------------------------===*/

/* What later runs of a session record (flags, combined with |).  With none
 * set, run is the plain loop and reads no clock. */
enum ingot_profile_flags {
  INGOT_PROFILE_TIME = 1,     /* each step's wall time: one clock read a step */
  INGOT_PROFILE_TRACE = 2,    /* TIME plus events: runs, steps and, per
                                 thread, the task range it ran and when */
  INGOT_PROFILE_COUNTERS = 4, /* cycles, instructions, cache misses per step
                                 (perf_event_open; two reads a chunk, so
                                 combine with TIME only knowingly) */
};

/* Sets what later runs of |session| record; 0 turns profiling off.
 * Results accumulate over runs until ingot_session_profile_reset, also
 * while off; they take about 8 bytes per step and timed run, plus 48 per
 * event.  Counters that the kernel refuses are not an error: the summary
 * says why they are off.  Unknown flags are INVALID_ARGUMENT. */
ingot_status ingot_session_set_profiling(ingot_session *session,
                                         unsigned flags);
void ingot_session_profile_reset(ingot_session *session);

typedef struct ingot_profile_summary {
  long long timed_runs, traced_runs, counter_runs;
  double timer_overhead_ns;  /* cost of one clock read, measured when
                                profiling starts, taken off each step time */
  int counters;              /* 1: hardware counters work here */
  const char *counters_note; /* why they are off ("" when on); borrowed */
  size_t events;
} ingot_profile_summary;
ingot_status ingot_session_profile_summary(const ingot_session *session,
                                           ingot_profile_summary *out);

/* Step |step| (plan order) over the runs recorded so far.  quiet_us is
 * its mean over the quarter of the runs with the shortest run times: the
 * steps' quiet times add up to those runs' mean, which other processes
 * disturb least. */
typedef struct ingot_step_profile {
  long long runs;                  /* timed runs */
  double min_us, median_us, mean_us, max_us, quiet_us;
  int threads;                     /* threads the step is split over */
  long long counter_runs;          /* runs with counts from every thread */
  double cycles, instructions, cache_misses; /* per run, all threads */
} ingot_step_profile;
ingot_status ingot_session_step_profile(const ingot_session *session,
                                        int step, ingot_step_profile *out);

typedef enum ingot_event_kind {
  INGOT_EVENT_RUN = 1,   /* one ingot_session_run, on thread 0 */
  INGOT_EVENT_STEP = 2,  /* one step as the calling thread saw it */
  INGOT_EVENT_CHUNK = 3, /* tasks [task_begin, task_end) of a step on one
                            thread */
} ingot_event_kind;
typedef struct ingot_profile_event {
  ingot_event_kind kind;
  int step;       /* -1 for a run */
  int thread;     /* 0: the thread calling run; 1..: the pool's workers */
  long long run;  /* traced run, counted from 0 since the last reset */
  long long task_begin, task_end;
  double start_us, duration_us; /* start: from the first traced run */
} ingot_profile_event;
/* Event |index| < summary.events, in the order recorded. */
ingot_status ingot_session_profile_event(const ingot_session *session,
                                         size_t index,
                                         ingot_profile_event *out);

/*===------------------------------------------------------------------===*/
/* Intermediate tensors (debugging; engine format 1.2)                     */
/*===------------------------------------------------------------------===*/

/* A tensor of the model the engine keeps in its arena (TENSOR_MAP):
 * graph inputs, activations and outputs, in plan order. */
typedef struct ingot_map_tensor_info {
  const char *name;  /* the model's tensor name; borrowed */
  ingot_dtype dtype; /* as stored: uint8/int8 for an int8 tensor */
  int rank;
  long long dims[INGOT_MAX_DIMS]; /* the model's order */
  size_t nbytes;     /* in |dtype| */
  int nhwc;          /* stored channels-last (read back in model order) */
  int quantized;     /* value = (q - zero_point) * scale */
  float scale;
  int zero_point;
  int step;          /* complete after this step; -1: a graph input */
} ingot_map_tensor_info;

/* 0 for engines older than format 1.2. */
int ingot_engine_tensor_count(const ingot_engine *engine);
ingot_status ingot_engine_tensor_map_info(const ingot_engine *engine,
                                          int index,
                                          ingot_map_tensor_info *out);
/* Index of the mapped tensor named |name|, or -1. */
int ingot_engine_find_tensor(const ingot_engine *engine, const char *name);

/* |on| != 0 makes later runs copy every mapped tensor out of the arena
 * right after the step that completes it (the memory plan reuses bytes,
 * so reading the arena after the run would not do).  It costs one buffer
 * the size of all mapped tensors and a copy of each per run; profiling is
 * off while it is on.  RESOURCE_EXHAUSTED without memory. */
ingot_status ingot_session_keep_tensors(ingot_session *session, int on);
/* Copies mapped tensor |index| of the last run into |data| in the model's
 * layout, as |dtype|: its own dtype, or INGOT_FLOAT32 (dequantised when
 * quantised).  FAILED_PRECONDITION unless a run happened with keep on. */
ingot_status ingot_session_read_tensor(ingot_session *session, int index,
                                       ingot_dtype dtype, void *data,
                                       size_t nbytes);

#define INGOT_RETURN_IF_ERROR(expr)        \
  do {                                     \
    ingot_status ingot_s_ = (expr);        \
    if (ingot_s_) return ingot_s_;         \
  } while (0)

#ifdef __cplusplus
}
#endif
#endif /* INGOT_INGOT_H */
