/* inspect.h — `ingot inspect ENGINE` (inspect_engine.c); cmd_inspect.c
 * parses the options and describes models itself. */
#ifndef INGOT_COMPILER_INSPECT_H
#define INGOT_COMPILER_INSPECT_H

#include <stdbool.h>
#include <stdint.h>

#include "engine_view.h"

typedef struct inspect_opts {
  bool check;              /* --check: header only, exit 1 if not runnable */
  bool json;               /* --json: the report as JSON */
  const char *ir_step;     /* --ir STEP, or NULL */
  const char *disasm_step; /* --disasm STEP, or NULL */
  bool att;                /* --att: AT&T syntax for --disasm */
  bool memory;             /* --memory: the memory plan, tensor by tensor */
} inspect_opts;

/* Prints what |o| asks about the engine at |path|; returns the exit code
 * (0, or 1 after printing the error). */
int inspect_engine(const char *path, const inspect_opts *o);

/* Prints step |step| of |e| disassembled (Intel syntax, or AT&T if
 * !|intel|) to stdout.  In the plugin only (cmd_disasm.c: it links LLVM);
 * the executable reaches it through ingot_plugin_disasm.  DATA_LOSS when
 * the CPU_CODE object is malformed. */
ingot_status inspect_disasm_step(const ev_engine *e, uint32_t step, bool intel);

#endif
