/* gpu_exec.h — runs a graph's plan with every step on its GPU kernel
 * template (codegen/gpu.h's mapping, the template compiled for the host)
 * in the SIMT emulator (simt_emu.h), with native_exec's planner, arena and
 * I/O handling.  A step without a GPU kernel is an error: these tests
 * check the GPU path, never a CPU fallback. */
#ifndef INGOT_TESTS_GPU_EXEC_H
#define INGOT_TESTS_GPU_EXEC_H

#include "native_exec.h"

/* native_run_traced with GPU steps; |kernels| gets the GPU templates'
 * names. */
ingot_status gpu_run_traced(ir_graph *g, const cg_target *t,
                            const ir_value *inputs, ir_value *outputs,
                            char *kernels, size_t kcap);

/* The lowest sm the plans are mapped for (cg_gpu_step_for): 80, as a
 * default --target cuda build, picks g_qconv_mma where it fits; 75 keeps
 * every product on g_qconv (dp4a).  |force_mma| runs every product that
 * would run g_qconv on g_qconv_mma (whatever its K), so the tests cover
 * the template on shapes the choice rule gives to dp4a. */
void gpu_exec_set_sm(uint32_t sm, int force_mma);

#endif
