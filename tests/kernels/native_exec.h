/* native_exec.h — runs a graph through the real planner (passes, layout,
 * memory plan, lowering) and calls every step's kernel template from the
 * natively compiled kernel library (ingot_kernels_native), looked up by
 * name.  Tests use it to check lowering + templates against the reference
 * interpreter without LLVM or the runtime in the loop.
 *
 * The arena starts out as garbage (kernels must not read what they have
 * not written) and every step's tasks run in three uneven parts (catches
 * kernels whose tasks are not independent of the split). */
#ifndef INGOT_TESTS_NATIVE_EXEC_H
#define INGOT_TESTS_NATIVE_EXEC_H

#include <stddef.h>

#include "cg.h"
#include "ir.h"
#include "plan.h"

/* Plans |g| for the build machine: native_run_target with the host
 * target. */
ingot_status native_run(ir_graph *g, const ir_value *inputs,
                        ir_value *outputs);

/* Mutates |g| (planner passes) and plans it for |t|, whose templates the
 * machine must be able to run.  |inputs| follow g->inputs as given (before
 * planning); |outputs| (one per graph output) are owned by the caller:
 * free each with ir_value_free. */
ingot_status native_run_target(ir_graph *g, const cg_target *t,
                               const ir_value *inputs, ir_value *outputs);

/* native_run_target that also writes the '|'-joined kernel names of the
 * plan's steps to |kernels| (|kcap| bytes; names that do not fit are left
 * out). */
ingot_status native_run_traced(ir_graph *g, const cg_target *t,
                               const ir_value *inputs, ir_value *outputs,
                               char *kernels, size_t kcap);

/* A step runner that replaces the native kernel call (the GPU tests run
 * steps through the SIMT emulator): returns 1 when it ran step |k| (and
 * wrote the kernel it used to |name|, |ncap| bytes), 0 to let the native
 * template run it, or -1 with *|err| set. */
typedef int (*native_step_hook)(void *ctx, const cg_plan *p, uint32_t k,
                                uint8_t *arena, char *name, size_t ncap,
                                ingot_status *err);

/* native_run_traced with |hook| (may be NULL) asked first for every
 * step. */
ingot_status native_run_hooked(ir_graph *g, const cg_target *t,
                               const ir_value *inputs, ir_value *outputs,
                               char *kernels, size_t kcap,
                               native_step_hook hook, void *ctx);

#endif
