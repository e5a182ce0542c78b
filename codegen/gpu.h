/* gpu.h — the GPU path of code generation (DESIGN.md §6, issue 7): which
 * GPU kernel template runs a planned step, and the NVPTX module that
 * specialises those templates into PTX kernels.
 *
 * A GPU engine is planned like a CPU engine for the generic x86-64 target
 * (the generic templates' descriptors and packed weights, which the GPU
 * templates read unchanged: kernels/nvptx/nvptx.h); each step then maps to
 * a GPU template and a launch geometry (cg_gpu_step_of).  Steps without a
 * GPU template make a --target cuda build fail, naming the step.
 */
#ifndef INGOT_CODEGEN_GPU_H
#define INGOT_CODEGEN_GPU_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cg.h"

typedef struct cg_gpu_step {
  const char *kernel; /* GPU template, e.g. "g_qconv" */
  uint32_t grid[3], block[3];
  uint32_t smem; /* static shared memory of the template, bytes */
} cg_gpu_step;

/* The GPU template and launch of a step planned with CPU template
 * |cpu_kernel| and descriptor |desc| (|desc_size| bytes).  Fails, naming
 * |cpu_kernel|, for steps no GPU template computes. */
ingot_status cg_gpu_step_of(const char *cpu_kernel, const void *desc,
                            size_t desc_size, cg_gpu_step *out);
/* cg_gpu_step_of for an engine whose lowest --sm is |lowest_sm|: int8
 * products whose K fits use the tensor-core template g_qconv_mma when
 * every sm has it (>= 80; docs/gpu.md "Kernel choice"). */
ingot_status cg_gpu_step_for(const char *cpu_kernel, const void *desc,
                             size_t desc_size, uint32_t lowest_sm,
                             cg_gpu_step *out);

/*===------------------------------------------------------------------===*/
/* PTX: the GPU templates specialised per step with LLVM's NVPTX target    */
/*===------------------------------------------------------------------===*/

/* The compute capabilities a GPU engine may target: those LLVM 19's NVPTX
 * backend knows from sm_75 (ptxas 13's oldest) up.  |list| is a comma-
 * separated list ("80,86" or "sm_80,sm_90"); |out| gets at most |cap|
 * values as XY (80 = sm_80), sorted, without duplicates.  Errors name the
 * value LLVM does not know. */
ingot_status cg_gpu_parse_sm(const char *list, uint32_t *out, size_t cap,
                             size_t *n);

typedef struct cg_gpu_module cg_gpu_module;

/* A module of kernels for sm_|sm| (one LLVM context; one thread at a
 * time). */
ingot_status cg_gpu_module_create(uint32_t sm, cg_gpu_module **out);
void cg_gpu_module_destroy(cg_gpu_module *m);
/* Adds PTX kernel |symbol|(arena, weights) calling GPU template |kernel|
 * with a constant copy of |desc|. */
ingot_status cg_gpu_module_add_step(cg_gpu_module *m, const char *symbol,
                                    const char *kernel, const void *desc,
                                    size_t desc_size);
/* O3, then PTX text (NUL-terminated; *size excludes the NUL), malloc'd. */
ingot_status cg_gpu_module_emit(cg_gpu_module *m, char **ptx, size_t *size);

/* ptxas: what `ptxas -v` says about one kernel. */
typedef struct cg_ptxas_kernel {
  char name[128];
  uint32_t registers, shared_bytes, stack_bytes;
  uint32_t spill_stores, spill_loads; /* bytes */
} cg_ptxas_kernel;

/* The ptxas to use: $INGOT_PTXAS, else /usr/local/cuda/bin/ptxas, else
 * `ptxas` on PATH; NULL when there is none (|buf| holds the path). */
const char *cg_ptxas_find(char *buf, size_t cap);

/* Assembles |ptx| for sm_|sm| with |ptxas|: the cubin (*cubin, malloc'd)
 * and per-kernel figures (*kernels, malloc'd, *n_kernels).  A ptxas error
 * fails with its message. */
ingot_status cg_ptxas_run(const char *ptxas, const char *ptx, size_t ptx_size,
                          uint32_t sm, void **cubin, size_t *cubin_size,
                          cg_ptxas_kernel **kernels, size_t *n_kernels);

/*===------------------------------------------------------------------===*/
/* The GPU sections of an engine (gpu_engine.c)                            */
/*===------------------------------------------------------------------===*/

typedef struct cg_plan cg_plan;

/* GPU_PTX, GPU_CUBIN (empty without ptxas) and GPU_PLAN bytes for |p|
 * (runtime/engine_format.h), each malloc'd. */
typedef struct cg_gpu_sections {
  void *ptx, *cubin, *plan;
  size_t ptx_size, cubin_size, plan_size;
  uint32_t lowest_sm;
  char note[256]; /* what the build could not do (no ptxas), or "" */
} cg_gpu_sections;

/* Maps every step of |p| to its GPU kernel (failing on the first that has
 * none, naming it), emits PTX for each of the |n_sm| sms and, when ptxas
 * is found, a cubin per sm with ptxas -v's figures.  |log| (may be NULL)
 * gets one line per sm. */
ingot_status cg_gpu_build_sections(const cg_plan *p, const uint32_t *sms,
                                   size_t n_sm, FILE *log,
                                   cg_gpu_sections *out);
void cg_gpu_sections_free(cg_gpu_sections *s);

#endif
