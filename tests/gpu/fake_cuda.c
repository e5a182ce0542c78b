/* fake_cuda.c — a test double of the CUDA driver API, built as
 * libcuda.so.1 in a directory the GPU tests put on LD_LIBRARY_PATH, so the
 * runtime's CUDA executor (runtime/cuda.c) is exercised in CI without a GPU
 * (issue 7, Done-means 3).  It runs no kernel: it checks that every call
 * the executor makes is valid and keeps device memory as host memory, so
 * copies really copy.
 *
 * What it checks (a failed check prints "fake libcuda: VIOLATION: ..." to
 * stderr, counts it and returns CUDA_ERROR_INVALID_VALUE):
 *  - cuInit(0) before anything else; handles (device, context, module,
 *    function, stream) are live ones this double made; the context is
 *    current;
 *  - modules: a cubin is a 64-byte aligned NVIDIA ELF (EM_CUDA) whose sm (e_flags bits
 *    8..15) has the device's major version and a minor <= the device's
 *    (else CUDA_ERROR_NO_BINARY_FOR_GPU, as the driver); PTX is NUL-
 *    terminated text with .version and .target, whose target is <= the
 *    device's sm (else NO_BINARY_FOR_GPU) and whose ISA version is <=
 *    $FAKE_CUDA_MAX_PTX (XY, default 90; else
 *    CUDA_ERROR_UNSUPPORTED_PTX_VERSION); a function exists in its module;
 *  - memory: allocations > 0 bytes; every copy lies inside one live
 *    allocation, with a non-NULL host pointer and > 0 bytes; frees name
 *    live allocations; nothing leaks at cuCtxDestroy;
 *  - launches: grid x in [1, 2^31), y and z in [1, 65535]; block x, y in
 *    [1, 1024], z in [1, 64], x·y·z <= 1024; dynamic shared memory <=
 *    48 KiB; kernelParams given and extra NULL; one parameter per .param
 *    of the PTX entry (for cubins, which this double does not parse, the
 *    two every Ingot kernel takes), each a device pointer inside a live
 *    allocation.
 *  - events: created with flags 0 (timing on), live, recorded on a live
 *    stream outside a capture; cuEventElapsedTime only between two events
 *    of one stream recorded and then synchronised (else
 *    CUDA_ERROR_NOT_READY, as the driver), with start recorded no later
 *    than end; the elapsed
 *    time is fake (1 us per launch between the two events): it shows the
 *    structure, never a speed;
 *  - graphs: cuStreamBeginCapture on a live stream not capturing;
 *    between it and cuStreamEndCapture only launches (recorded into the
 *    graph) and no copies, synchronisations or event timing; a graph is
 *    instantiated from a live captured graph, launched on a live stream
 *    outside a capture (replaying its launches' checks), and both are
 *    destroyed before cuCtxDestroy.
 * The device is sm_$FAKE_CUDA_SM (XY, default 80), the driver version
 * $FAKE_CUDA_DRIVER (default 12040).  Every call is appended to
 * $FAKE_CUDA_LOG, one line each ("cuLaunchKernel ingot_step_1 3x1x1
 * 128x1x1"), for the test to count.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
enum {
  OK = 0,
  INVALID_VALUE = 1,
  NOT_INITIALIZED = 3,
  INVALID_CONTEXT = 201,
  NO_BINARY_FOR_GPU = 209,
  UNSUPPORTED_PTX_VERSION = 222,
  INVALID_HANDLE = 400,
  NOT_FOUND = 500,
};

#define MAXN 64
typedef struct fmod_ {
  int live, ptx;
  char *image; /* PTX text copy, or NULL */
  const unsigned char *cubin;
} fmod_;
typedef struct ffn {
  int live, mod, nparams;
  char name[128];
} ffn;
typedef struct falloc {
  unsigned char *p;
  size_t n;
} falloc;

static int inited, ctx_live, ctx_current, stream_live[MAXN], violations;
static fmod_ mods[MAXN];
static ffn fns[MAXN * 8];
static falloc allocs[MAXN];
static int ctx_token; /* the context handle is &ctx_token */
/* events: state 0 free, 1 created, 2 recorded (pending), 3 complete */
typedef struct fevent {
  int state;
  long long at; /* launch count of its stream when recorded */
  void *stream;
} fevent;
static fevent events[MAXN * 8];
static long long launches;  /* on any stream, outside captures */
static void *capturing;      /* the stream being captured, or NULL */
typedef struct fgraph {
  int live, nlaunch;
  struct {
    void *f;
    unsigned g[3], b[3];
  } l[MAXN * 4];
} fgraph;
static fgraph graphs[4], execs[4];

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...) {
  const char *path = getenv("FAKE_CUDA_LOG");
  if (!path) return;
  FILE *f = fopen(path, "a");
  if (!f) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fputc('\n', f);
  fclose(f);
}

static CUresult bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static CUresult bad(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "fake libcuda: VIOLATION: %s\n", msg);
  logf_("VIOLATION %s", msg);
  violations++;
  return INVALID_VALUE;
}

static int env_int(const char *k, int def) {
  const char *v = getenv(k);
  return v && *v ? atoi(v) : def;
}
static int dev_sm(void) { return env_int("FAKE_CUDA_SM", 80); }

#define NEED_INIT(fn)                                     \
  do {                                                    \
    if (!inited) {                                        \
      bad("%s before cuInit", fn);                        \
      return NOT_INITIALIZED;                             \
    }                                                     \
  } while (0)
#define NEED_CTX(fn)                                      \
  do {                                                    \
    NEED_INIT(fn);                                        \
    if (!ctx_live || !ctx_current) {                      \
      bad("%s without a current context", fn);            \
      return INVALID_CONTEXT;                             \
    }                                                     \
  } while (0)

/* The allocation holding [p, p + n), or -1. */
static int find_alloc(CUdeviceptr p, size_t n) {
  for (int i = 0; i < MAXN; i++) {
    uintptr_t b = (uintptr_t)allocs[i].p;
    if (allocs[i].p && p >= b && p - b <= allocs[i].n && n <= allocs[i].n - (p - b))
      return i;
  }
  return -1;
}

CUresult cuInit(unsigned flags) {
  logf_("cuInit %u", flags);
  if (flags) return bad("cuInit flags %u (must be 0)", flags);
  inited = 1;
  return OK;
}

CUresult cuDriverGetVersion(int *v) {
  logf_("cuDriverGetVersion");
  if (!v) return bad("cuDriverGetVersion(NULL)");
  *v = env_int("FAKE_CUDA_DRIVER", 12040);
  return OK;
}

CUresult cuDeviceGetCount(int *n) {
  NEED_INIT("cuDeviceGetCount");
  logf_("cuDeviceGetCount");
  if (!n) return bad("cuDeviceGetCount(NULL)");
  *n = 1;
  return OK;
}

CUresult cuDeviceGet(int *d, int ordinal) {
  NEED_INIT("cuDeviceGet");
  logf_("cuDeviceGet %d", ordinal);
  if (!d || ordinal != 0) return bad("cuDeviceGet(%p, %d)", (void *)d, ordinal);
  *d = 0;
  return OK;
}

CUresult cuDeviceGetAttribute(int *v, int attr, int dev) {
  NEED_INIT("cuDeviceGetAttribute");
  logf_("cuDeviceGetAttribute %d", attr);
  if (!v || dev != 0) return bad("cuDeviceGetAttribute: bad pointer or device");
  if (attr == 75) *v = dev_sm() / 10;
  else if (attr == 76) *v = dev_sm() % 10;
  else return bad("cuDeviceGetAttribute: attribute %d not expected", attr);
  return OK;
}

CUresult cuCtxCreate_v2(void **ctx, unsigned flags, int dev) {
  NEED_INIT("cuCtxCreate");
  logf_("cuCtxCreate %u %d", flags, dev);
  if (!ctx || dev != 0 || flags > 0x1f) return bad("cuCtxCreate arguments");
  if (ctx_live) return bad("cuCtxCreate: a second context (one session)");
  ctx_live = ctx_current = 1;
  *ctx = &ctx_token;
  return OK;
}

CUresult cuCtxSetCurrent(void *ctx) {
  NEED_INIT("cuCtxSetCurrent");
  logf_("cuCtxSetCurrent");
  if (ctx != &ctx_token || !ctx_live) return bad("cuCtxSetCurrent: not a live context");
  ctx_current = 1;
  return OK;
}

CUresult cuCtxDestroy_v2(void *ctx) {
  NEED_INIT("cuCtxDestroy");
  logf_("cuCtxDestroy");
  if (ctx != &ctx_token || !ctx_live) return bad("cuCtxDestroy: not a live context");
  for (int i = 0; i < MAXN; i++) {
    if (allocs[i].p) bad("cuCtxDestroy: allocation of %zu bytes not freed", allocs[i].n);
    if (mods[i].live) bad("cuCtxDestroy: module %d not unloaded", i);
    if (stream_live[i]) bad("cuCtxDestroy: stream %d not destroyed", i);
  }
  for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
    if (events[i].state) bad("cuCtxDestroy: event %zu not destroyed", i);
  for (int i = 0; i < 4; i++) {
    if (graphs[i].live) bad("cuCtxDestroy: graph %d not destroyed", i);
    if (execs[i].live) bad("cuCtxDestroy: graph exec %d not destroyed", i);
  }
  if (capturing) bad("cuCtxDestroy during a stream capture");
  ctx_live = ctx_current = 0;
  logf_("violations %d", violations);
  return OK;
}

static int new_mod(void) {
  for (int i = 0; i < MAXN; i++)
    if (!mods[i].live) return i;
  return -1;
}

CUresult cuModuleLoadData(void **mod, const void *image) {
  NEED_CTX("cuModuleLoadData");
  const unsigned char *b = image;
  if (!mod || !b) return bad("cuModuleLoadData(NULL)");
  if ((uintptr_t)b % 64) return bad("cuModuleLoadData: cubin image at %p is not 64-byte aligned", image);
  if (memcmp(b, "\x7f" "ELF", 4) != 0 || b[4] != 2)
    return bad("cuModuleLoadData: not an ELF64 cubin");
  uint16_t machine;
  uint32_t flags;
  memcpy(&machine, b + 18, 2);
  memcpy(&flags, b + 48, 4);
  if (machine != 190) return bad("cuModuleLoadData: ELF machine %u is not EM_CUDA", machine);
  int sm = (int)(flags >> 8 & 0xff), dsm = dev_sm();
  logf_("cuModuleLoadData cubin sm_%d", sm);
  if (sm / 10 != dsm / 10 || sm > dsm) return NO_BINARY_FOR_GPU;
  int m = new_mod();
  if (m < 0) return bad("too many modules");
  mods[m] = (fmod_){1, 0, NULL, b};
  *mod = &mods[m];
  return OK;
}

CUresult cuModuleLoadDataEx(void **mod, const void *image, unsigned n,
                            int *opts, void **vals) {
  NEED_CTX("cuModuleLoadDataEx");
  if (!mod || !image) return bad("cuModuleLoadDataEx(NULL)");
  if (n && (!opts || !vals)) return bad("cuModuleLoadDataEx: %u options without arrays", n);
  const char *t = image;
  if (!memchr(t, 0, 1 << 26)) return bad("PTX is not NUL-terminated");
  const char *v = strstr(t, "\n.version "), *tg = strstr(t, "\n.target sm_");
  unsigned a, c;
  int sm;
  if (!v || !tg || sscanf(v, "\n.version %u.%u", &a, &c) != 2 ||
      sscanf(tg, "\n.target sm_%d", &sm) != 1)
    return bad("cuModuleLoadDataEx: not PTX (no .version/.target)");
  logf_("cuModuleLoadDataEx ptx %u.%u sm_%d", a, c, sm);
  if ((int)(a * 10 + c) > env_int("FAKE_CUDA_MAX_PTX", 90)) return UNSUPPORTED_PTX_VERSION;
  if (sm > dev_sm()) return NO_BINARY_FOR_GPU;
  int m = new_mod();
  if (m < 0) return bad("too many modules");
  mods[m] = (fmod_){1, 1, strdup(t), NULL};
  *mod = &mods[m];
  return OK;
}

CUresult cuModuleUnload(void *mod) {
  NEED_CTX("cuModuleUnload");
  logf_("cuModuleUnload");
  fmod_ *m = mod;
  if (!m || m < mods || m >= mods + MAXN || !m->live) return bad("cuModuleUnload: not a live module");
  free(m->image);
  memset(m, 0, sizeof *m);
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
    if (fns[i].live && fns[i].mod == (int)(m - mods)) fns[i].live = 0;
  return OK;
}

CUresult cuModuleGetFunction(void **f, void *mod, const char *name) {
  NEED_CTX("cuModuleGetFunction");
  fmod_ *m = mod;
  if (!f || !name || !m || m < mods || m >= mods + MAXN || !m->live)
    return bad("cuModuleGetFunction: bad arguments");
  logf_("cuModuleGetFunction %s", name);
  int nparams = 2;
  if (m->ptx) {
    char pat[200];
    snprintf(pat, sizeof pat, ".entry %s(", name);
    const char *e = strstr(m->image, pat);
    if (!e) return NOT_FOUND;
    const char *end = strchr(e, ')');
    nparams = 0;
    for (const char *p = e; end && (p = strstr(p, ".param")) && p < end; p++)
      nparams++;
  }
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
    if (!fns[i].live) {
      fns[i].live = 1;
      fns[i].mod = (int)(m - mods);
      fns[i].nparams = nparams;
      snprintf(fns[i].name, sizeof fns[i].name, "%s", name);
      *f = &fns[i];
      return OK;
    }
  return bad("too many functions");
}

CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t n) {
  NEED_CTX("cuMemAlloc");
  logf_("cuMemAlloc %zu", n);
  if (!p || !n) return bad("cuMemAlloc(%p, %zu)", (void *)p, n);
  for (int i = 0; i < MAXN; i++)
    if (!allocs[i].p) {
      allocs[i].p = malloc(n);
      if (!allocs[i].p) return 2; /* OUT_OF_MEMORY */
      memset(allocs[i].p, 0xab, n);
      allocs[i].n = n;
      *p = (CUdeviceptr)(uintptr_t)allocs[i].p;
      return OK;
    }
  return bad("too many allocations");
}

CUresult cuMemFree_v2(CUdeviceptr p) {
  NEED_CTX("cuMemFree");
  logf_("cuMemFree");
  for (int i = 0; i < MAXN; i++)
    if (allocs[i].p && (CUdeviceptr)(uintptr_t)allocs[i].p == p) {
      free(allocs[i].p);
      allocs[i].p = NULL;
      return OK;
    }
  return bad("cuMemFree of %#llx: not an allocation", p);
}

static int stream_ok(void *s) {
  if (!s) return 1;
  int *t = s;
  return t >= stream_live && t < stream_live + MAXN && *t;
}

static CUresult copy(const char *fn, CUdeviceptr d, void *h, size_t n,
                     void *stream, int to_device) {
  NEED_CTX(fn);
  logf_("%s %zu", fn, n);
  if (!h || !n) return bad("%s: host pointer %p, %zu bytes", fn, h, n);
  if (!stream_ok(stream)) return bad("%s: not a live stream", fn);
  if (capturing) return bad("%s during a stream capture (pageable copies are not captured)", fn);
  if (find_alloc(d, n) < 0)
    return bad("%s: device range [%#llx, +%zu) is not inside one allocation", fn, d, n);
  if (to_device) memcpy((void *)(uintptr_t)d, h, n);
  else memcpy(h, (void *)(uintptr_t)d, n);
  return OK;
}

CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void *h, size_t n) {
  return copy("cuMemcpyHtoD", d, (void *)(uintptr_t)h, n, NULL, 1);
}
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *h, size_t n, void *s) {
  return copy("cuMemcpyHtoDAsync", d, (void *)(uintptr_t)h, n, s, 1);
}
CUresult cuMemcpyDtoHAsync_v2(void *h, CUdeviceptr d, size_t n, void *s) {
  return copy("cuMemcpyDtoHAsync", d, h, n, s, 0);
}

CUresult cuStreamCreate(void **s, unsigned flags) {
  NEED_CTX("cuStreamCreate");
  logf_("cuStreamCreate");
  if (!s || flags > 1) return bad("cuStreamCreate arguments");
  for (int i = 0; i < MAXN; i++)
    if (!stream_live[i]) {
      stream_live[i] = 1;
      *s = &stream_live[i];
      return OK;
    }
  return bad("too many streams");
}

CUresult cuStreamDestroy_v2(void *s) {
  NEED_CTX("cuStreamDestroy");
  logf_("cuStreamDestroy");
  if (!s || !stream_ok(s)) return bad("cuStreamDestroy: not a live stream");
  if (capturing == s) return bad("cuStreamDestroy of a capturing stream");
  *(int *)s = 0;
  return OK;
}

CUresult cuStreamSynchronize(void *s) {
  NEED_CTX("cuStreamSynchronize");
  logf_("cuStreamSynchronize");
  if (!stream_ok(s)) return bad("cuStreamSynchronize: not a live stream");
  if (capturing) return bad("cuStreamSynchronize during a stream capture");
  for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
    if (events[i].state == 2 && (events[i].stream == s || !s))
      events[i].state = 3;
  return OK;
}

CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned smem,
                        void *stream, void **params, void **extra) {
  NEED_CTX("cuLaunchKernel");
  ffn *fn = f;
  if (!fn || fn < fns || fn >= fns + sizeof fns / sizeof fns[0] || !fn->live)
    return bad("cuLaunchKernel: not a live function");
  logf_("cuLaunchKernel %s %ux%ux%u %ux%ux%u", fn->name, gx, gy, gz, bx, by, bz);
  if (!gx || !gy || !gz || gx >= (1u << 31) || gy > 65535 || gz > 65535)
    return bad("cuLaunchKernel %s: grid %ux%ux%u", fn->name, gx, gy, gz);
  if (!bx || !by || !bz || bx > 1024 || by > 1024 || bz > 64 ||
      (unsigned long long)bx * by * bz > 1024)
    return bad("cuLaunchKernel %s: block %ux%ux%u", fn->name, bx, by, bz);
  if (smem > 48 * 1024) return bad("cuLaunchKernel %s: %u bytes of dynamic shared memory", fn->name, smem);
  if (!stream_ok(stream)) return bad("cuLaunchKernel %s: not a live stream", fn->name);
  if (extra) return bad("cuLaunchKernel %s: extra given", fn->name);
  if (!params && fn->nparams) return bad("cuLaunchKernel %s: no kernelParams", fn->name);
  for (int i = 0; i < fn->nparams; i++) {
    if (!params[i]) return bad("cuLaunchKernel %s: kernelParams[%d] is NULL", fn->name, i);
    CUdeviceptr p;
    memcpy(&p, params[i], sizeof p);
    if (find_alloc(p, 1) < 0)
      return bad("cuLaunchKernel %s: parameter %d (%#llx) is not a device pointer", fn->name, i, p);
  }
  if (capturing) {
    if (stream != capturing) return bad("cuLaunchKernel %s: on another stream during a capture", fn->name);
    fgraph *g = &graphs[0];
    for (int i = 0; i < 4; i++)
      if (graphs[i].live == 2) g = &graphs[i];
    if (g->live != 2 || g->nlaunch == MAXN * 4) return bad("capture: no capture graph or too many launches");
    g->l[g->nlaunch].f = f;
    unsigned gg[3] = {gx, gy, gz}, bb[3] = {bx, by, bz};
    memcpy(g->l[g->nlaunch].g, gg, sizeof gg);
    memcpy(g->l[g->nlaunch].b, bb, sizeof bb);
    g->nlaunch++;
    logf_("captured %s", fn->name);
    return OK;
  }
  launches++;
  return OK;
}

/*===--- events -----------------------------------------------------------===*/

static fevent *event_of(void *e) {
  fevent *v = e;
  if (!v || v < events || v >= events + sizeof events / sizeof events[0] || !v->state)
    return NULL;
  return v;
}

CUresult cuEventCreate(void **e, unsigned flags) {
  NEED_CTX("cuEventCreate");
  logf_("cuEventCreate %u", flags);
  if (!e) return bad("cuEventCreate(NULL)");
  if (flags & 2) return bad("cuEventCreate: CU_EVENT_DISABLE_TIMING on an event meant for timing");
  if (flags > 7) return bad("cuEventCreate: flags %u", flags);
  for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
    if (!events[i].state) {
      events[i] = (fevent){1, 0, NULL};
      *e = &events[i];
      return OK;
    }
  return bad("too many events");
}

CUresult cuEventDestroy_v2(void *e) {
  NEED_CTX("cuEventDestroy");
  logf_("cuEventDestroy");
  fevent *v = event_of(e);
  if (!v) return bad("cuEventDestroy: not a live event");
  v->state = 0;
  return OK;
}

CUresult cuEventRecord(void *e, void *stream) {
  NEED_CTX("cuEventRecord");
  fevent *v = event_of(e);
  if (!v) return bad("cuEventRecord: not a live event");
  if (!stream_ok(stream)) return bad("cuEventRecord: not a live stream");
  if (capturing) return bad("cuEventRecord during a stream capture (the events time step-by-step runs)");
  logf_("cuEventRecord %d", (int)(v - events));
  v->state = 2;
  v->at = launches;
  v->stream = stream;
  return OK;
}

CUresult cuEventElapsedTime(float *ms, void *a, void *b) {
  NEED_CTX("cuEventElapsedTime");
  fevent *x = event_of(a), *y = event_of(b);
  if (!ms || !x || !y) return bad("cuEventElapsedTime: NULL result or not live events");
  if (x->state == 1 || y->state == 1) return bad("cuEventElapsedTime: an event was never recorded");
  if (x->state == 2 || y->state == 2) return 600; /* CUDA_ERROR_NOT_READY */
  if (x->stream != y->stream) return bad("cuEventElapsedTime: events of two streams");
  if (x->at > y->at) return bad("cuEventElapsedTime: start recorded after end");
  logf_("cuEventElapsedTime %d %d", (int)(x - events), (int)(y - events));
  *ms = (float)(y->at - x->at) * 1e-3f; /* fake: 1 us per launch */
  return OK;
}

/*===--- graphs -----------------------------------------------------------===*/

CUresult cuStreamBeginCapture_v2(void *stream, int mode) {
  NEED_CTX("cuStreamBeginCapture");
  logf_("cuStreamBeginCapture %d", mode);
  if (!stream || !stream_ok(stream)) return bad("cuStreamBeginCapture: not a live stream (the legacy stream cannot be captured)");
  if (mode < 0 || mode > 2) return bad("cuStreamBeginCapture: mode %d", mode);
  if (capturing) return bad("cuStreamBeginCapture: already capturing");
  for (int i = 0; i < 4; i++)
    if (!graphs[i].live) {
      graphs[i].live = 2; /* being captured */
      graphs[i].nlaunch = 0;
      capturing = stream;
      return OK;
    }
  return bad("too many graphs");
}

CUresult cuStreamEndCapture(void *stream, void **graph) {
  NEED_CTX("cuStreamEndCapture");
  logf_("cuStreamEndCapture");
  if (!graph) return bad("cuStreamEndCapture(NULL)");
  if (!capturing || stream != capturing) return bad("cuStreamEndCapture: the stream is not capturing");
  capturing = NULL;
  for (int i = 0; i < 4; i++)
    if (graphs[i].live == 2) {
      graphs[i].live = 1;
      *graph = &graphs[i];
      return OK;
    }
  return bad("cuStreamEndCapture: no graph");
}

CUresult cuGraphInstantiateWithFlags(void **exec, void *graph,
                                     unsigned long long flags) {
  NEED_CTX("cuGraphInstantiateWithFlags");
  fgraph *g = graph;
  if (!exec || !g || g < graphs || g >= graphs + 4 || g->live != 1)
    return bad("cuGraphInstantiateWithFlags: not a live graph");
  if (flags > 15) return bad("cuGraphInstantiateWithFlags: flags %llu", flags);
  logf_("cuGraphInstantiateWithFlags %d launches", g->nlaunch);
  for (int i = 0; i < 4; i++)
    if (!execs[i].live) {
      execs[i] = *g;
      execs[i].live = 1;
      *exec = &execs[i];
      return OK;
    }
  return bad("too many graph execs");
}

CUresult cuGraphLaunch(void *exec, void *stream) {
  NEED_CTX("cuGraphLaunch");
  fgraph *x = exec;
  if (!x || x < execs || x >= execs + 4 || !x->live) return bad("cuGraphLaunch: not a live graph exec");
  if (!stream_ok(stream)) return bad("cuGraphLaunch: not a live stream");
  if (capturing) return bad("cuGraphLaunch during a capture");
  logf_("cuGraphLaunch %d launches", x->nlaunch);
  for (int i = 0; i < x->nlaunch; i++) {
    ffn *fn = x->l[i].f;
    if (!fn->live) return bad("cuGraphLaunch: the graph's function %d is gone", i);
    logf_("graph kernel %s %ux%ux%u %ux%ux%u", fn->name, x->l[i].g[0], x->l[i].g[1],
          x->l[i].g[2], x->l[i].b[0], x->l[i].b[1], x->l[i].b[2]);
    launches++;
  }
  return OK;
}

CUresult cuGraphExecDestroy(void *exec) {
  NEED_CTX("cuGraphExecDestroy");
  logf_("cuGraphExecDestroy");
  fgraph *x = exec;
  if (!x || x < execs || x >= execs + 4 || !x->live) return bad("cuGraphExecDestroy: not a live graph exec");
  x->live = 0;
  return OK;
}

CUresult cuGraphDestroy(void *graph) {
  NEED_CTX("cuGraphDestroy");
  logf_("cuGraphDestroy");
  fgraph *g = graph;
  if (!g || g < graphs || g >= graphs + 4 || g->live != 1) return bad("cuGraphDestroy: not a live graph");
  g->live = 0;
  return OK;
}

CUresult cuGetErrorString(CUresult r, const char **s) {
  if (!s) return bad("cuGetErrorString(NULL)");
  switch (r) {
  case NO_BINARY_FOR_GPU: *s = "CUDA_ERROR_NO_BINARY_FOR_GPU"; break;
  case UNSUPPORTED_PTX_VERSION: *s = "CUDA_ERROR_UNSUPPORTED_PTX_VERSION"; break;
  case NOT_FOUND: *s = "CUDA_ERROR_NOT_FOUND"; break;
  case INVALID_VALUE: *s = "CUDA_ERROR_INVALID_VALUE (fake libcuda: see its VIOLATION line)"; break;
  default: *s = "CUDA error (fake libcuda)"; break;
  }
  return OK;
}
