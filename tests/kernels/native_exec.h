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

#endif
