/* cmd_disasm.c — `ingot inspect ENGINE --disasm STEP`: one step's machine
 * code, disassembled by LLVM's disassembler C API (llvm-c/Disassembler.h).
 *
 * Built into the plugin libingot_build.so with cmd_build.c, because it
 * needs LLVM and the ingot executable does not link it; cmd_inspect.c
 * loads it through cli_plugin_fn (build_loader.c).
 *
 * The engine is read with engine_view.c, so an engine built for another CPU
 * disassembles too.  CPU_CODE is an ELF64 x86-64 relocatable object
 * (engine_format.h); the step's function is found in .symtab (section,
 * offset, size), and every relocation inside it (calls to memcpy, RIP-
 * relative loads of constants) is printed next to its instruction, since
 * an unrelocated object has zeros where those addresses go.  Addresses are
 * offsets in the function's section, as `objdump -dr` prints them.  The
 * object is untrusted input: every table, index and string is bounds-
 * checked before use.
 */
#include <elf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Disassembler.h>
#include <llvm-c/Target.h>

#include "cli.h"
#include "engine_view.h"
#include "inspect.h"

typedef struct obj {
  const uint8_t *p;
  size_t size;
  const char *what; /* "ENGINE: CPU_CODE" for messages */
  Elf64_Ehdr eh;
  Elf64_Shdr *sh;        /* owned copy of the section headers */
  const char *shstr;     /* section names */
  uint64_t shstr_size;
  uint32_t symtab;       /* index of SHT_SYMTAB, 0 = none */
  const char *str;       /* its string table */
  uint64_t str_size;
  uint64_t n_syms;
} obj;

static ingot_status bad(const obj *o, const char *why) {
  return ingot_make_status(INGOT_DATA_LOSS, "%s: %s", o->what, why);
}

static int in_bounds(uint64_t off, uint64_t len, uint64_t size) {
  return off <= size && len <= size - off;
}

static ingot_status obj_open(obj *o) {
  if (o->size < sizeof o->eh) return bad(o, "shorter than an ELF header");
  memcpy(&o->eh, o->p, sizeof o->eh);
  const Elf64_Ehdr *e = &o->eh;
  if (memcmp(e->e_ident, ELFMAG, SELFMAG) ||
      e->e_ident[EI_CLASS] != ELFCLASS64 ||
      e->e_ident[EI_DATA] != ELFDATA2LSB || e->e_type != ET_REL ||
      e->e_machine != EM_X86_64)
    return bad(o, "not an x86-64 ELF64 relocatable object");
  if (e->e_shentsize != sizeof(Elf64_Shdr) || e->e_shnum == 0 ||
      !in_bounds(e->e_shoff, (uint64_t)e->e_shnum * sizeof(Elf64_Shdr),
                 o->size) ||
      e->e_shstrndx >= e->e_shnum)
    return bad(o, "section header table is malformed or out of bounds");
  o->sh = calloc(e->e_shnum, sizeof *o->sh);
  if (!o->sh)
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  memcpy(o->sh, o->p + e->e_shoff, e->e_shnum * sizeof *o->sh);
  for (unsigned i = 0; i < e->e_shnum; i++)
    if (o->sh[i].sh_type != SHT_NOBITS &&
        !in_bounds(o->sh[i].sh_offset, o->sh[i].sh_size, o->size))
      return bad(o, "a section lies outside the object");
  const Elf64_Shdr *ss = &o->sh[e->e_shstrndx];
  o->shstr = (const char *)o->p + ss->sh_offset;
  o->shstr_size = ss->sh_type == SHT_STRTAB ? ss->sh_size : 0;
  for (unsigned i = 0; i < e->e_shnum; i++) {
    const Elf64_Shdr *s = &o->sh[i];
    if (s->sh_type != SHT_SYMTAB) continue;
    if (o->symtab) return bad(o, "two symbol tables");
    if (s->sh_entsize != sizeof(Elf64_Sym) || s->sh_link >= e->e_shnum ||
        o->sh[s->sh_link].sh_type != SHT_STRTAB)
      return bad(o, "symbol table is malformed");
    o->symtab = i;
    o->n_syms = s->sh_size / sizeof(Elf64_Sym);
    o->str = (const char *)o->p + o->sh[s->sh_link].sh_offset;
    o->str_size = o->sh[s->sh_link].sh_size;
  }
  if (!o->symtab) return bad(o, "no symbol table");
  return NULL;
}

static void obj_close(obj *o) {
  free(o->sh);
  memset(o, 0, sizeof *o);
}

static Elf64_Sym sym_at(const obj *o, uint64_t k) {
  Elf64_Sym s;
  memcpy(&s, o->p + o->sh[o->symtab].sh_offset + k * sizeof s, sizeof s);
  return s;
}

/* A NUL-terminated string at |off| of a |size|-byte table, or "?". */
static const char *str_in(const char *tab, uint64_t size, uint64_t off) {
  if (!tab || off >= size || !memchr(tab + off, 0, size - off)) return "?";
  return tab + off;
}

static const char *sec_name(const obj *o, uint32_t i) {
  return i < o->eh.e_shnum ? str_in(o->shstr, o->shstr_size, o->sh[i].sh_name)
                           : "?";
}

/* The named symbol (not a section) covering byte |off| of section |shndx|:
 * a constant pool entry or a local table the code reads. */
static const char *covering(const obj *o, uint32_t shndx, uint64_t off) {
  for (uint64_t k = 1; k < o->n_syms; k++) {
    Elf64_Sym s = sym_at(o, k);
    int type = ELF64_ST_TYPE(s.st_info);
    if (s.st_shndx != shndx || type == STT_SECTION || type == STT_FILE ||
        !s.st_name)
      continue;
    if (off >= s.st_value && (off - s.st_value < s.st_size ||
                              (s.st_size == 0 && off == s.st_value)))
      return str_in(o->str, o->str_size, s.st_name);
  }
  return NULL;
}

static const char *reloc_name(uint32_t type) {
  switch (type) {
  case R_X86_64_64: return "R_X86_64_64";
  case R_X86_64_PC32: return "R_X86_64_PC32";
  case R_X86_64_PLT32: return "R_X86_64_PLT32";
  case R_X86_64_GOTPCREL: return "R_X86_64_GOTPCREL";
  case R_X86_64_32: return "R_X86_64_32";
  case R_X86_64_32S: return "R_X86_64_32S";
  case R_X86_64_PC64: return "R_X86_64_PC64";
  case R_X86_64_GOTPCRELX: return "R_X86_64_GOTPCRELX";
  case R_X86_64_REX_GOTPCRELX: return "R_X86_64_REX_GOTPCRELX";
  default: return "R_X86_64_?";
  }
}

/* Prints "  # R_X86_64_PLT32 memcpy" for every relocation of section
 * |text| patching bytes [pc, pc + len) (only counts them if !print);
 * returns how many there are. */
static int print_relocs(const obj *o, uint32_t text, uint64_t pc, size_t len,
                        int print) {
  int count = 0;
  for (unsigned i = 0; i < o->eh.e_shnum; i++) {
    const Elf64_Shdr *rs = &o->sh[i];
    if (rs->sh_type != SHT_RELA || rs->sh_info != text ||
        rs->sh_link != o->symtab || rs->sh_entsize != sizeof(Elf64_Rela))
      continue;
    for (uint64_t k = 0; k < rs->sh_size / sizeof(Elf64_Rela); k++) {
      Elf64_Rela r;
      memcpy(&r, o->p + rs->sh_offset + k * sizeof r, sizeof r);
      if (r.r_offset < pc || r.r_offset >= pc + len) continue;
      count++;
      if (!print) continue;
      uint64_t si = ELF64_R_SYM(r.r_info);
      uint32_t type = (uint32_t)ELF64_R_TYPE(r.r_info);
      if (si >= o->n_syms) {
        printf("  # %s (bad symbol %llu)", reloc_name(type),
               (unsigned long long)si);
        continue;
      }
      Elf64_Sym s = sym_at(o, si);
      int pcrel = type == R_X86_64_PC32 || type == R_X86_64_PLT32 ||
                  type == R_X86_64_GOTPCREL || type == R_X86_64_GOTPCRELX ||
                  type == R_X86_64_REX_GOTPCRELX;
      /* What the instruction addresses: S + A, plus, for RIP-relative
       * fields, the distance from the field to the instruction's end. */
      int64_t target = (int64_t)s.st_value + r.r_addend +
                       (pcrel ? (int64_t)(pc + len - r.r_offset) : 0);
      if (ELF64_ST_TYPE(s.st_info) == STT_SECTION) {
        const char *in = target >= 0
                             ? covering(o, s.st_shndx, (uint64_t)target)
                             : NULL;
        printf("  # %s %s+0x%llx%s%s%s", reloc_name(type),
               sec_name(o, s.st_shndx), (unsigned long long)target,
               in ? " <" : "", in ? in : "", in ? ">" : "");
      } else {
        const char *name = str_in(o->str, o->str_size, s.st_name);
        int64_t off = target - (int64_t)s.st_value;
        if (s.st_shndx == SHN_UNDEF || off == 0)
          printf("  # %s %s", reloc_name(type), name);
        else
          printf("  # %s %s%+lld", reloc_name(type), name, (long long)off);
      }
    }
  }
  return count;
}

/* LLVM prints a relative branch's operand as the displacement ("jle
 * 23"); true (and *rel set) for such a jump, call or loop, so the caller
 * can show the target's address. */
static int branch_displacement(const char *text, long long *rel) {
  size_t m = strcspn(text, " ");
  if (!text[m]) return 0;
  int branch = text[0] == 'j' || !strncmp(text, "call", 4) ||
               !strncmp(text, "loop", 4);
  const char *op = text + m + 1;
  char *end;
  long long v = strtoll(op, &end, 0);
  if (!branch || end == op || *end) return 0;
  *rel = v;
  return 1;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static void init_x86(void) {
  LLVMInitializeX86TargetInfo();
  LLVMInitializeX86TargetMC();
  LLVMInitializeX86Disassembler();
}

ingot_status inspect_disasm_step(const ev_engine *e, uint32_t k, bool intel) {
  if (k >= e->n_steps)
    return ingot_make_status(INGOT_OUT_OF_RANGE,
                             "%s: step %u out of range (the plan has %u)",
                             e->path, k, e->n_steps);
  const ev_step *st = &e->steps[k];
  if (!e->code)
    return ingot_make_status(INGOT_DATA_LOSS, "%s: the engine has no CPU_CODE",
                             e->path);
  char what[4200];
  snprintf(what, sizeof what, "%s: CPU_CODE", e->path);
  obj o = {.p = e->code, .size = e->code_size, .what = what};
  ingot_status s = obj_open(&o);
  Elf64_Sym fn = {0};
  int found = 0;
  for (uint64_t i = 1; !s && i < o.n_syms && !found; i++) {
    Elf64_Sym y = sym_at(&o, i);
    if (ELF64_ST_TYPE(y.st_info) == STT_FUNC &&
        !strcmp(str_in(o.str, o.str_size, y.st_name), st->symbol))
      fn = y, found = 1;
  }
  if (!s && !found)
    s = ingot_make_status(INGOT_DATA_LOSS,
                          "%s: step %u (%s): function '%s' is not in CPU_CODE",
                          e->path, k, st->op, st->symbol);
  if (!s && (fn.st_shndx == SHN_UNDEF || fn.st_shndx >= o.eh.e_shnum ||
             o.sh[fn.st_shndx].sh_type != SHT_PROGBITS ||
             !(o.sh[fn.st_shndx].sh_flags & SHF_EXECINSTR) ||
             !in_bounds(fn.st_value, fn.st_size, o.sh[fn.st_shndx].sh_size)))
    s = bad(&o, "the step's symbol points outside executable code");
  LLVMDisasmContextRef dc = NULL;
  if (!s) {
    pthread_once(&init_once, init_x86);
    const char *cpu = e->header.target_cpu[0] ? e->header.target_cpu : "x86-64";
    dc = LLVMCreateDisasmCPUFeatures("x86_64-unknown-linux-gnu", cpu, "", NULL,
                                     0, NULL, NULL);
    if (!dc)
      s = ingot_make_status(INGOT_INTERNAL,
                            "LLVM has no x86-64 disassembler for CPU '%s'",
                            cpu);
  }
  if (!s) {
    /* One option per call: switching the printer variant makes a new
     * printer, which would drop an option set with it. */
    if (intel)
      LLVMSetDisasmOptions(dc, LLVMDisassembler_Option_AsmPrinterVariant);
    LLVMSetDisasmOptions(dc, LLVMDisassembler_Option_PrintImmHex);
    const Elf64_Shdr *text = &o.sh[fn.st_shndx];
    char nodes[512];
    snprintf(nodes, sizeof nodes, "%s", *st->provenance ? st->provenance : "-");
    for (char *c = nodes; *c; c++)
      if (*c == '\n') *c = ',';
    printf("step %u: %s  %s  (kernel %s; model nodes %s)\n", k, st->symbol,
           st->op, st->kernel, nodes);
    printf("%s+0x%llx, %llu bytes, cpu %s, %s syntax\n",
           sec_name(&o, fn.st_shndx), (unsigned long long)fn.st_value,
           (unsigned long long)fn.st_size, e->header.target_cpu,
           intel ? "Intel" : "AT&T");
    uint8_t *code = (uint8_t *)(uintptr_t)(o.p + text->sh_offset);
    uint64_t pc = fn.st_value, end = fn.st_value + fn.st_size;
    while (pc < end) {
      char line[256];
      size_t n = LLVMDisasmInstruction(dc, code + pc, end - pc, pc, line,
                                       sizeof line);
      if (n == 0) {
        snprintf(line, sizeof line, "\t(bad)");
        n = 1;
      }
      char hex[64] = "";
      size_t hl = 0;
      for (size_t b = 0; b < n && hl + 4 < sizeof hex; b++)
        hl += (size_t)snprintf(hex + hl, sizeof hex - hl, "%02x ",
                               code[pc + b]);
      char *asm_text = line;
      while (*asm_text == '\t' || *asm_text == ' ') asm_text++;
      for (char *c = asm_text; *c; c++)
        if (*c == '\t') *c = ' ';
      long long rel;
      /* A relocated branch's displacement is the loader's to fill. */
      int is_rel = branch_displacement(asm_text, &rel) &&
                   !print_relocs(&o, fn.st_shndx, pc, n, 0);
      printf("%8llx:  %-33s %s", (unsigned long long)pc, hex, asm_text);
      if (is_rel) {
        long long target = (long long)(pc + n) + rel;
        printf(" -> %llx", (unsigned long long)target);
        if (target < (long long)fn.st_value || target >= (long long)end)
          printf(" (outside the step)");
      }
      print_relocs(&o, fn.st_shndx, pc, n, 1);
      printf("\n");
      pc += n;
    }
  }
  if (dc) LLVMDisasmDispose(dc);
  obj_close(&o);
  return s;
}

__attribute__((visibility("default"))) int ingot_plugin_disasm(int argc,
                                                               char **argv);
/* argv: ENGINE STEP SYNTAX ("intel" or "att"), checked by cmd_inspect.c. */
int ingot_plugin_disasm(int argc, char **argv) {
  if (argc != 3)
    return cli_fail(ingot_make_status(INGOT_INVALID_ARGUMENT,
                                      "ingot_plugin_disasm: expected ENGINE "
                                      "STEP SYNTAX, got %d arguments",
                                      argc));
  ev_engine e;
  ingot_status s = ev_open(argv[0], &e);
  uint32_t k = 0;
  if (!s) s = ev_find_step(&e, argv[1], &k);
  if (!s) s = inspect_disasm_step(&e, k, strcmp(argv[2], "att") != 0);
  ev_close(&e);
  return s ? cli_fail(s) : 0;
}
