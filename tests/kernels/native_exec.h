/* native_exec.h — runs a graph through the real planner (passes, layout,
 * memory plan, lowering) and calls every step's kernel template from the
 * natively compiled kernel library (ingot_kernels_native), looked up by
 * name.  Tests use it to check lowering + templates against the reference
 * interpreter without LLVM or the runtime in the loop. */
#ifndef INGOT_TESTS_NATIVE_EXEC_H
#define INGOT_TESTS_NATIVE_EXEC_H

#include "ir.h"

/* Mutates |g| (planner passes).  |inputs| follow g->inputs as given (before
 * planning); |outputs| (one per graph output) are owned by the caller:
 * free each with ir_value_free. */
ingot_status native_run(ir_graph *g, const ir_value *inputs,
                        ir_value *outputs);

#endif
