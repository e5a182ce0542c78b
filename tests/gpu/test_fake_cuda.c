/* test_fake_cuda.c — the CUDA driver test double (fake_cuda.c) refuses
 * invalid calls, so gpu_cuda_executor's "no VIOLATION" means something:
 * oversized blocks and grids, a NULL or non-device kernel parameter, a copy
 * past an allocation, calls before cuInit, a function not in the PTX, PTX
 * for a newer sm than the device, and a parameter count other than the
 * PTX entry's; events timed before their stream was synchronised, never
 * recorded, recorded out of order or during a capture; copies and
 * synchronisation during a capture, a capture ended on another stream,
 * graphs launched after they were destroyed.  usage: test_fake_cuda PATH/libcuda.so.1 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

typedef unsigned long long dptr;
#define FN(ret, name, args) ret(*name) args = (ret(*) args)dlsym(h, #name)

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  void *h = dlopen(argv[1], RTLD_NOW);
  if (!h) {
    fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  FN(int, cuInit, (unsigned));
  FN(int, cuDeviceGet, (int *, int));
  FN(int, cuCtxCreate_v2, (void **, unsigned, int));
  FN(int, cuCtxDestroy_v2, (void *));
  FN(int, cuMemAlloc_v2, (dptr *, size_t));
  FN(int, cuMemFree_v2, (dptr));
  FN(int, cuMemcpyHtoD_v2, (dptr, const void *, size_t));
  FN(int, cuModuleLoadDataEx, (void **, const void *, unsigned, int *, void **));
  FN(int, cuModuleGetFunction, (void **, void *, const char *));
  FN(int, cuModuleUnload, (void *));
  FN(int, cuLaunchKernel, (void *, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, void *, void **,
                           void **));
  int dev;
  CHECK(cuDeviceGet(&dev, 0) == 3); /* before cuInit */
  CHECK(cuInit(0) == 0);
  CHECK(cuDeviceGet(&dev, 0) == 0);
  void *ctx;
  CHECK(cuCtxCreate_v2(&ctx, 0, dev) == 0);
  dptr a = 0;
  CHECK(cuMemAlloc_v2(&a, 256) == 0);
  CHECK(cuMemAlloc_v2(&a, 0) == 1);
  char buf[512] = {0};
  CHECK(cuMemcpyHtoD_v2(a, buf, 256) == 0);
  CHECK(cuMemcpyHtoD_v2(a + 1, buf, 256) == 1); /* one byte past */
  static const char ptx[] =
      "//\n.version 7.0\n.target sm_80\n.address_size 64\n"
      ".visible .entry k(\n .param .u64 k_param_0,\n .param .u64 k_param_1\n)\n"
      "{\n ret;\n}\n";
  static const char ptx90[] = "//\n.version 7.8\n.target sm_90\n";
  void *mod, *mod90, *f;
  CHECK(cuModuleLoadDataEx(&mod90, ptx90, 0, NULL, NULL) == 209);
  CHECK(cuModuleLoadDataEx(&mod, ptx, 0, NULL, NULL) == 0);
  CHECK(cuModuleGetFunction(&f, mod, "nope") == 500);
  CHECK(cuModuleGetFunction(&f, mod, "k") == 0);
  dptr w = a + 64, bad = 12345;
  void *ok[2] = {&a, &w}, *wrong[2] = {&a, &bad}, *nul[2] = {&a, NULL};
  CHECK(cuLaunchKernel(f, 1, 1, 1, 128, 1, 1, 0, NULL, ok, NULL) == 0);
  CHECK(cuLaunchKernel(f, 1, 1, 1, 2048, 1, 1, 0, NULL, ok, NULL) == 1);
  CHECK(cuLaunchKernel(f, 1, 1, 1, 64, 32, 1, 0, NULL, ok, NULL) == 1);
  CHECK(cuLaunchKernel(f, 0, 1, 1, 128, 1, 1, 0, NULL, ok, NULL) == 1);
  CHECK(cuLaunchKernel(f, 1, 70000, 1, 128, 1, 1, 0, NULL, ok, NULL) == 1);
  CHECK(cuLaunchKernel(f, 1, 1, 1, 128, 1, 1, 65536, NULL, ok, NULL) == 1);
  CHECK(cuLaunchKernel(f, 1, 1, 1, 128, 1, 1, 0, NULL, wrong, NULL) == 1);
  CHECK(cuLaunchKernel(f, 1, 1, 1, 128, 1, 1, 0, NULL, nul, NULL) == 1);
  CHECK(cuLaunchKernel(f, 1, 1, 1, 128, 1, 1, 0, NULL, NULL, NULL) == 1);
  CHECK(cuLaunchKernel(f, 1, 1, 1, 128, 1, 1, 0, (void *)buf, ok, NULL) == 1);
  /* events and graphs */
  FN(int, cuStreamCreate, (void **, unsigned));
  FN(int, cuStreamDestroy_v2, (void *));
  FN(int, cuStreamSynchronize, (void *));
  FN(int, cuMemcpyHtoDAsync_v2, (dptr, const void *, size_t, void *));
  FN(int, cuEventCreate, (void **, unsigned));
  FN(int, cuEventDestroy_v2, (void *));
  FN(int, cuEventRecord, (void *, void *));
  FN(int, cuEventElapsedTime, (float *, void *, void *));
  FN(int, cuStreamBeginCapture_v2, (void *, int));
  FN(int, cuStreamEndCapture, (void *, void **));
  FN(int, cuGraphInstantiateWithFlags, (void **, void *, unsigned long long));
  FN(int, cuGraphLaunch, (void *, void *));
  FN(int, cuGraphExecDestroy, (void *));
  FN(int, cuGraphDestroy, (void *));
  void *st, *st2, *e0, *e1, *e2, *g, *x;
  float ms = -1;
  CHECK(cuStreamCreate(&st, 0) == 0);
  CHECK(cuStreamCreate(&st2, 0) == 0);
  CHECK(cuEventCreate(&e0, 2) == 1); /* timing disabled */
  CHECK(cuEventCreate(&e0, 0) == 0);
  CHECK(cuEventCreate(&e1, 0) == 0);
  CHECK(cuEventCreate(&e2, 0) == 0);
  CHECK(cuEventRecord(e0, st) == 0);
  CHECK(cuLaunchKernel(f, 1, 1, 1, 128, 1, 1, 0, st, ok, NULL) == 0);
  CHECK(cuEventRecord(e1, st) == 0);
  CHECK(cuEventElapsedTime(&ms, e0, e1) == 600); /* not synchronised */
  CHECK(cuEventElapsedTime(&ms, e0, e2) == 1);   /* e2 never recorded */
  CHECK(cuStreamSynchronize(st) == 0);
  CHECK(cuEventElapsedTime(&ms, e0, e1) == 0 && ms > 0);
  CHECK(cuEventElapsedTime(&ms, e1, e0) == 1); /* start after end */
  CHECK(cuEventRecord(e2, st2) == 0);
  CHECK(cuStreamSynchronize(st2) == 0);
  CHECK(cuEventElapsedTime(&ms, e0, e2) == 1); /* two streams */
  CHECK(cuStreamBeginCapture_v2(NULL, 1) == 1); /* the legacy stream */
  CHECK(cuStreamBeginCapture_v2(st, 1) == 0);
  CHECK(cuStreamBeginCapture_v2(st, 1) == 1); /* twice */
  CHECK(cuLaunchKernel(f, 1, 1, 1, 128, 1, 1, 0, st, ok, NULL) == 0);
  CHECK(cuLaunchKernel(f, 1, 1, 1, 128, 1, 1, 0, st2, ok, NULL) == 1);
  CHECK(cuMemcpyHtoDAsync_v2(a, buf, 16, st) == 1);
  CHECK(cuEventRecord(e0, st) == 1);
  CHECK(cuStreamSynchronize(st) == 1);
  CHECK(cuStreamEndCapture(st2, &g) == 1); /* not the capturing stream */
  CHECK(cuStreamEndCapture(st, &g) == 0);
  CHECK(cuGraphInstantiateWithFlags(&x, g, 0) == 0);
  CHECK(cuGraphLaunch(x, st) == 0);
  CHECK(cuGraphExecDestroy(x) == 0);
  CHECK(cuGraphLaunch(x, st) == 1); /* destroyed */
  CHECK(cuGraphDestroy(g) == 0);
  CHECK(cuGraphDestroy(g) == 1);
  CHECK(cuEventDestroy_v2(e0) == 0);
  CHECK(cuEventDestroy_v2(e0) == 1);
  CHECK(cuEventDestroy_v2(e1) == 0);
  CHECK(cuStreamDestroy_v2(st) == 0);
  CHECK(cuStreamDestroy_v2(st2) == 0);
  CHECK(cuModuleUnload(mod) == 0);
  CHECK(cuMemFree_v2(a) == 0);
  CHECK(cuMemFree_v2(a) == 1); /* twice */
  CHECK(cuEventDestroy_v2(e2) == 0);
  CHECK(cuCtxDestroy_v2(ctx) == 0);
  return check_report("test_fake_cuda");
}
