/* rt.h — libingot_rt internals shared between its files (not installed).
 *
 * Module map:
 *   crc32c.c      engine checksum (crc32c.h, shared with the engine writer)
 *   cpu.c         CPUID/XGETBV feature detection, AMX permission
 *   elf_loader.c  ELF64 x86-64 relocatable-object loader (W^X)
 *   engine.c      engine file validation, tensor/step tables, public queries
 *   pool.c        persistent thread pool running one step over [0, tasks)
 *   convert.c     dtype conversion and NCHW<->NHWC at the session's edges
 *   session.c     arena, inputs, run, outputs
 *   profile.c     profiled runs: step times, traces, hardware counters
 */
#ifndef INGOT_RT_H
#define INGOT_RT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "engine_format.h"
#include "gpu_format.h"
#include "ingot/ingot.h"

/*===--- cpu.c ------------------------------------------------------------===*/

/* Every INGOT_CPU_* bit this runtime knows; others are refused. */
#define RT_CPU_KNOWN ((uint64_t)0x1ffff)
#define RT_CPU_AMX                                                      \
  ((uint64_t)(INGOT_CPU_AMX_TILE | INGOT_CPU_AMX_INT8 | INGOT_CPU_AMX_BF16 | \
              INGOT_CPU_AMX_FP16))

/* INGOT_CPU_* bits that this CPU has and the OS has enabled (XCR0). */
uint64_t rt_cpu_detect(void);
/* INCOMPATIBLE naming every bit of |required| missing from |available|
 * (and every bit this runtime does not know), else NULL. */
ingot_status rt_cpu_check(uint64_t required, uint64_t available);
/* Asks Linux for permission to use AMX tile data in this process
 * (arch_prctl ARCH_REQ_XCOMP_PERM); idempotent. */
ingot_status rt_cpu_enable_amx(void);
/* "avx2 fma" for |bits| into |buf|; returns |buf|. */
const char *rt_cpu_names(uint64_t bits, char *buf, size_t n);

/*===--- elf_loader.c -----------------------------------------------------===*/

typedef struct rt_elf_func {
  const char *name; /* into the object's string table */
  void *addr;
} rt_elf_func;

/* A loaded object: one anonymous mapping holding text (R+X), read-only
 * data and the GOT (R), writable data and bss (R+W). */
typedef struct rt_elf_image {
  uint8_t *base;
  size_t size;
  rt_elf_func *funcs; /* global STT_FUNC symbols, sorted by name */
  size_t n_funcs;
} rt_elf_image;

/* Loads the relocatable object |obj| (|size| bytes, borrowed: the image
 * keeps pointers to its string table, so |obj| must outlive |out|).
 * |what| names the object in messages.  On failure |out| is zeroed. */
ingot_status rt_elf_load(const uint8_t *obj, size_t size, const char *what,
                         rt_elf_image *out);
/* The global function named |name|, or NULL. */
void *rt_elf_find(const rt_elf_image *img, const char *name);
/* Unmaps; tolerates a zeroed or half-built image and zeroes it. */
void rt_elf_unload(rt_elf_image *img);

/*===--- pool.c -----------------------------------------------------------===*/

typedef void (*rt_step_fn)(uint8_t *arena, const uint8_t *weights,
                           int64_t task_begin, int64_t task_end);
typedef struct rt_pool rt_pool;

/* CPUs this process may run on (sched_getaffinity), at least 1. */
int rt_cpu_count(void);
/* A pool of |threads| - 1 workers; the calling thread is the last one. */
ingot_status rt_pool_create(int threads, rt_pool **out);
/* Runs fn(arena, weights, t0, t1) over contiguous chunks covering
 * [0, tasks), one chunk per thread, and returns when all are done. */
/* Steps whose ops + bytes (from the plan) are below this run on the
 * calling thread only: about 20-50 us of work on one core. */
#define RT_PARALLEL_MIN_WORK ((uint64_t)1 << 19)
/* Runs all |tasks| of |fn| on the calling thread. */
void rt_pool_run_inline(rt_step_fn fn, uint8_t *arena, const uint8_t *weights,
                        int64_t tasks);
void rt_pool_run(rt_pool *p, rt_step_fn fn, uint8_t *arena,
                 const uint8_t *weights, int64_t tasks);
/* rt_pool_run with every chunk bracketed by rt_prof_chunk_begin/end on
 * the thread that runs it (profile.c); chunk i runs on thread i. */
typedef struct rt_prof rt_prof;
void rt_pool_run_probed(rt_pool *p, rt_prof *prof, rt_step_fn fn,
                        uint8_t *arena, const uint8_t *weights, int64_t tasks);
int rt_pool_threads(const rt_pool *p);
void rt_pool_destroy(rt_pool *p);

/*===--- engine.c ---------------------------------------------------------===*/

typedef struct rt_tensor {
  const char *name; /* into the engine's STRINGS */
  uint32_t dtype, stored_dtype, layout, rank;
  int64_t dims[INGOT_MAX_RANK];
  uint64_t count; /* elements */
  uint64_t arena_offset, arena_bytes;
  float scale;
  int32_t zero_point;
} rt_tensor;

/* A TENSOR_MAP entry: |t| as the arena holds it (dtype FLOAT32 with
 * stored_dtype u8/s8 when quantised, so convert.c dequantises). */
typedef struct rt_map_tensor {
  rt_tensor t;
  uint32_t ready_step; /* INGOT_TENSOR_READY_INPUT for graph inputs */
  int quantized;
} rt_map_tensor;

typedef struct rt_step {
  rt_step_fn fn;
  const char *symbol, *kernel, *op, *provenance;
  int64_t tasks;
  uint64_t ops, bytes;
  uint32_t precision;
} rt_step;

struct ingot_engine {
  atomic_int refs;
  uint8_t *file; /* owned copy, 64-byte aligned */
  size_t file_size;
  ingot_file_header header;
  const char *strings;
  uint64_t strings_size;
  rt_tensor *tensors; /* inputs, then outputs */
  uint32_t n_inputs, n_outputs;
  rt_step *steps;
  uint32_t n_steps;
  rt_map_tensor *map; /* TENSOR_MAP, plan order; NULL before format 1.2 */
  uint32_t n_map;
  const uint8_t *weights;
  char *build_info; /* owned, NUL-terminated */
  rt_elf_image code;
  rt_gpu_view gpu; /* GPU sections (gpu_format.h); step_count 0: none */
};

void rt_engine_retain(ingot_engine *e);

/* Whether step |st| runs on the calling thread only (RT_PARALLEL_MIN_WORK)
 * and how many threads a pool of |threads| splits it over. */
static inline int rt_step_inline(const rt_step *st) {
  return st->ops + st->bytes < RT_PARALLEL_MIN_WORK;
}
static inline int rt_step_threads(const rt_step *st, int threads) {
  if (rt_step_inline(st) || st->tasks <= 1) return 1;
  return st->tasks < threads ? (int)st->tasks : threads;
}

/*===--- cuda.c: the CUDA executor ---------------------------------------===*/
typedef struct rt_cuda rt_cuda;
/* Opens libcuda.so.1 (once per process), makes a context on |device|,
 * loads the engine's cubin or PTX for the device and the device arena. */
ingot_status rt_cuda_create(const ingot_engine *e, int device, rt_cuda **out);
void rt_cuda_destroy(rt_cuda *c);
/* Inputs from |host_arena| to the device, every step, outputs back.  With
 * |stamps| (step_count + 1 values), the steps are timed with CUDA events
 * recorded between the launches: stamps[k] is the start of step k and
 * stamps[n] the end of the last, in ns from stamps[0] = 0.  Otherwise a
 * session with graphs on replays the captured launches. */
ingot_status rt_cuda_run(rt_cuda *c, uint8_t *host_arena, int64_t *stamps);
/* Turns CUDA Graph replay on or off (FAILED_PRECONDITION when the driver
 * lacks graphs); the first run after it captures the launches. */
ingot_status rt_cuda_set_graph(rt_cuda *c, int on);
/* "cubin sm_80" or "PTX sm_80 (JIT)": the code the session runs. */
const char *rt_cuda_code(const rt_cuda *c);

/*===--- profile.c --------------------------------------------------------===*/

/* A session's profiling state; NULL until profiling is first turned on.
 * Only the session's thread calls these, between runs, except the chunk
 * hooks, which pool threads call during a probed step on their own
 * per-thread slots. */
ingot_status rt_prof_create(const ingot_engine *e, int threads, rt_prof **out);
void rt_prof_destroy(rt_prof *p);
/* Sets the INGOT_PROFILE_* flags of later runs (tests the counters the
 * first time INGOT_PROFILE_COUNTERS is asked for). */
ingot_status rt_prof_set_flags(rt_prof *p, unsigned flags);
void rt_prof_reset(rt_prof *p);
/* One run of every step with the current flags (non-zero). */
ingot_status rt_prof_run(rt_prof *p, const ingot_engine *e, rt_pool *pool,
                         uint8_t *arena);
void rt_prof_chunk_begin(rt_prof *p, int thread);
void rt_prof_chunk_end(rt_prof *p, int thread, int64_t task_begin,
                       int64_t task_end);
void rt_prof_summary(const rt_prof *p, ingot_profile_summary *out);
ingot_status rt_prof_step(const rt_prof *p, int step, ingot_step_profile *out);
ingot_status rt_prof_event(const rt_prof *p, size_t index,
                           ingot_profile_event *out);
/* A profiled run whose step boundaries someone else measured (the CUDA
 * executor, with events): |run| fills step_count + 1 stamps in ns from 0;
 * they are recorded like rt_prof_run's, with no timer overhead to take
 * off and no CPU counters. */
ingot_status rt_prof_run_timed_by(rt_prof *p, const ingot_engine *e,
                                  ingot_status (*run)(void *ctx,
                                                      int64_t *stamps),
                                  void *ctx);
/* Counting is off for good, the summary saying |why|. */
void rt_prof_counters_off(rt_prof *p, const char *why);

/*===--- convert.c --------------------------------------------------------===*/

/* Bytes per element of ONNX dtype |dt|, 0 if unsupported. */
size_t rt_dtype_size(uint32_t dt);
const char *rt_dtype_name(uint32_t dt);
/* Copies a user buffer (|user_dtype|, the model's layout) into the arena
 * image of |t|, converting dtype/quantising and permuting NCHW->NHWC. */
void rt_convert_in(const rt_tensor *t, uint32_t user_dtype, const void *src,
                   uint8_t *arena);
/* The reverse: arena image of |t| -> user buffer. */
void rt_convert_out(const rt_tensor *t, uint32_t user_dtype,
                    const uint8_t *arena, void *dst);

#endif /* INGOT_RT_H */
