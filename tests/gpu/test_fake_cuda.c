/* test_fake_cuda.c — the CUDA driver test double (fake_cuda.c) refuses
 * invalid calls, so gpu_cuda_executor's "no VIOLATION" means something:
 * oversized blocks and grids, a NULL or non-device kernel parameter, a copy
 * past an allocation, calls before cuInit, a function not in the PTX, PTX
 * for a newer sm than the device, and a parameter count other than the
 * PTX entry's.  usage: test_fake_cuda PATH/libcuda.so.1 */
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
  CHECK(cuModuleUnload(mod) == 0);
  CHECK(cuMemFree_v2(a) == 0);
  CHECK(cuMemFree_v2(a) == 1); /* twice */
  CHECK(cuCtxDestroy_v2(ctx) == 0);
  return check_report("test_fake_cuda");
}
