/* llvm.c — specialising kernel templates into step functions with LLVM
 * (DESIGN.md §6; the API is in cg.h).
 *
 * A cg_module is one LLVM context and module holding the kernel templates
 * of the target's family, of the families below it and the generic ones,
 * parsed from the bitcode embedded by embed.c and linked (family templates
 * carry a suffix, so names never clash).  The pipeline:
 *
 *  1. create: every function gets the target's "target-cpu" and
 *     "target-features" (and loses the "tune-cpu" it was compiled with), so
 *     a generic template compiled for plain x86-64 is optimised for the real
 *     CPU, and the inliner, which refuses a callee whose features the caller
 *     lacks, accepts every template into every step.  Every function is
 *     also alwaysinline, so a template's helpers are specialised with it.
 *  2. add_step: a private constant [N x i8] global holds the descriptor
 *     bytes; SYMBOL(arena, weights, t0, t1) calls the template with it.  The
 *     template is marked alwaysinline, and before that its call graph is
 *     checked for x86 intrinsics the target lacks (AMX, VNNI, ...), which
 *     LLVM's backend would otherwise die on.
 *  3. emit: everything but the step functions becomes internal, so unused
 *     templates vanish (globaldce) before default<O3> runs: compile time
 *     goes to the templates an engine uses.  After O3 the descriptor loads
 *     have folded to constants, loops have constant trip counts, dead
 *     branches are gone.  The object is emitted from a clone of the
 *     optimised module (code generation rewrites the IR it runs on), so
 *     emitting twice, or printing the IR after emitting, sees the same
 *     module, and the same input gives the same bytes.
 *
 * Code model small, relocation model PIC: the runtime's loader maps the
 * object anywhere, so data is reached RIP-relative (PC32), never through
 * absolute 32-bit addresses; memcpy/memset/memmove are PLT32 calls the
 * loader resolves.  The emitted object's undefined symbols are checked:
 * anything else (say floorf, which LLVM emits for floor on a CPU without
 * SSE4.1) fails the build here, naming the symbol, instead of failing every
 * engine load later.
 *
 * Step ABI and the attributes it implies: |arena| and |weights| are
 * distinct allocations (noalias) and steps never write the weights
 * (readonly); tasks of one step write disjoint bytes (kabi.h).
 *
 * Errors from LLVM (bitcode, linking, passes, code generation) reach us
 * through the context's diagnostic handler, so none of them prints and
 * exits; each becomes an ingot_status carrying LLVM's message.  A module
 * is used by one thread at a time; modules are independent (one LLVM
 * context each), so several may be built in parallel.
 */
#include "cg.h"
#include "llvm_util.h"

#include <elf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/BitReader.h>
#include <llvm-c/Comdat.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/Linker.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "engine_format.h"

/* Defined in embed.c. */
const uint8_t *cg_kernel_bitcode(cg_isa isa, size_t *size);

enum { M_BUILDING, M_OPTIMIZED, M_BROKEN };

struct cg_module {
  cg_target target;
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMTargetMachineRef tm;
  char **steps; /* step symbols, owned */
  size_t n_steps, cap_steps;
  int state;
  char *diag; /* first error LLVM reported, owned */
};

static const char *const family_name[] = {"generic", "x86_avx2", "x86_avx512"};

/*===------------------------------------------------------------------===*/
/* LLVM plumbing                                                           */
/*===------------------------------------------------------------------===*/
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_x86(void) {
  LLVMInitializeX86TargetInfo();
  LLVMInitializeX86Target();
  LLVMInitializeX86TargetMC();
  LLVMInitializeX86AsmPrinter();
  LLVMInitializeX86AsmParser(); /* inline asm in templates */
}

void cg_llvm_keep_first_error(LLVMDiagnosticInfoRef di, void *first_error) {
  char **slot = first_error;
  if (LLVMGetDiagInfoSeverity(di) != LLVMDSError || *slot) return;
  char *text = LLVMGetDiagInfoDescription(di);
  *slot = strdup(text ? text : "unknown LLVM error");
  LLVMDisposeMessage(text);
}

LLVMValueRef cg_llvm_desc_global(LLVMModuleRef mod, const char *symbol,
                                 const void *desc, size_t size) {
  char gname[300];
  snprintf(gname, sizeof gname, "%s.desc", symbol);
  LLVMValueRef init = LLVMConstStringInContext2(
      LLVMGetModuleContext(mod), size ? desc : "", size, 1);
  LLVMValueRef g = LLVMAddGlobal(mod, LLVMTypeOf(init), gname);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  LLVMSetAlignment(g, 16);
  return g;
}

/* A status for a failed LLVM call: |what| plus LLVM's reason (|msg| if
 * given, else the diagnostic the context caught). */
static ingot_status llvm_error(cg_module *m, ingot_status_code code,
                               const char *what, const char *msg) {
  const char *why = msg && *msg ? msg : m->diag ? m->diag : "no reason given";
  return ingot_make_status(code, "codegen (%s): %s: %s", m->target.cpu, what,
                           why);
}

static void set_str_attr(LLVMContextRef ctx, LLVMValueRef fn, const char *k,
                         const char *v) {
  LLVMAttributeIndex fi = LLVMAttributeFunctionIndex;
  LLVMRemoveStringAttributeAtIndex(fn, fi, k, (unsigned)strlen(k));
  if (v && *v)
    LLVMAddAttributeAtIndex(
        fn, fi,
        LLVMCreateStringAttribute(ctx, k, (unsigned)strlen(k), v,
                                  (unsigned)strlen(v)));
}

static void add_enum_attr(LLVMContextRef ctx, LLVMValueRef fn,
                          LLVMAttributeIndex idx, const char *name) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(ctx, kind, 0));
}

static void remove_enum_attr(LLVMValueRef fn, const char *name) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMRemoveEnumAttributeAtIndex(fn, LLVMAttributeFunctionIndex, kind);
}

/* Wide vectors for CPUs where 512-bit code does not cost clock speed
 * enough to matter (LLVM's default for AVX-512 CPUs is 256-bit
 * auto-vectorisation, chosen for Skylake-SP). */
static const char *vector_width_for(const cg_target *t) {
  if (t->isa != CG_ISA_AVX512) return NULL;
  if (!strcmp(t->cpu, "sapphirerapids") || !strcmp(t->cpu, "graniterapids") ||
      !strcmp(t->cpu, "icelake-server"))
    return "512";
  return NULL;
}

/* The target's code-generation attributes on |fn| (see the file comment). */
static void retarget(cg_module *m, LLVMValueRef fn) {
  set_str_attr(m->ctx, fn, "target-cpu", m->target.cpu);
  set_str_attr(m->ctx, fn, "target-features", m->target.features);
  set_str_attr(m->ctx, fn, "tune-cpu", NULL);
  set_str_attr(m->ctx, fn, "prefer-vector-width", vector_width_for(&m->target));
}

/* Every helper a template calls is inlined too: a helper left out of line
 * is shared by all steps using the template and so never sees any step's
 * constants (one conv ran 17x slower that way). */
static void inline_always(cg_module *m, LLVMValueRef fn) {
  remove_enum_attr(fn, "noinline");
  add_enum_attr(m->ctx, fn, LLVMAttributeFunctionIndex, "alwaysinline");
}

static ingot_status parse_family(cg_module *m, cg_isa isa, LLVMModuleRef *out) {
  size_t size = 0;
  const uint8_t *bc = cg_kernel_bitcode(isa, &size);
  *out = NULL;
  if (!bc || size == 0)
    return ingot_make_status(
        INGOT_INTERNAL, "codegen: no embedded bitcode for family %d", (int)isa);
  LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRange(
      (const char *)bc, size, family_name[isa], 0);
  LLVMBool bad = LLVMParseBitcodeInContext2(m->ctx, buf, out);
  LLVMDisposeMemoryBuffer(buf);
  if (bad) {
    *out = NULL;
    char what[96];
    snprintf(what, sizeof what, "reading the %s kernel bitcode",
             family_name[isa]);
    return llvm_error(m, INGOT_INTERNAL, what, NULL);
  }
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Modules                                                                 */
/*===------------------------------------------------------------------===*/
ingot_status cg_module_create(const cg_target *target, cg_module **out) {
  if (!out)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "cg_module_create: no output");
  *out = NULL;
  if (!target || !target->triple[0] || !target->cpu[0] ||
      (unsigned)target->isa > CG_ISA_AVX512)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "cg_module_create: incomplete target");
  pthread_once(&init_once, init_x86);

  cg_module *m = calloc(1, sizeof *m);
  if (!m)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                             "codegen: out of memory");
  m->target = *target;
  m->ctx = LLVMContextCreate();
  LLVMContextSetDiagnosticHandler(m->ctx, cg_llvm_keep_first_error, &m->diag);

  /* Every family up to the target's: an AVX-512 target without VNNI runs
   * the AVX2 int8 templates (lower_q8.c). */
  ingot_status s = parse_family(m, CG_ISA_GENERIC, &m->mod);
  for (int isa = CG_ISA_AVX2; !s && isa <= (int)target->isa; isa++) {
    LLVMModuleRef fam = NULL;
    s = parse_family(m, (cg_isa)isa, &fam);
    /* LLVMLinkModules2 consumes |fam| whether or not it succeeds. */
    if (!s && LLVMLinkModules2(m->mod, fam))
      s = llvm_error(m, INGOT_INTERNAL, "linking the kernel bitcode", NULL);
  }

  if (!s) {
    LLVMTargetRef t = NULL;
    char *err = NULL;
    if (LLVMGetTargetFromTriple(target->triple, &t, &err)) {
      s = llvm_error(m, INGOT_INVALID_ARGUMENT, target->triple, err);
    } else {
      m->tm = LLVMCreateTargetMachine(
          t, target->triple, target->cpu, target->features,
          LLVMCodeGenLevelAggressive, LLVMRelocPIC, LLVMCodeModelSmall);
      if (!m->tm)
        s = llvm_error(m, INGOT_INVALID_ARGUMENT, "creating the target machine",
                       NULL);
    }
    LLVMDisposeMessage(err);
  }

  if (!s) {
    LLVMSetTarget(m->mod, target->triple);
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(m->tm);
    char *rep = LLVMCopyStringRepOfTargetData(dl);
    LLVMSetDataLayout(m->mod, rep);
    LLVMDisposeMessage(rep);
    LLVMDisposeTargetData(dl);
    /* Fixed names: nothing about the build machine reaches the object. */
    LLVMSetModuleIdentifier(m->mod, "ingot", 5);
    LLVMSetSourceFileName(m->mod, "ingot", 5);
    for (LLVMValueRef f = LLVMGetFirstFunction(m->mod); f;
         f = LLVMGetNextFunction(f))
      if (!LLVMIsDeclaration(f)) {
        retarget(m, f);
        inline_always(m, f);
      }
  }

  if (s) {
    cg_module_destroy(m);
    return s;
  }
  *out = m;
  return NULL;
}

void cg_module_destroy(cg_module *m) {
  if (!m) return;
  if (m->mod) LLVMDisposeModule(m->mod);
  if (m->tm) LLVMDisposeTargetMachine(m->tm);
  if (m->ctx) LLVMContextDispose(m->ctx);
  for (size_t i = 0; i < m->n_steps; i++) free(m->steps[i]);
  free(m->steps);
  free(m->diag);
  memset(m, 0, sizeof *m);
  free(m);
}

/*===------------------------------------------------------------------===*/
/* Steps                                                                   */
/*===------------------------------------------------------------------===*/

/* x86 intrinsics and the CPU features the backend needs to select them.
 * First matching row wins.  Generic vector IR never needs a row: LLVM
 * legalises any vector width for any x86 CPU. */
static const struct {
  const char *prefix, *suffix; /* suffix NULL: any */
  uint64_t all, any;           /* needs all of |all| and one of |any| */
  const char *what;
} intrinsic_needs[] = {
    {"llvm.x86.tdpbf16ps", NULL, INGOT_CPU_AMX_TILE | INGOT_CPU_AMX_BF16, 0,
     "AMX-BF16"},
    {"llvm.x86.tdpfp16ps", NULL, INGOT_CPU_AMX_TILE | INGOT_CPU_AMX_FP16, 0,
     "AMX-FP16"},
    {"llvm.x86.tdpb", NULL, INGOT_CPU_AMX_TILE | INGOT_CPU_AMX_INT8, 0,
     "AMX-INT8"},
    {"llvm.x86.tile", NULL, INGOT_CPU_AMX_TILE, 0, "AMX-TILE"},
    {"llvm.x86.ldtilecfg", NULL, INGOT_CPU_AMX_TILE, 0, "AMX-TILE"},
    {"llvm.x86.sttilecfg", NULL, INGOT_CPU_AMX_TILE, 0, "AMX-TILE"},
    {"llvm.x86.cast.tile", NULL, INGOT_CPU_AMX_TILE, 0, "AMX-TILE"},
    {"llvm.x86.avx512.vpdp", ".512", INGOT_CPU_AVX512VNNI, 0, "AVX512-VNNI"},
    {"llvm.x86.avx512.vpdp", NULL, 0, INGOT_CPU_AVX512VNNI | INGOT_CPU_AVXVNNI,
     "AVX-VNNI or AVX512-VNNI"},
    {"llvm.x86.avx512bf16.", NULL, INGOT_CPU_AVX512BF16, 0, "AVX512-BF16"},
    {"llvm.x86.avx512.", NULL, INGOT_CPU_AVX512F, 0, "AVX-512"},
    {"llvm.x86.avx2.", NULL, INGOT_CPU_AVX2, 0, "AVX2"},
    {"llvm.x86.fma.", NULL, INGOT_CPU_FMA, 0, "FMA"},
    {"llvm.x86.avx.", NULL, INGOT_CPU_AVX, 0, "AVX"},
    {"llvm.x86.vcvtph2ps", NULL, INGOT_CPU_F16C, 0, "F16C"},
    {"llvm.x86.vcvtps2ph", NULL, INGOT_CPU_F16C, 0, "F16C"},
};

static int ends_with(const char *s, size_t n, const char *suffix) {
  size_t k = strlen(suffix);
  return n >= k && !memcmp(s + n - k, suffix, k);
}

/* Checks one intrinsic |fn| against the target. */
static ingot_status check_intrinsic(cg_module *m, const char *kernel,
                                    LLVMValueRef fn) {
  size_t n = 0;
  const char *name = LLVMGetValueName2(fn, &n);
  if (n < 9 || memcmp(name, "llvm.x86.", 9)) return NULL;
  uint64_t have = m->target.cpu_features;
  for (size_t i = 0; i < sizeof intrinsic_needs / sizeof intrinsic_needs[0];
       i++) {
    size_t pl = strlen(intrinsic_needs[i].prefix);
    if (n < pl || memcmp(name, intrinsic_needs[i].prefix, pl)) continue;
    if (intrinsic_needs[i].suffix &&
        !ends_with(name, n, intrinsic_needs[i].suffix))
      continue;
    uint64_t all = intrinsic_needs[i].all, any = intrinsic_needs[i].any;
    if ((have & all) == all && (!any || (have & any))) return NULL;
    return ingot_make_status(
        INGOT_INCOMPATIBLE,
        "kernel template %s uses %.*s, which needs %s; target %s lacks it "
        "(its lowering must choose another template for this CPU)",
        kernel, (int)n, name, intrinsic_needs[i].what, m->target.cpu);
  }
  return NULL;
}

/* Walks the functions |kernel| can reach and checks their intrinsics. */
static ingot_status check_call_graph(cg_module *m, const char *kernel,
                                     LLVMValueRef root) {
  size_t cap = 16, n = 1;
  LLVMValueRef *seen = malloc(cap * sizeof *seen);
  if (!seen)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                             "codegen: out of memory");
  seen[0] = root;
  ingot_status s = NULL;
  for (size_t next = 0; next < n && !s; next++) {
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(seen[next]); bb && !s;
         bb = LLVMGetNextBasicBlock(bb)) {
      for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in && !s;
           in = LLVMGetNextInstruction(in)) {
        if (!LLVMIsACallInst(in)) continue;
        LLVMValueRef callee = LLVMIsAFunction(LLVMGetCalledValue(in));
        if (!callee) continue;
        if (LLVMIsDeclaration(callee)) {
          s = check_intrinsic(m, kernel, callee);
          continue;
        }
        size_t k = 0;
        while (k < n && seen[k] != callee) k++;
        if (k < n) continue;
        if (n == cap) {
          LLVMValueRef *grown = realloc(seen, 2 * cap * sizeof *seen);
          if (!grown) {
            s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                                  "codegen: out of memory");
            break;
          }
          seen = grown, cap *= 2;
        }
        seen[n++] = callee;
      }
    }
  }
  free(seen);
  return s;
}

static int valid_symbol(const char *s) {
  if (!s ||
      !(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
    return 0;
  for (const char *p = s; *p; p++)
    if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
          (*p >= '0' && *p <= '9')))
      return 0;
  return strlen(s) < 256;
}

/* The template signature, kabi.h's KSIG: void(ptr, ptr, ptr, i64, i64). */
static int is_template_type(LLVMContextRef ctx, LLVMTypeRef fty) {
  if (LLVMGetTypeKind(fty) != LLVMFunctionTypeKind ||
      LLVMIsFunctionVarArg(fty) ||
      LLVMGetReturnType(fty) != LLVMVoidTypeInContext(ctx) ||
      LLVMCountParamTypes(fty) != 5)
    return 0;
  LLVMTypeRef p[5];
  LLVMGetParamTypes(fty, p);
  LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0);
  LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
  return p[0] == ptr && p[1] == ptr && p[2] == ptr && p[3] == i64 &&
         p[4] == i64;
}

ingot_status cg_module_add_step(cg_module *m, const char *symbol,
                                const char *kernel, const void *desc,
                                size_t desc_size) {
  if (!m || !kernel || (!desc && desc_size))
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "cg_module_add_step: missing argument");
  if (!valid_symbol(symbol))
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "step symbol '%s' is not a C identifier",
                             symbol ? symbol : "(null)");
  if (m->state != M_BUILDING)
    return ingot_make_status(INGOT_FAILED_PRECONDITION,
                             "step %s: the module was already emitted", symbol);
  if (desc_size > ((size_t)1 << 24))
    return ingot_make_status(INGOT_OUT_OF_RANGE,
                             "step %s: descriptor of %zu bytes is too large",
                             symbol, desc_size);

  LLVMValueRef tmpl = LLVMGetNamedFunction(m->mod, kernel);
  if (!tmpl || LLVMIsDeclaration(tmpl))
    return ingot_make_status(
        INGOT_NOT_FOUND,
        "step %s: no kernel template named '%s' for target %s (templates: "
        "generic%s%s)",
        symbol, kernel, m->target.cpu,
        m->target.isa != CG_ISA_GENERIC ? " + " : "",
        m->target.isa != CG_ISA_GENERIC ? family_name[m->target.isa] : "");
  for (size_t i = 0; i < m->n_steps; i++)
    if (!strcmp(m->steps[i], symbol))
      return ingot_make_status(INGOT_INVALID_ARGUMENT,
                               "step symbol %s is used twice", symbol);
  if (LLVMGetNamedFunction(m->mod, symbol) ||
      LLVMGetNamedGlobal(m->mod, symbol))
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "step symbol %s clashes with a kernel template "
                             "symbol",
                             symbol);
  LLVMTypeRef tty = LLVMGlobalGetValueType(tmpl);
  if (!is_template_type(m->ctx, tty))
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "step %s: '%s' is not a kernel template (its "
                             "signature is not KSIG's, kabi.h)",
                             symbol, kernel);
  INGOT_RETURN_IF_ERROR(check_call_graph(m, kernel, tmpl));

  if (m->n_steps == m->cap_steps) {
    size_t cap = m->cap_steps ? 2 * m->cap_steps : 16;
    char **grown = realloc(m->steps, cap * sizeof *grown);
    if (!grown)
      return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                               "codegen: out of memory");
    m->steps = grown, m->cap_steps = cap;
  }
  char *name = strdup(symbol);
  if (!name)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                             "codegen: out of memory");
  m->steps[m->n_steps++] = name;

  /* The template is inlined into every step that uses it. */
  remove_enum_attr(tmpl, "noinline");
  remove_enum_attr(tmpl, "optnone");
  add_enum_attr(m->ctx, tmpl, LLVMAttributeFunctionIndex, "alwaysinline");

  LLVMContextRef ctx = m->ctx;
  LLVMValueRef g = cg_llvm_desc_global(m->mod, symbol, desc, desc_size);

  /* void SYMBOL(ptr noalias arena, ptr noalias readonly weights, i64, i64) */
  LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0);
  LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
  LLVMTypeRef params[4] = {ptr, ptr, i64, i64};
  LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 4, 0);
  LLVMValueRef fn = LLVMAddFunction(m->mod, symbol, fty);
  LLVMSetLinkage(fn, LLVMExternalLinkage);
  add_enum_attr(ctx, fn, LLVMAttributeFunctionIndex, "nounwind");
  add_enum_attr(ctx, fn, 1, "noalias");
  add_enum_attr(ctx, fn, 1, "nocapture");
  add_enum_attr(ctx, fn, 2, "noalias");
  add_enum_attr(ctx, fn, 2, "nocapture");
  add_enum_attr(ctx, fn, 2, "readonly");
  /* The template's string attributes ("no-trapping-math", ...), then the
   * target's. */
  unsigned na = LLVMGetAttributeCountAtIndex(tmpl, LLVMAttributeFunctionIndex);
  if (na) {
    LLVMAttributeRef *attrs = malloc(na * sizeof *attrs);
    if (!attrs) {
      m->state = M_BROKEN;
      return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                               "codegen: out of memory");
    }
    LLVMGetAttributesAtIndex(tmpl, LLVMAttributeFunctionIndex, attrs);
    for (unsigned i = 0; i < na; i++)
      if (LLVMIsStringAttribute(attrs[i]))
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, attrs[i]);
    free(attrs);
  }
  retarget(m, fn);

  LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
  LLVMValueRef args[5] = {g, LLVMGetParam(fn, 0), LLVMGetParam(fn, 1),
                          LLVMGetParam(fn, 2), LLVMGetParam(fn, 3)};
  LLVMBuildCall2(b, tty, tmpl, args, 5, "");
  LLVMBuildRetVoid(b);
  LLVMDisposeBuilder(b);
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Optimisation and emission                                               */
/*===------------------------------------------------------------------===*/
static int is_step(const cg_module *m, const char *name, size_t n) {
  for (size_t i = 0; i < m->n_steps; i++)
    if (strlen(m->steps[i]) == n && !memcmp(m->steps[i], name, n)) return 1;
  return 0;
}

static void internalize(cg_module *m, LLVMValueRef v) {
  size_t n = 0;
  const char *name = LLVMGetValueName2(v, &n);
  if (LLVMIsDeclaration(v) || is_step(m, name, n)) return;
  LLVMLinkage l = LLVMGetLinkage(v);
  if (l == LLVMAppendingLinkage || l == LLVMPrivateLinkage ||
      l == LLVMInternalLinkage)
    return;
  LLVMSetLinkage(v, LLVMInternalLinkage);
  LLVMSetVisibility(v, LLVMDefaultVisibility);
  LLVMSetComdat(v, NULL);
}

static ingot_status verify(cg_module *m, const char *when) {
  char *msg = NULL;
  if (!LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &msg)) {
    LLVMDisposeMessage(msg);
    return NULL;
  }
  ingot_status s = llvm_error(m, INGOT_INTERNAL, when, msg);
  LLVMDisposeMessage(msg);
  return s;
}

/* Internalize, drop unused templates, O3, verify: once per module. */
static ingot_status optimize(cg_module *m) {
  if (m->state == M_OPTIMIZED) return NULL;
  if (m->state == M_BROKEN)
    return ingot_make_status(
        INGOT_FAILED_PRECONDITION,
        "codegen: the module failed before; build a new one");
  for (LLVMValueRef f = LLVMGetFirstFunction(m->mod); f;
       f = LLVMGetNextFunction(f))
    internalize(m, f);
  for (LLVMValueRef g = LLVMGetFirstGlobal(m->mod); g; g = LLVMGetNextGlobal(g))
    internalize(m, g);
  m->state = M_BROKEN; /* until the pipeline has succeeded */
  INGOT_RETURN_IF_ERROR(verify(m, "the module before optimisation is invalid"));

  LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
  LLVMPassBuilderOptionsSetLoopVectorization(po, 1);
  LLVMPassBuilderOptionsSetSLPVectorization(po, 1);
  LLVMPassBuilderOptionsSetLoopInterleaving(po, 1);
  LLVMPassBuilderOptionsSetLoopUnrolling(po, 1);
  LLVMErrorRef err = LLVMRunPasses(m->mod, "globaldce,default<O3>", m->tm, po);
  LLVMDisposePassBuilderOptions(po);
  if (err) {
    char *msg = LLVMGetErrorMessage(err);
    ingot_status s = llvm_error(m, INGOT_INTERNAL, "optimising", msg);
    LLVMDisposeErrorMessage(msg);
    return s;
  }
  if (m->diag) return llvm_error(m, INGOT_INTERNAL, "optimising", NULL);
  INGOT_RETURN_IF_ERROR(verify(m, "the optimised module is invalid"));
  m->state = M_OPTIMIZED;
  return NULL;
}

/* The symbols generated code may leave undefined: the loader's whitelist
 * (engine_format.h, step ABI). */
static const char *const allowed_imports[] = {"memcpy", "memset", "memmove"};

/* Reads |obj| (an ELF64 x86-64 relocatable object LLVM just wrote) and
 * fails naming the first undefined symbol the runtime cannot provide. */
static ingot_status check_imports(const cg_module *m, const uint8_t *obj,
                                  size_t size) {
  Elf64_Ehdr eh;
  if (size < sizeof eh) goto bad;
  memcpy(&eh, obj, sizeof eh);
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_type != ET_REL ||
      eh.e_machine != EM_X86_64 || eh.e_shentsize != sizeof(Elf64_Shdr) ||
      eh.e_shoff > size ||
      (size - eh.e_shoff) / sizeof(Elf64_Shdr) < eh.e_shnum)
    goto bad;
  for (unsigned i = 0; i < eh.e_shnum; i++) {
    Elf64_Shdr sh, st;
    memcpy(&sh, obj + eh.e_shoff + i * sizeof sh, sizeof sh);
    if (sh.sh_type != SHT_SYMTAB) continue;
    if (sh.sh_link >= eh.e_shnum || sh.sh_entsize != sizeof(Elf64_Sym) ||
        sh.sh_offset > size || sh.sh_size > size - sh.sh_offset)
      goto bad;
    memcpy(&st, obj + eh.e_shoff + sh.sh_link * sizeof st, sizeof st);
    if (st.sh_offset > size || st.sh_size > size - st.sh_offset) goto bad;
    const char *strtab = (const char *)obj + st.sh_offset;
    for (uint64_t k = 1; k < sh.sh_size / sizeof(Elf64_Sym); k++) {
      Elf64_Sym sym;
      memcpy(&sym, obj + sh.sh_offset + k * sizeof sym, sizeof sym);
      if (sym.st_shndx != SHN_UNDEF || sym.st_name == 0) continue;
      if (sym.st_name >= st.sh_size ||
          !memchr(strtab + sym.st_name, 0, st.sh_size - sym.st_name))
        goto bad;
      const char *name = strtab + sym.st_name;
      int ok = 0;
      for (size_t a = 0; a < sizeof allowed_imports / sizeof *allowed_imports;
           a++)
        ok |= !strcmp(name, allowed_imports[a]);
      if (!ok)
        return ingot_make_status(
            INGOT_UNIMPLEMENTED,
            "codegen (%s): generated code calls '%s', which the runtime does "
            "not provide (only memcpy, memset, memmove): a kernel template "
            "uses a library function that this CPU has no instruction for",
            m->target.cpu, name);
    }
  }
  return NULL;
bad:
  return ingot_make_status(INGOT_INTERNAL,
                           "codegen (%s): LLVM emitted something other than an "
                           "x86-64 ELF relocatable object",
                           m->target.cpu);
}

ingot_status cg_module_emit(cg_module *m, void **obj, size_t *obj_size) {
  if (!m || !obj || !obj_size)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "cg_module_emit: missing argument");
  *obj = NULL;
  *obj_size = 0;
  INGOT_RETURN_IF_ERROR(optimize(m));

  LLVMModuleRef clone = LLVMCloneModule(m->mod);
  LLVMMemoryBufferRef buf = NULL;
  char *err = NULL;
  LLVMBool bad = LLVMTargetMachineEmitToMemoryBuffer(
      m->tm, clone, LLVMObjectFile, &err, &buf);
  LLVMDisposeModule(clone);
  ingot_status s = NULL;
  if (bad || m->diag) {
    s = llvm_error(m, INGOT_INTERNAL, "emitting object code", err);
  } else {
    size_t n = LLVMGetBufferSize(buf);
    const uint8_t *p = (const uint8_t *)LLVMGetBufferStart(buf);
    s = check_imports(m, p, n);
    if (!s) {
      void *copy = malloc(n ? n : 1);
      if (!copy) {
        s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                              "codegen: no memory for a %zu-byte object", n);
      } else {
        memcpy(copy, p, n);
        *obj = copy;
        *obj_size = n;
      }
    }
  }
  LLVMDisposeMessage(err);
  if (buf) LLVMDisposeMemoryBuffer(buf);
  return s;
}

ingot_status cg_module_print_ir(cg_module *m, char **out) {
  if (!m || !out)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "cg_module_print_ir: missing argument");
  *out = NULL;
  INGOT_RETURN_IF_ERROR(optimize(m));
  char *text = LLVMPrintModuleToString(m->mod);
  *out = strdup(text ? text : "");
  LLVMDisposeMessage(text);
  if (!*out)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                             "codegen: out of memory");
  return NULL;
}
