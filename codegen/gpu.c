/* gpu.c — PTX for the GPU kernel templates (gpu.h; DESIGN.md §6).
 *
 * The templates of codegen/kernels/nvptx/ are compiled by clang-19 for
 * nvptx64-nvidia-cuda into bitcode embedded here (like embed.c's CPU
 * families).  A cg_gpu_module parses it into its own LLVM context, and per
 * step adds
 *     kernel void SYMBOL(ptr arena, ptr weights) {
 *       TEMPLATE(@SYMBOL.desc, arena, weights); }
 * with the descriptor a private constant, marks SYMBOL a kernel in
 * !nvvm.annotations (LLVM 19 has no ptx_kernel calling convention,
 * KERNEL-NOTES.md), internalises everything else, runs default<O3> (the
 * template inlines and its descriptor loads fold, as on the CPU) and emits
 * PTX with the NVPTX target machine for the requested sm.  Every function
 * loses the target-cpu/target-features it was compiled with (sm_80), so
 * the target machine's sm and its default PTX ISA version apply.
 *
 * ptxas (the CUDA toolkit's, when the build machine has it) assembles the
 * PTX into a cubin per sm; `ptxas -v` reports registers, shared memory,
 * stack and spills per kernel, which the engine records (GPU_CUBIN) and
 * `ingot inspect` shows.  It runs as a child process on temporary files.
 */
#define _GNU_SOURCE
#include "gpu.h"
#include "llvm_util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/BitReader.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

extern char **environ;

#ifndef INGOT_BC_NVPTX
#error "gpu.c needs INGOT_BC_NVPTX from codegen/CMakeLists.txt"
#endif

/* clang-format off */
__asm__(".pushsection .rodata.ingot_bc_nvptx,\"a\",@progbits\n"
        ".balign 16\n"
        ".globl ingot_bc_nvptx_begin\n"
        ".hidden ingot_bc_nvptx_begin\n"
        "ingot_bc_nvptx_begin:\n"
        ".incbin \"" INGOT_BC_NVPTX "\"\n"
        ".globl ingot_bc_nvptx_end\n"
        ".hidden ingot_bc_nvptx_end\n"
        "ingot_bc_nvptx_end:\n"
        ".popsection\n");
/* clang-format on */
extern const uint8_t ingot_bc_nvptx_begin[]
    __attribute__((visibility("hidden")));
extern const uint8_t ingot_bc_nvptx_end[]
    __attribute__((visibility("hidden")));

/*===--- --sm ------------------------------------------------------------===*/

/* LLVM 19's NVPTX processors from sm_75 (ptxas 13 takes nothing older). */
static const uint32_t known_sm[] = {75, 80, 86, 87, 89, 90};

ingot_status cg_gpu_parse_sm(const char *list, uint32_t *out, size_t cap,
                             size_t *n) {
  *n = 0;
  if (!list || !*list)
    return ingot_make_status(INGOT_INVALID_ARGUMENT, "--sm: empty list");
  const char *p = list;
  while (*p) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char tok[32];
    if (len == 0 || len >= sizeof tok)
      return ingot_make_status(INGOT_INVALID_ARGUMENT,
                               "--sm '%s': empty or overlong value", list);
    memcpy(tok, p, len);
    tok[len] = 0;
    const char *num = strncmp(tok, "sm_", 3) == 0 ? tok + 3 : tok;
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(num, &end, 10);
    int ok = *num >= '0' && *num <= '9' && end && !*end && !errno;
    size_t k = 0;
    for (; ok && k < sizeof known_sm / sizeof known_sm[0]; k++)
      if (known_sm[k] == v) break;
    if (!ok || k == sizeof known_sm / sizeof known_sm[0])
      return ingot_make_status(
          INGOT_INVALID_ARGUMENT,
          "--sm '%s': LLVM 19's NVPTX backend has no GPU architecture for "
          "ptxas 13 (sm_75 and up) named by it (known: 75, 80, 86, 87, 89, "
          "90)",
          tok);
    int dup = 0;
    for (size_t i = 0; i < *n; i++) dup |= out[i] == v;
    if (!dup) {
      if (*n == cap)
        return ingot_make_status(INGOT_INVALID_ARGUMENT,
                                 "--sm '%s': too many values", list);
      size_t i = (*n)++;
      for (; i > 0 && out[i - 1] > v; i--) out[i] = out[i - 1];
      out[i] = (uint32_t)v;
    }
    p += len;
    if (*p == ',') p++;
  }
  return NULL;
}

/*===--- the module ------------------------------------------------------===*/

struct cg_gpu_module {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMTargetMachineRef tm;
  uint32_t sm;
  char **steps;
  size_t n_steps, cap_steps;
  char *diag;
  int emitted;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static void init_nvptx(void) {
  LLVMInitializeNVPTXTargetInfo();
  LLVMInitializeNVPTXTarget();
  LLVMInitializeNVPTXTargetMC();
  LLVMInitializeNVPTXAsmPrinter();
}

static ingot_status gpu_error(cg_gpu_module *m, const char *what,
                              const char *msg) {
  const char *why = msg && *msg ? msg : m->diag ? m->diag : "no reason given";
  return ingot_make_status(INGOT_INTERNAL, "codegen (sm_%u): %s: %s", m->sm,
                           what, why);
}

void cg_gpu_module_destroy(cg_gpu_module *m) {
  if (!m) return;
  for (size_t i = 0; i < m->n_steps; i++) free(m->steps[i]);
  free(m->steps);
  if (m->tm) LLVMDisposeTargetMachine(m->tm);
  if (m->mod) LLVMDisposeModule(m->mod);
  if (m->ctx) LLVMContextDispose(m->ctx);
  free(m->diag);
  free(m);
}

ingot_status cg_gpu_module_create(uint32_t sm, cg_gpu_module **out) {
  *out = NULL;
  size_t n = 0;
  uint32_t one;
  char smtxt[16];
  snprintf(smtxt, sizeof smtxt, "%u", sm);
  INGOT_RETURN_IF_ERROR(cg_gpu_parse_sm(smtxt, &one, 1, &n));
  pthread_once(&init_once, init_nvptx);
  cg_gpu_module *m = calloc(1, sizeof *m);
  if (!m) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  m->sm = sm;
  m->ctx = LLVMContextCreate();
  LLVMContextSetDiagnosticHandler(m->ctx, cg_llvm_keep_first_error, &m->diag);
  size_t size = (size_t)(ingot_bc_nvptx_end - ingot_bc_nvptx_begin);
  LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRange(
      (const char *)ingot_bc_nvptx_begin, size, "kernels_nvptx", 0);
  if (LLVMParseBitcodeInContext2(m->ctx, buf, &m->mod)) {
    LLVMDisposeMemoryBuffer(buf);
    ingot_status s = gpu_error(m, "reading the GPU kernel bitcode", NULL);
    m->mod = NULL;
    cg_gpu_module_destroy(m);
    return s;
  }
  LLVMDisposeMemoryBuffer(buf);
  const char *triple = "nvptx64-nvidia-cuda";
  LLVMTargetRef t;
  char *err = NULL;
  if (LLVMGetTargetFromTriple(triple, &t, &err)) {
    ingot_status s = gpu_error(m, "the NVPTX target", err);
    LLVMDisposeMessage(err);
    cg_gpu_module_destroy(m);
    return s;
  }
  char cpu[16];
  snprintf(cpu, sizeof cpu, "sm_%u", sm);
  m->tm = LLVMCreateTargetMachine(t, triple, cpu, "", LLVMCodeGenLevelAggressive,
                                  LLVMRelocDefault, LLVMCodeModelDefault);
  LLVMSetTarget(m->mod, triple);
  /* The target machine's sm and PTX version for every function; every
   * defined function inlines (as llvm.c does on the CPU), so the generic
   * templates the task-grid kernels call (kernels/nvptx/tasks.h) are
   * specialised with the step's descriptor instead of staying out of line
   * with every dtype's and op's code. */
  unsigned always = LLVMGetEnumAttributeKindForName("alwaysinline", 12);
  unsigned never = LLVMGetEnumAttributeKindForName("noinline", 8);
  for (LLVMValueRef f = LLVMGetFirstFunction(m->mod); f;
       f = LLVMGetNextFunction(f)) {
    LLVMRemoveStringAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                                     "target-cpu", 10);
    LLVMRemoveStringAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                                     "target-features", 15);
    if (LLVMIsDeclaration(f)) continue;
    LLVMRemoveEnumAttributeAtIndex(f, LLVMAttributeFunctionIndex, never);
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(m->ctx, always, 0));
  }
  *out = m;
  return NULL;
}

static int valid_symbol(const char *s) {
  if (!s || !*s || (*s >= '0' && *s <= '9')) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9') || *s == '_'))
      return 0;
  return 1;
}

ingot_status cg_gpu_module_add_step(cg_gpu_module *m, const char *symbol,
                                    const char *kernel, const void *desc,
                                    size_t desc_size) {
  if (!valid_symbol(symbol))
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "GPU step symbol '%s' is not a C identifier",
                             symbol ? symbol : "(null)");
  if (m->emitted)
    return ingot_make_status(INGOT_FAILED_PRECONDITION,
                             "GPU step %s: the module was already emitted",
                             symbol);
  LLVMValueRef tmpl = LLVMGetNamedFunction(m->mod, kernel);
  if (!tmpl || LLVMIsDeclaration(tmpl))
    return ingot_make_status(INGOT_NOT_FOUND,
                             "GPU step %s: no GPU kernel template named '%s'",
                             symbol, kernel);
  if (LLVMGetNamedFunction(m->mod, symbol) ||
      LLVMGetNamedGlobal(m->mod, symbol))
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "GPU step symbol %s is used twice or clashes "
                             "with a template",
                             symbol);
  if (m->n_steps == m->cap_steps) {
    size_t cap = m->cap_steps ? 2 * m->cap_steps : 16;
    char **g = realloc(m->steps, cap * sizeof *g);
    if (!g) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
    m->steps = g, m->cap_steps = cap;
  }
  if (!(m->steps[m->n_steps] = strdup(symbol)))
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  m->n_steps++;

  LLVMContextRef ctx = m->ctx;
  unsigned kind = LLVMGetEnumAttributeKindForName("alwaysinline", 12);
  LLVMAddAttributeAtIndex(tmpl, LLVMAttributeFunctionIndex,
                          LLVMCreateEnumAttribute(ctx, kind, 0));
  LLVMValueRef g = cg_llvm_desc_global(m->mod, symbol, desc, desc_size);

  LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0);
  LLVMTypeRef params[2] = {ptr, ptr};
  LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 2, 0);
  LLVMValueRef fn = LLVMAddFunction(m->mod, symbol, fty);
  LLVMSetLinkage(fn, LLVMExternalLinkage);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
  LLVMValueRef args[3] = {g, LLVMGetParam(fn, 0), LLVMGetParam(fn, 1)};
  LLVMBuildCall2(b, LLVMGlobalGetValueType(tmpl), tmpl, args, 3, "");
  LLVMBuildRetVoid(b);
  LLVMDisposeBuilder(b);

  /* !nvvm.annotations = !{!{ptr @SYMBOL, !"kernel", i32 1}} */
  LLVMMetadataRef md[3] = {
      LLVMValueAsMetadata(fn), LLVMMDStringInContext2(ctx, "kernel", 6),
      LLVMValueAsMetadata(LLVMConstInt(LLVMInt32TypeInContext(ctx), 1, 0))};
  LLVMAddNamedMetadataOperand(
      m->mod, "nvvm.annotations",
      LLVMMetadataAsValue(ctx, LLVMMDNodeInContext2(ctx, md, 3)));
  return NULL;
}

static int is_step(const cg_gpu_module *m, const char *name, size_t n) {
  for (size_t i = 0; i < m->n_steps; i++)
    if (strlen(m->steps[i]) == n && !memcmp(m->steps[i], name, n)) return 1;
  return 0;
}

ingot_status cg_gpu_module_emit(cg_gpu_module *m, char **ptx, size_t *size) {
  *ptx = NULL;
  *size = 0;
  if (m->emitted)
    return ingot_make_status(INGOT_FAILED_PRECONDITION,
                             "GPU module emitted twice");
  m->emitted = 1;
  for (LLVMValueRef f = LLVMGetFirstFunction(m->mod); f;
       f = LLVMGetNextFunction(f)) {
    size_t n = 0;
    const char *name = LLVMGetValueName2(f, &n);
    if (LLVMIsDeclaration(f) || is_step(m, name, n)) continue;
    LLVMSetLinkage(f, LLVMInternalLinkage);
  }
  char *msg = NULL;
  if (LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &msg)) {
    ingot_status s = gpu_error(m, "the GPU module is invalid", msg);
    LLVMDisposeMessage(msg);
    return s;
  }
  LLVMDisposeMessage(msg);
  LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
  LLVMErrorRef err =
      LLVMRunPasses(m->mod, "globaldce,default<O3>", m->tm, po);
  LLVMDisposePassBuilderOptions(po);
  if (err) {
    char *em = LLVMGetErrorMessage(err);
    ingot_status s = gpu_error(m, "optimising", em);
    LLVMDisposeErrorMessage(em);
    return s;
  }
  LLVMMemoryBufferRef out = NULL;
  char *emsg = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(m->tm, m->mod, LLVMAssemblyFile,
                                          &emsg, &out) ||
      m->diag) {
    ingot_status s = gpu_error(m, "emitting PTX", emsg);
    LLVMDisposeMessage(emsg);
    if (out) LLVMDisposeMemoryBuffer(out);
    return s;
  }
  size_t n = LLVMGetBufferSize(out);
  char *text = malloc(n + 1);
  if (!text) {
    LLVMDisposeMemoryBuffer(out);
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  }
  memcpy(text, LLVMGetBufferStart(out), n);
  text[n] = 0;
  LLVMDisposeMemoryBuffer(out);
  /* PTX is text: the buffer may carry a trailing NUL. */
  while (n && text[n - 1] == 0) n--;
  *ptx = text;
  *size = n;
  return NULL;
}

/*===--- ptxas -----------------------------------------------------------===*/

const char *cg_ptxas_find(char *buf, size_t cap) {
  const char *env = getenv("INGOT_PTXAS");
  if (env && *env) {
    snprintf(buf, cap, "%s", env);
    return access(buf, X_OK) == 0 ? buf : NULL;
  }
  snprintf(buf, cap, "/usr/local/cuda/bin/ptxas");
  if (access(buf, X_OK) == 0) return buf;
  const char *path = getenv("PATH");
  while (path && *path) {
    const char *e = strchr(path, ':');
    size_t len = e ? (size_t)(e - path) : strlen(path);
    if (len && len + 7 < cap) {
      snprintf(buf, cap, "%.*s/ptxas", (int)len, path);
      if (access(buf, X_OK) == 0) return buf;
    }
    path = e ? e + 1 : NULL;
  }
  return NULL;
}

static int read_all(const char *path, char **data, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  size_t cap = 4096, n = 0;
  char *b = malloc(cap + 1);
  while (b) {
    size_t r = fread(b + n, 1, cap - n, f);
    n += r;
    if (n < cap) break;
    char *g = realloc(b, 2 * cap + 1);
    if (!g) {
      free(b);
      b = NULL;
      break;
    }
    b = g, cap *= 2;
  }
  fclose(f);
  if (!b) return 0;
  b[n] = 0;
  *data = b, *size = n;
  return 1;
}

/* Fills |k| from ptxas -v's log: "Compiling entry function 'X' for
 * 'sm_80'", "N bytes stack frame, N bytes spill stores, N bytes spill
 * loads", "Used N registers, ... N bytes smem ...". */
static ingot_status parse_log(const char *log, cg_ptxas_kernel **out,
                              size_t *n_out) {
  size_t n = 0, cap = 8;
  cg_ptxas_kernel *k = calloc(cap, sizeof *k);
  if (!k) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  for (const char *line = log; line && *line;) {
    const char *eol = strchr(line, '\n');
    size_t len = eol ? (size_t)(eol - line) : strlen(line);
    char l[512];
    snprintf(l, sizeof l, "%.*s", (int)(len < 511 ? len : 511), line);
    const char *p;
    if ((p = strstr(l, "Compiling entry function '"))) {
      if (n == cap) {
        cg_ptxas_kernel *g = realloc(k, 2 * cap * sizeof *g);
        if (!g) {
          free(k);
          return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
        }
        k = g, cap *= 2;
      }
      memset(&k[n], 0, sizeof k[n]);
      p += strlen("Compiling entry function '");
      const char *q = strchr(p, '\'');
      snprintf(k[n].name, sizeof k[n].name, "%.*s",
               (int)(q ? q - p : (long)strlen(p)), p);
      n++;
    } else if (n && (p = strstr(l, "bytes stack frame"))) {
      unsigned a = 0, b = 0, c = 0;
      if (sscanf(l, " %u bytes stack frame, %u bytes spill stores, %u bytes "
                    "spill loads",
                 &a, &b, &c) == 3) {
        k[n - 1].stack_bytes = a;
        k[n - 1].spill_stores = b;
        k[n - 1].spill_loads = c;
      }
    } else if (n && (p = strstr(l, "Used "))) {
      unsigned r = 0;
      if (sscanf(p, "Used %u registers", &r) == 1) k[n - 1].registers = r;
      const char *sm = strstr(p, " bytes smem");
      if (sm) {
        const char *d = sm;
        while (d > p && d[-1] >= '0' && d[-1] <= '9') d--;
        k[n - 1].shared_bytes = (uint32_t)strtoul(d, NULL, 10);
      }
    }
    line = eol ? eol + 1 : NULL;
  }
  *out = k;
  *n_out = n;
  return NULL;
}

ingot_status cg_ptxas_run(const char *ptxas, const char *ptx, size_t ptx_size,
                          uint32_t sm, void **cubin, size_t *cubin_size,
                          cg_ptxas_kernel **kernels, size_t *n_kernels) {
  *cubin = NULL, *cubin_size = 0, *kernels = NULL, *n_kernels = 0;
  const char *tmp = getenv("TMPDIR");
  char dir[512];
  snprintf(dir, sizeof dir, "%s/ingot-ptxas-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir))
    return ingot_make_status(INGOT_INTERNAL, "ptxas: no temporary directory "
                             "(%s): %s", dir, strerror(errno));
  char in[600], out[600], log[600], arch[32];
  snprintf(in, sizeof in, "%s/k.ptx", dir);
  snprintf(out, sizeof out, "%s/k.cubin", dir);
  snprintf(log, sizeof log, "%s/log", dir);
  snprintf(arch, sizeof arch, "-arch=sm_%u", sm);
  ingot_status s = NULL;
  FILE *f = fopen(in, "wb");
  if (!f || fwrite(ptx, 1, ptx_size, f) != ptx_size) {
    s = ingot_make_status(INGOT_INTERNAL, "ptxas: cannot write %s", in);
    if (f) fclose(f);
    goto done;
  }
  fclose(f);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  char *argv[] = {(char *)ptxas, arch, "-v", "-o", out, in, NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, ptxas, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc) {
    s = ingot_make_status(INGOT_INTERNAL, "ptxas: cannot run %s: %s", ptxas,
                          strerror(rc));
    goto done;
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  char *text = NULL;
  size_t tn = 0;
  if (!read_all(log, &text, &tn)) text = NULL;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    s = ingot_make_status(INGOT_INTERNAL, "ptxas %s rejected the PTX: %s",
                          arch + 1, text ? text : "(no output)");
    free(text);
    goto done;
  }
  char *bin = NULL;
  size_t bn = 0;
  if (!read_all(out, &bin, &bn)) {
    s = ingot_make_status(INGOT_INTERNAL, "ptxas wrote no cubin");
    free(text);
    goto done;
  }
  s = parse_log(text ? text : "", kernels, n_kernels);
  free(text);
  if (s) {
    free(bin);
    goto done;
  }
  *cubin = bin, *cubin_size = bn;
done:
  unlink(in);
  unlink(out);
  unlink(log);
  rmdir(dir);
  return s;
}
