/* cuda.c — the CUDA executor (issue 7, DESIGN.md §8; docs/gpu.md): runs a
 * --target cuda engine's GPU code through the CUDA driver API.
 *
 * libcuda.so.1 is opened with dlopen when the first CUDA session is made
 * (never at load time: without it libingot_rt works as before and says why
 * the GPU path is off).  A session:
 *  - makes a context on the device (ingot_session_options.device_index);
 *  - picks the code for the device's compute capability sm_XY: a cubin of
 *    the same major version and the highest minor <= Y, else the PTX of the
 *    highest sm <= XY, which the driver JIT-compiles; a driver that rejects
 *    the PTX's ISA version gets an error naming both versions;
 *  - allocates one device block holding the arena and, after it (256-byte
 *    aligned), the weights, which it uploads once;
 *  - per run: async copies of the inputs' arena bytes to the device, one
 *    cuLaunchKernel per step in plan order on one stream with the launch
 *    GPU_PLAN records (parameters: device arena and weights pointers), async
 *    copies of the outputs' arena bytes back, one synchronisation.  The
 *    host arena holds the converted inputs and receives the outputs, so
 *    set_input/get_output work as for the CPU.
 *
 * No real GPU has run this code: CI runs it against a test double of the
 * driver API (tests/gpu/fake_cuda.c) that checks every call's arguments.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext, *CUmodule, *CUfunction, *CUstream, *CUevent;
typedef void *CUgraph, *CUgraphExec;
typedef unsigned long long CUdeviceptr;
enum { CU_ATTR_CC_MAJOR = 75, CU_ATTR_CC_MINOR = 76 };
enum { CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222 };
enum { CU_EVENT_DEFAULT = 0 };
/* CU_STREAM_CAPTURE_MODE_THREAD_LOCAL: other threads' unsafe calls do not
 * invalidate this session's capture. */
enum { CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1 };

/* ORDER CUDA_FNS: the driver functions used, by their exported names. */
#define CUDA_FNS(X)                                                         \
  X(cuInit, (unsigned))                                                     \
  X(cuDriverGetVersion, (int *))                                            \
  X(cuDeviceGetCount, (int *))                                              \
  X(cuDeviceGet, (CUdevice *, int))                                         \
  X(cuDeviceGetAttribute, (int *, int, CUdevice))                           \
  X(cuCtxCreate_v2, (CUcontext *, unsigned, CUdevice))                      \
  X(cuCtxDestroy_v2, (CUcontext))                                           \
  X(cuCtxSetCurrent, (CUcontext))                                           \
  X(cuModuleLoadData, (CUmodule *, const void *))                           \
  X(cuModuleLoadDataEx,                                                     \
    (CUmodule *, const void *, unsigned, int *, void **))                   \
  X(cuModuleGetFunction, (CUfunction *, CUmodule, const char *))            \
  X(cuModuleUnload, (CUmodule))                                             \
  X(cuMemAlloc_v2, (CUdeviceptr *, size_t))                                 \
  X(cuMemFree_v2, (CUdeviceptr))                                            \
  X(cuMemcpyHtoD_v2, (CUdeviceptr, const void *, size_t))                   \
  X(cuMemcpyHtoDAsync_v2, (CUdeviceptr, const void *, size_t, CUstream))    \
  X(cuMemcpyDtoHAsync_v2, (void *, CUdeviceptr, size_t, CUstream))          \
  X(cuStreamCreate, (CUstream *, unsigned))                                 \
  X(cuStreamDestroy_v2, (CUstream))                                         \
  X(cuStreamSynchronize, (CUstream))                                        \
  X(cuLaunchKernel, (CUfunction, unsigned, unsigned, unsigned, unsigned,    \
                     unsigned, unsigned, unsigned, CUstream, void **,       \
                     void **))                                              \
  X(cuEventCreate, (CUevent *, unsigned))                                   \
  X(cuEventDestroy_v2, (CUevent))                                           \
  X(cuEventRecord, (CUevent, CUstream))                                     \
  X(cuEventElapsedTime, (float *, CUevent, CUevent))                        \
  X(cuGetErrorString, (CUresult, const char **))

/* CUDA Graphs (CUDA 11.4+ for cuGraphInstantiateWithFlags): looked up too,
 * but only a session that asks for graphs needs them. */
#define CUDA_GRAPH_FNS(X)                                                   \
  X(cuStreamBeginCapture_v2, (CUstream, int))                               \
  X(cuStreamEndCapture, (CUstream, CUgraph *))                              \
  X(cuGraphInstantiateWithFlags,                                            \
    (CUgraphExec *, CUgraph, unsigned long long))                           \
  X(cuGraphLaunch, (CUgraphExec, CUstream))                                 \
  X(cuGraphExecDestroy, (CUgraphExec))                                      \
  X(cuGraphDestroy, (CUgraph))

typedef struct cuda_api {
#define X(name, args) CUresult(*name) args;
  CUDA_FNS(X)
  CUDA_GRAPH_FNS(X)
#undef X
  int driver_version;
  char graph_error[160]; /* why graphs are off, "" when they are on */
  char error[512]; /* why the GPU path is off, "" when it is on */
} cuda_api;

/* The process-wide driver table: filled once, read-only afterwards. */
static cuda_api api;
static pthread_once_t api_once = PTHREAD_ONCE_INIT;

static void api_open(void) {
  void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *why = dlerror();
    snprintf(api.error, sizeof api.error,
             "the GPU path is off: libcuda.so.1 (the NVIDIA driver) cannot be "
             "loaded (%s); CPU sessions still work",
             why ? why : "not found");
    return;
  }
#define X(name, args)                                                     \
  if (!api.error[0]) {                                                    \
    *(void **)&api.name = dlsym(h, #name);                                \
    if (!api.name)                                                        \
      snprintf(api.error, sizeof api.error,                               \
               "the GPU path is off: libcuda.so.1 has no %s (driver too " \
               "old?)",                                                   \
               #name);                                                    \
  }
  CUDA_FNS(X)
#undef X
  if (api.error[0]) return;
#define X(name, args)                                                       \
  if (!api.graph_error[0]) {                                                \
    *(void **)&api.name = dlsym(h, #name);                                  \
    if (!api.name)                                                          \
      snprintf(api.graph_error, sizeof api.graph_error,                     \
               "CUDA Graphs are off: libcuda.so.1 has no %s (CUDA 11.4 or " \
               "later has it)",                                             \
               #name);                                                      \
  }
  CUDA_GRAPH_FNS(X)
#undef X
  CUresult r = api.cuInit(0);
  if (!r) r = api.cuDriverGetVersion(&api.driver_version);
  if (r)
    snprintf(api.error, sizeof api.error,
             "the GPU path is off: cuInit failed (CUDA error %d): no usable "
             "NVIDIA GPU or driver",
             r);
  /* |h| stays open for the life of the process. */
}

static ingot_status cu_fail(CUresult r, const char *what) {
  const char *msg = NULL;
  if (api.cuGetErrorString) api.cuGetErrorString(r, &msg);
  return ingot_make_status(INGOT_INTERNAL, "CUDA: %s failed: error %d (%s)",
                           what, r, msg ? msg : "unknown");
}

struct rt_cuda {
  const ingot_engine *e;
  CUcontext ctx;
  CUmodule mod;
  CUstream stream;
  CUdeviceptr base, arena, weights;
  CUfunction *fn;
  CUevent *ev;      /* profiling: step_count + 1, made on first use */
  int use_graph;    /* ingot_session_set_cuda_graph */
  CUgraph graph;    /* the captured launches, made by the first run */
  CUgraphExec exec;
  uint32_t sm;
  char code[64]; /* "cubin sm_80" / "PTX sm_80 (JIT)" */
};

void rt_cuda_destroy(rt_cuda *c) {
  if (!c) return;
  if (c->ctx) {
    api.cuCtxSetCurrent(c->ctx);
    if (c->exec) api.cuGraphExecDestroy(c->exec);
    if (c->graph) api.cuGraphDestroy(c->graph);
    for (uint32_t i = 0; c->ev && i <= c->e->gpu.plan.step_count; i++)
      if (c->ev[i]) api.cuEventDestroy_v2(c->ev[i]);
    if (c->stream) api.cuStreamDestroy_v2(c->stream);
    if (c->base) api.cuMemFree_v2(c->base);
    if (c->mod) api.cuModuleUnload(c->mod);
    api.cuCtxDestroy_v2(c->ctx);
  }
  free(c->fn);
  free(c->ev);
  free(c);
}

/* The code for a device of compute capability |sm|: index into the
 * cubins (*is_cubin) or the PTX modules; -1 if nothing fits. */
static int pick_code(const rt_gpu_view *g, uint32_t sm, int *is_cubin) {
  int best = -1;
  for (uint32_t i = 0; i < g->n_cubin; i++)
    if (g->cubin[i].sm / 10 == sm / 10 && g->cubin[i].sm <= sm) best = (int)i;
  if (best >= 0) {
    *is_cubin = 1;
    return best;
  }
  for (uint32_t i = 0; i < g->n_ptx; i++)
    if (g->ptx[i].sm <= sm) best = (int)i;
  *is_cubin = 0;
  return best;
}

static void sm_list(const ingot_gpu_blob *b, uint32_t n, char *buf,
                    size_t cap) {
  size_t len = 0;
  buf[0] = 0;
  for (uint32_t i = 0; i < n && len + 12 < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%ssm_%u", i ? " " : "",
                            b[i].sm);
  if (!n) snprintf(buf, cap, "none");
}

ingot_status rt_cuda_create(const ingot_engine *e, int device,
                            rt_cuda **out) {
  *out = NULL;
  const rt_gpu_view *g = &e->gpu;
  if (!g->plan.step_count)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "the engine has no GPU code: build it with "
                             "ingot build --target cuda");
  pthread_once(&api_once, api_open);
  if (api.error[0])
    return ingot_make_status(INGOT_FAILED_PRECONDITION, "%s", api.error);
  int count = 0;
  CUresult r = api.cuDeviceGetCount(&count);
  if (r) return cu_fail(r, "cuDeviceGetCount");
  if (device < 0 || device >= count)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "CUDA device %d does not exist (%d device%s)",
                             device, count, count == 1 ? "" : "s");
  rt_cuda *c = calloc(1, sizeof *c);
  if (!c) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  c->e = e;
  c->fn = calloc(g->plan.step_count, sizeof *c->fn);
  ingot_status s = c->fn ? NULL
                         : ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                                             "out of memory");
  CUdevice dev = 0;
  int major = 0, minor = 0;
  if (!s && (r = api.cuDeviceGet(&dev, device))) s = cu_fail(r, "cuDeviceGet");
  if (!s && ((r = api.cuDeviceGetAttribute(&major, CU_ATTR_CC_MAJOR, dev)) ||
             (r = api.cuDeviceGetAttribute(&minor, CU_ATTR_CC_MINOR, dev))))
    s = cu_fail(r, "cuDeviceGetAttribute (compute capability)");
  if (!s && (r = api.cuCtxCreate_v2(&c->ctx, 0, dev)))
    s = cu_fail(r, "cuCtxCreate");
  c->sm = (uint32_t)(major * 10 + minor);
  int is_cubin = 0, k = s ? -1 : pick_code(g, c->sm, &is_cubin);
  if (!s && k < 0) {
    char cb[96], pb[96];
    sm_list(g->cubin, g->n_cubin, cb, sizeof cb);
    sm_list(g->ptx, g->n_ptx, pb, sizeof pb);
    s = ingot_make_status(INGOT_INCOMPATIBLE,
                          "the GPU is sm_%u; the engine has cubins for %s and "
                          "PTX for %s, none of which runs on it (rebuild with "
                          "--sm %u)",
                          c->sm, cb, pb, c->sm);
  }
  if (!s && is_cubin) {
    const ingot_gpu_blob *b = &g->cubin[k];
    snprintf(c->code, sizeof c->code, "cubin sm_%u", b->sm);
    /* Format 1.4 aligns cubins (engine_format.h) in the 64-byte aligned
     * file image; a 1.3 engine's may sit anywhere: load a copy. */
    const uint8_t *img = e->file + b->offset;
    void *copy = NULL;
    if ((uintptr_t)img % INGOT_GPU_BLOB_ALIGN) {
      size_t n = ((size_t)b->size + 63) & ~(size_t)63;
      if (!(copy = aligned_alloc(INGOT_GPU_BLOB_ALIGN, n)))
        s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
      else
        img = memcpy(copy, img, (size_t)b->size);
    }
    if (!s && (r = api.cuModuleLoadData(&c->mod, img)))
      s = cu_fail(r, "cuModuleLoadData (cubin)");
    free(copy);
  } else if (!s) {
    /* PTX must be NUL-terminated for the JIT: copy it. */
    const ingot_gpu_blob *b = &g->ptx[k];
    snprintf(c->code, sizeof c->code, "PTX sm_%u (JIT)", b->sm);
    char *text = malloc((size_t)b->size + 1);
    if (!text) {
      s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
    } else {
      memcpy(text, e->file + b->offset, (size_t)b->size);
      text[b->size] = 0;
      r = api.cuModuleLoadDataEx(&c->mod, text, 0, NULL, NULL);
      free(text);
      if (r == CUDA_ERROR_UNSUPPORTED_PTX_VERSION) {
        char cb[96];
        sm_list(g->cubin, g->n_cubin, cb, sizeof cb);
        s = ingot_make_status(
            INGOT_INCOMPATIBLE,
            "the engine's PTX for sm_%u is PTX ISA %u.%u, newer than this "
            "driver (CUDA %d.%d) accepts, and no cubin matches the GPU's "
            "sm_%u (cubins: %s): update the driver, or rebuild the engine "
            "with ptxas for --sm %u",
            b->sm, b->ptx_version / 10, b->ptx_version % 10,
            api.driver_version / 1000, api.driver_version % 1000 / 10, c->sm,
            cb, c->sm);
      } else if (r) {
        s = cu_fail(r, "cuModuleLoadDataEx (PTX JIT)");
      }
    }
  }
  for (uint32_t i = 0; !s && i < g->plan.step_count; i++) {
    ingot_gpu_step st = rt_gpu_step(g, i);
    if ((r = api.cuModuleGetFunction(&c->fn[i], c->mod, st.entry)))
      s = cu_fail(r, "cuModuleGetFunction");
  }
  uint64_t arena = (e->header.arena_size + 255) & ~(uint64_t)255;
  uint64_t total = arena + e->header.weights_size;
  if (!s && (r = api.cuMemAlloc_v2(&c->base, total ? (size_t)total : 256)))
    s = cu_fail(r, "cuMemAlloc (device arena and weights)");
  c->arena = c->base;
  c->weights = c->base + arena;
  if (!s && e->header.weights_size &&
      (r = api.cuMemcpyHtoD_v2(c->weights, e->weights,
                               (size_t)e->header.weights_size)))
    s = cu_fail(r, "cuMemcpyHtoD (weights)");
  if (!s && (r = api.cuStreamCreate(&c->stream, 0)))
    s = cu_fail(r, "cuStreamCreate");
  if (s) {
    rt_cuda_destroy(c);
    return s;
  }
  *out = c;
  return NULL;
}

const char *rt_cuda_code(const rt_cuda *c) { return c->code; }

/* One cuLaunchKernel per step on the stream; with |ev|, event ev[k] is
 * recorded before step k and ev[n] after the last. */
static ingot_status launch_steps(rt_cuda *c, const CUevent *ev) {
  const rt_gpu_view *g = &c->e->gpu;
  uint32_t n = g->plan.step_count;
  CUresult r;
  for (uint32_t k = 0; k < n; k++) {
    ingot_gpu_step st = rt_gpu_step(g, k);
    void *params[2] = {&c->arena, &c->weights};
    if (ev && (r = api.cuEventRecord(ev[k], c->stream)))
      return cu_fail(r, "cuEventRecord");
    r = api.cuLaunchKernel(c->fn[k], st.grid[0], st.grid[1], st.grid[2],
                           st.block[0], st.block[1], st.block[2], 0,
                           c->stream, params, NULL);
    if (r) {
      ingot_status s = cu_fail(r, "cuLaunchKernel");
      return ingot_status_annotate(s, "step %u (%s): ", k, st.kernel);
    }
  }
  if (ev && (r = api.cuEventRecord(ev[n], c->stream)))
    return cu_fail(r, "cuEventRecord");
  return NULL;
}

static void drop_graph(rt_cuda *c) {
  if (c->exec) api.cuGraphExecDestroy(c->exec);
  if (c->graph) api.cuGraphDestroy(c->graph);
  c->exec = NULL;
  c->graph = NULL;
}

/* Captures the step launches (not the copies: their host side is pageable
 * memory) into a graph and instantiates it.  A failed capture still ends
 * it, so the stream stays usable. */
static ingot_status capture(rt_cuda *c) {
  CUresult r = api.cuStreamBeginCapture_v2(c->stream,
                                           CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
  if (r) return cu_fail(r, "cuStreamBeginCapture");
  ingot_status s = launch_steps(c, NULL);
  r = api.cuStreamEndCapture(c->stream, &c->graph);
  if (!s && r) s = cu_fail(r, "cuStreamEndCapture");
  if (!s && (r = api.cuGraphInstantiateWithFlags(&c->exec, c->graph, 0)))
    s = cu_fail(r, "cuGraphInstantiateWithFlags");
  if (s) drop_graph(c);
  return s;
}

ingot_status rt_cuda_set_graph(rt_cuda *c, int on) {
  if (on && api.graph_error[0])
    return ingot_make_status(INGOT_FAILED_PRECONDITION, "%s",
                             api.graph_error);
  CUresult r = api.cuCtxSetCurrent(c->ctx);
  if (r) return cu_fail(r, "cuCtxSetCurrent");
  if (!on) drop_graph(c);
  c->use_graph = on != 0;
  return NULL;
}

ingot_status rt_cuda_run(rt_cuda *c, uint8_t *host_arena, int64_t *stamps) {
  const ingot_engine *e = c->e;
  uint32_t n = e->gpu.plan.step_count;
  CUresult r = api.cuCtxSetCurrent(c->ctx);
  if (r) return cu_fail(r, "cuCtxSetCurrent");
  if (stamps && !c->ev) {
    c->ev = calloc((size_t)n + 1, sizeof *c->ev);
    if (!c->ev)
      return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
    for (uint32_t i = 0; i <= n; i++)
      if ((r = api.cuEventCreate(&c->ev[i], CU_EVENT_DEFAULT)))
        return cu_fail(r, "cuEventCreate");
  }
  for (uint32_t i = 0; i < e->n_inputs; i++) {
    const rt_tensor *t = &e->tensors[i];
    if (t->arena_bytes &&
        (r = api.cuMemcpyHtoDAsync_v2(c->arena + t->arena_offset,
                                      host_arena + t->arena_offset,
                                      (size_t)t->arena_bytes, c->stream)))
      return cu_fail(r, "cuMemcpyHtoDAsync (input)");
  }
  if (stamps || !c->use_graph) {
    INGOT_RETURN_IF_ERROR(launch_steps(c, stamps ? c->ev : NULL));
  } else {
    if (!c->exec) INGOT_RETURN_IF_ERROR(capture(c));
    if ((r = api.cuGraphLaunch(c->exec, c->stream)))
      return cu_fail(r, "cuGraphLaunch");
  }
  for (uint32_t i = e->n_inputs; i < e->n_inputs + e->n_outputs; i++) {
    const rt_tensor *t = &e->tensors[i];
    if (t->arena_bytes &&
        (r = api.cuMemcpyDtoHAsync_v2(host_arena + t->arena_offset,
                                      c->arena + t->arena_offset,
                                      (size_t)t->arena_bytes, c->stream)))
      return cu_fail(r, "cuMemcpyDtoHAsync (output)");
  }
  if ((r = api.cuStreamSynchronize(c->stream)))
    return cu_fail(r, "cuStreamSynchronize");
  for (uint32_t i = 0; stamps && i <= n; i++) {
    float ms = 0;
    if (i && (r = api.cuEventElapsedTime(&ms, c->ev[0], c->ev[i])))
      return cu_fail(r, "cuEventElapsedTime");
    stamps[i] = (int64_t)((double)ms * 1e6 + 0.5);
  }
  return NULL;
}
