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

#endif
