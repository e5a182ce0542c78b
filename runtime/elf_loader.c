/* elf_loader.c — loads the engine's CPU code: one ELF64 x86-64 relocatable
 * object (ET_REL), as LLVM emits it, into this process.
 *
 * The object comes from an engine file, so it is untrusted input: the ELF
 * header is verified field by field, every section's bytes, alignment and
 * size, every symbol's section and value, and every relocation's symbol,
 * type and offset are bounds-checked before anything is written, and each
 * failure names the section, symbol or relocation.  A linker is not
 * needed for what LLVM produces for one module:
 *
 *   - SHF_ALLOC sections (text, rodata incl. .rodata.cst*, data, bss) are
 *     laid out in one anonymous mapping in three page-aligned regions:
 *     text (becomes R+X), read-only data plus a small GOT (becomes R), and
 *     writable data/bss (stays R+W).  The mapping is R+W while relocating
 *     and never writable and executable at once.  .eh_frame
 *     (SHT_X86_64_UNWIND), notes and non-ALLOC sections are not mapped;
 *     relocations aimed at them are skipped.
 *   - Undefined symbols resolve only from a whitelist (memcpy, memset,
 *     memmove).  Calls to them go through 8-byte stubs (jmp *GOT) in the
 *     text region, so a PC32/PLT32 call reaches libc wherever it is.
 *   - GOTPCREL, GOTPCRELX and REX_GOTPCRELX use GOT slots built here (no
 *     relaxation).  Non-PIC objects (R_X86_64_32/32S) are mapped below 2
 *     GiB with MAP_32BIT so absolute 32-bit addresses fit.
 *
 * The loader makes two passes over the relocations with one function:
 * the first validates and counts GOT slots and stubs, the second applies.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rt.h"

#define PAGE 4096u
#define MAX_IMAGE (1ull << 30) /* keeps every PC32 inside the mapping */
#define SHT_UNWIND 0x70000001u /* SHT_X86_64_UNWIND: .eh_frame */
#define STUB_SIZE 8u

enum { REG_TEXT, REG_RO, REG_RW, REG_NONE };
enum { SYM_NULL, SYM_SECTION, SYM_ABS, SYM_EXTERN, SYM_UNMAPPED };

typedef struct whitelisted {
  const char *name;
  void *addr;
} whitelisted;

typedef struct loader {
  const uint8_t *obj;
  size_t size;
  const char *what;
  Elf64_Ehdr eh;
  Elf64_Shdr *sh;
  unsigned shnum;
  uint8_t *region;     /* per section: REG_* */
  uint64_t *sec_off;   /* per section: offset in the image */
  unsigned symtab;     /* section index of SHT_SYMTAB */
  uint64_t nsyms;
  const char *strtab;
  uint64_t strtab_size;
  uint8_t *sym_kind;   /* per symbol: SYM_* */
  uint64_t *sym_addr;  /* per symbol: address once mapped */
  uint32_t *got_slot;  /* per symbol: GOT slot + 1, 0 = none */
  uint32_t *stub_slot; /* per symbol: call stub + 1, 0 = none */
  uint32_t n_got, n_stubs;
  int need_low;        /* R_X86_64_32/32S present: map below 2 GiB */
  uint64_t stubs_off, got_off, ro_begin, rw_begin, map_size;
  uint8_t *base;
} loader;

static ingot_status fail(const loader *L, ingot_status_code code,
                         const char *fmt, ...) INGOT_PRINTF(3, 4);
static ingot_status fail(const loader *L, ingot_status_code code,
                         const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ingot_status s = ingot_make_status_v(code, fmt, ap);
  va_end(ap);
  return ingot_status_annotate(s, "%s: ", L->what);
}

/* True when [off, off + len) lies inside [0, size), without overflow. */
static int in_bounds(uint64_t off, uint64_t len, uint64_t size) {
  return off <= size && len <= size - off;
}

static const char *secname(const loader *L, unsigned i) {
  unsigned k = L->eh.e_shstrndx;
  if (i >= L->shnum || k == SHN_UNDEF || k >= L->shnum) return "?";
  const Elf64_Shdr *s = &L->sh[k];
  if (s->sh_type != SHT_STRTAB || !in_bounds(s->sh_offset, s->sh_size, L->size))
    return "?";
  uint64_t name = L->sh[i].sh_name;
  if (name >= s->sh_size) return "?";
  const char *p = (const char *)L->obj + s->sh_offset + name;
  return memchr(p, 0, s->sh_size - name) ? p : "?";
}

static Elf64_Sym read_sym(const loader *L, uint64_t i) {
  Elf64_Sym s;
  memcpy(&s, L->obj + L->sh[L->symtab].sh_offset + i * sizeof s, sizeof s);
  return s;
}

static const char *symname(const loader *L, uint64_t i) {
  Elf64_Sym s = read_sym(L, i);
  if (ELF64_ST_TYPE(s.st_info) == STT_SECTION && s.st_shndx < L->shnum)
    return secname(L, s.st_shndx);
  /* the string table ends with NUL (checked), so any in-range offset is a
   * terminated string */
  return s.st_name < L->strtab_size ? L->strtab + s.st_name : "?";
}

/*===--- header and sections ---------------------------------------------===*/

static ingot_status verify_ehdr(loader *L) {
  if (L->size < sizeof L->eh)
    return fail(L, INGOT_DATA_LOSS,
                "object is %zu bytes, smaller than an ELF header", L->size);
  memcpy(&L->eh, L->obj, sizeof L->eh);
  const Elf64_Ehdr *e = &L->eh;
  if (memcmp(e->e_ident, ELFMAG, SELFMAG) != 0)
    return fail(L, INGOT_DATA_LOSS, "not an ELF object (bad magic)");
  if (e->e_ident[EI_CLASS] != ELFCLASS64)
    return fail(L, INGOT_INCOMPATIBLE, "ELF class %u, expected ELF64",
                e->e_ident[EI_CLASS]);
  if (e->e_ident[EI_DATA] != ELFDATA2LSB)
    return fail(L, INGOT_INCOMPATIBLE,
                "ELF data encoding %u, expected little-endian",
                e->e_ident[EI_DATA]);
  if (e->e_ident[EI_VERSION] != EV_CURRENT || e->e_version != EV_CURRENT)
    return fail(L, INGOT_DATA_LOSS, "ELF version %u, expected %u",
                e->e_version, EV_CURRENT);
  if (e->e_type != ET_REL)
    return fail(L, INGOT_INCOMPATIBLE,
                "ELF type %u, expected a relocatable object (ET_REL)",
                e->e_type);
  if (e->e_machine != EM_X86_64)
    return fail(L, INGOT_INCOMPATIBLE, "ELF machine %u, expected x86-64 (%u)",
                e->e_machine, EM_X86_64);
  if (e->e_ehsize < sizeof *e)
    return fail(L, INGOT_DATA_LOSS, "ELF header size %u is too small",
                e->e_ehsize);
  if (e->e_shentsize != sizeof(Elf64_Shdr))
    return fail(L, INGOT_DATA_LOSS, "section header size %u, expected %zu",
                e->e_shentsize, sizeof(Elf64_Shdr));
  if (e->e_shnum == 0)
    return e->e_shoff ? fail(L, INGOT_UNIMPLEMENTED,
                             "extended section numbering (65280 sections or "
                             "more) is not supported")
                      : fail(L, INGOT_DATA_LOSS, "object has no sections");
  if (!in_bounds(e->e_shoff, (uint64_t)e->e_shnum * sizeof(Elf64_Shdr),
                 L->size))
    return fail(L, INGOT_DATA_LOSS,
                "section header table (%u entries at offset %llu) runs past "
                "the end of the object (%zu bytes)",
                e->e_shnum, (unsigned long long)e->e_shoff, L->size);
  if (e->e_shstrndx == SHN_XINDEX)
    return fail(L, INGOT_UNIMPLEMENTED, "extended section name index");
  if (e->e_shstrndx >= e->e_shnum)
    return fail(L, INGOT_DATA_LOSS, "section name table index %u >= %u",
                e->e_shstrndx, e->e_shnum);
  return NULL;
}

static ingot_status read_sections(loader *L) {
  L->shnum = L->eh.e_shnum;
  L->sh = malloc(L->shnum * sizeof *L->sh);
  L->region = calloc(L->shnum, 1);
  L->sec_off = calloc(L->shnum, sizeof *L->sec_off);
  if (!L->sh || !L->region || !L->sec_off)
    return fail(L, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  memcpy(L->sh, L->obj + L->eh.e_shoff, L->shnum * sizeof *L->sh);
  for (unsigned i = 1; i < L->shnum; i++) {
    const Elf64_Shdr *s = &L->sh[i];
    if (s->sh_type == SHT_NOBITS || s->sh_type == SHT_NULL) continue;
    if (!in_bounds(s->sh_offset, s->sh_size, L->size))
      return fail(L, INGOT_DATA_LOSS,
                  "section %u (%s): bytes [%llu, +%llu) are outside the "
                  "object (%zu bytes)",
                  i, secname(L, i), (unsigned long long)s->sh_offset,
                  (unsigned long long)s->sh_size, L->size);
  }
  unsigned k = L->eh.e_shstrndx;
  if (k != SHN_UNDEF && L->sh[k].sh_type != SHT_STRTAB)
    return fail(L, INGOT_DATA_LOSS, "section name table %u is not a STRTAB",
                k);
  return NULL;
}

/* Decides which sections are mapped and into which region. */
static ingot_status classify(loader *L) {
  for (unsigned i = 0; i < L->shnum; i++) {
    const Elf64_Shdr *s = &L->sh[i];
    L->region[i] = REG_NONE;
    if (i == 0 || !(s->sh_flags & SHF_ALLOC)) continue;
    switch (s->sh_type) {
    case SHT_PROGBITS:
    case SHT_NOBITS:
      break;
    case SHT_NOTE:
    case SHT_UNWIND:
      continue;
    case SHT_INIT_ARRAY:
    case SHT_FINI_ARRAY:
    case SHT_PREINIT_ARRAY:
      return fail(L, INGOT_UNIMPLEMENTED,
                  "section %s: constructors/destructors are not supported",
                  secname(L, i));
    default:
      return fail(L, INGOT_UNIMPLEMENTED,
                  "section %s: allocated section of type 0x%x is not "
                  "supported",
                  secname(L, i), s->sh_type);
    }
    if (s->sh_flags & SHF_TLS)
      return fail(L, INGOT_UNIMPLEMENTED,
                  "section %s: thread-local storage is not supported",
                  secname(L, i));
    int w = (s->sh_flags & SHF_WRITE) != 0, x = (s->sh_flags & SHF_EXECINSTR) != 0;
    if (w && x)
      return fail(L, INGOT_DATA_LOSS,
                  "section %s is both writable and executable", secname(L, i));
    uint64_t a = s->sh_addralign ? s->sh_addralign : 1;
    if (a & (a - 1))
      return fail(L, INGOT_DATA_LOSS,
                  "section %s: alignment %llu is not a power of two",
                  secname(L, i), (unsigned long long)a);
    if (a > PAGE)
      return fail(L, INGOT_UNIMPLEMENTED,
                  "section %s: alignment %llu exceeds the page size",
                  secname(L, i), (unsigned long long)a);
    if (s->sh_size > MAX_IMAGE)
      return fail(L, INGOT_DATA_LOSS, "section %s: size %llu is absurd",
                  secname(L, i), (unsigned long long)s->sh_size);
    L->region[i] = x ? REG_TEXT : w ? REG_RW : REG_RO;
  }
  return NULL;
}

/*===--- symbols ----------------------------------------------------------===*/

static ingot_status read_symbols(loader *L) {
  L->symtab = 0;
  for (unsigned i = 1; i < L->shnum; i++) {
    if (L->sh[i].sh_type == SHT_SYMTAB_SHNDX)
      return fail(L, INGOT_UNIMPLEMENTED, "extended symbol section indices");
    if (L->sh[i].sh_type != SHT_SYMTAB) continue;
    if (L->symtab)
      return fail(L, INGOT_DATA_LOSS, "more than one symbol table");
    L->symtab = i;
  }
  if (!L->symtab) return fail(L, INGOT_DATA_LOSS, "no symbol table");
  const Elf64_Shdr *st = &L->sh[L->symtab];
  if (st->sh_entsize != sizeof(Elf64_Sym) || st->sh_size % sizeof(Elf64_Sym))
    return fail(L, INGOT_DATA_LOSS,
                "symbol table: entry size %llu, size %llu (expected "
                "multiples of %zu)",
                (unsigned long long)st->sh_entsize,
                (unsigned long long)st->sh_size, sizeof(Elf64_Sym));
  if (st->sh_link == 0 || st->sh_link >= L->shnum ||
      L->sh[st->sh_link].sh_type != SHT_STRTAB)
    return fail(L, INGOT_DATA_LOSS,
                "symbol table links to section %u, not a string table",
                st->sh_link);
  const Elf64_Shdr *ss = &L->sh[st->sh_link];
  L->strtab = (const char *)L->obj + ss->sh_offset;
  L->strtab_size = ss->sh_size;
  if (L->strtab_size == 0 || L->strtab[L->strtab_size - 1] != '\0')
    return fail(L, INGOT_DATA_LOSS,
                "symbol string table is empty or not NUL-terminated");
  L->nsyms = st->sh_size / sizeof(Elf64_Sym);
  if (st->sh_info > L->nsyms)
    return fail(L, INGOT_DATA_LOSS, "symbol table: first global %u > %llu",
                st->sh_info, (unsigned long long)L->nsyms);
  L->sym_kind = calloc(L->nsyms + 1, 1);
  L->sym_addr = calloc(L->nsyms + 1, sizeof *L->sym_addr);
  L->got_slot = calloc(L->nsyms + 1, sizeof *L->got_slot);
  L->stub_slot = calloc(L->nsyms + 1, sizeof *L->stub_slot);
  if (!L->sym_kind || !L->sym_addr || !L->got_slot || !L->stub_slot)
    return fail(L, INGOT_RESOURCE_EXHAUSTED, "out of memory (%llu symbols)",
                (unsigned long long)L->nsyms);

  const whitelisted allowed[] = {
      {"memcpy", (void *)memcpy},
      {"memset", (void *)memset},
      {"memmove", (void *)memmove},
  };
  for (uint64_t i = 1; i < L->nsyms; i++) {
    Elf64_Sym s = read_sym(L, i);
    if (s.st_name >= L->strtab_size)
      return fail(L, INGOT_DATA_LOSS,
                  "symbol %llu: name offset %u outside the string table",
                  (unsigned long long)i, s.st_name);
    const char *name = L->strtab + s.st_name;
    unsigned sec = s.st_shndx;
    if (sec == SHN_UNDEF) {
      size_t k = 0;
      while (k < sizeof allowed / sizeof allowed[0] &&
             strcmp(allowed[k].name, name) != 0)
        k++;
      if (k == sizeof allowed / sizeof allowed[0])
        return fail(L, INGOT_UNIMPLEMENTED,
                    "undefined symbol '%s': generated code may call only "
                    "memcpy, memset and memmove",
                    name);
      L->sym_kind[i] = SYM_EXTERN;
      L->sym_addr[i] = (uint64_t)(uintptr_t)allowed[k].addr;
      continue;
    }
    if (sec == SHN_ABS) {
      L->sym_kind[i] = SYM_ABS;
      L->sym_addr[i] = s.st_value;
      continue;
    }
    if (sec == SHN_COMMON)
      return fail(L, INGOT_UNIMPLEMENTED,
                  "symbol '%s' is a common symbol (build with -fno-common)",
                  name);
    if (sec >= SHN_LORESERVE || sec >= L->shnum)
      return fail(L, INGOT_DATA_LOSS, "symbol '%s': section index %u is invalid",
                  name, sec);
    if (ELF64_ST_TYPE(s.st_info) == STT_GNU_IFUNC)
      return fail(L, INGOT_UNIMPLEMENTED, "symbol '%s' is an IFUNC", name);
    if (L->region[sec] == REG_NONE) {
      L->sym_kind[i] = SYM_UNMAPPED;
      continue;
    }
    const Elf64_Shdr *d = &L->sh[sec];
    if (!in_bounds(s.st_value, s.st_size, d->sh_size))
      return fail(L, INGOT_DATA_LOSS,
                  "symbol '%s': [%llu, +%llu) lies outside its section %s "
                  "(%llu bytes)",
                  symname(L, i), (unsigned long long)s.st_value,
                  (unsigned long long)s.st_size, secname(L, sec),
                  (unsigned long long)d->sh_size);
    L->sym_kind[i] = SYM_SECTION;
  }
  return NULL;
}

/*===--- relocations ------------------------------------------------------===*/

static int reloc_width(unsigned type) {
  switch (type) {
  case R_X86_64_NONE:
    return 0;
  case R_X86_64_64:
  case R_X86_64_PC64:
    return 8;
  case R_X86_64_PC32:
  case R_X86_64_PLT32:
  case R_X86_64_32:
  case R_X86_64_32S:
  case R_X86_64_GOTPCREL:
  case R_X86_64_GOTPCRELX:
  case R_X86_64_REX_GOTPCRELX:
    return 4;
  default:
    return -1;
  }
}

static int is_got(unsigned type) {
  return type == R_X86_64_GOTPCREL || type == R_X86_64_GOTPCRELX ||
         type == R_X86_64_REX_GOTPCRELX;
}

/* One relocation section: validates (|apply| = 0: also counts GOT slots
 * and stubs) or applies (|apply| = 1). */
static ingot_status do_rela(loader *L, unsigned ri, int apply) {
  const Elf64_Shdr *r = &L->sh[ri];
  unsigned t = r->sh_info;
  if (t == 0 || t >= L->shnum)
    return fail(L, INGOT_DATA_LOSS,
                "relocation section %s applies to invalid section %u",
                secname(L, ri), t);
  if (L->region[t] == REG_NONE) return NULL; /* debug info, unwind tables */
  if (r->sh_type == SHT_REL)
    return fail(L, INGOT_UNIMPLEMENTED,
                "relocation section %s: REL (no addend) is not used on x86-64",
                secname(L, ri));
  if (r->sh_link != L->symtab)
    return fail(L, INGOT_DATA_LOSS,
                "relocation section %s uses section %u as its symbol table",
                secname(L, ri), r->sh_link);
  if (r->sh_entsize != sizeof(Elf64_Rela) || r->sh_size % sizeof(Elf64_Rela))
    return fail(L, INGOT_DATA_LOSS,
                "relocation section %s: entry size %llu, size %llu",
                secname(L, ri), (unsigned long long)r->sh_entsize,
                (unsigned long long)r->sh_size);
  const Elf64_Shdr *ts = &L->sh[t];
  if (ts->sh_type == SHT_NOBITS)
    return fail(L, INGOT_DATA_LOSS, "relocations applied to bss section %s",
                secname(L, t));
  uint64_t n = r->sh_size / sizeof(Elf64_Rela);
  for (uint64_t k = 0; k < n; k++) {
    Elf64_Rela rel;
    memcpy(&rel, L->obj + r->sh_offset + k * sizeof rel, sizeof rel);
    uint64_t sym = ELF64_R_SYM(rel.r_info);
    unsigned type = ELF64_R_TYPE(rel.r_info);
    int width = reloc_width(type);
    if (width < 0)
      return fail(L, INGOT_UNIMPLEMENTED,
                  "%s: relocation %llu has unsupported type %u",
                  secname(L, ri), (unsigned long long)k, type);
    if (width == 0) continue;
    if (sym >= L->nsyms)
      return fail(L, INGOT_DATA_LOSS,
                  "%s: relocation %llu refers to symbol %llu of %llu",
                  secname(L, ri), (unsigned long long)k,
                  (unsigned long long)sym, (unsigned long long)L->nsyms);
    if (!in_bounds(rel.r_offset, (uint64_t)width, ts->sh_size))
      return fail(L, INGOT_DATA_LOSS,
                  "%s: relocation %llu at offset %llu (+%d) lies outside "
                  "section %s (%llu bytes)",
                  secname(L, ri), (unsigned long long)k,
                  (unsigned long long)rel.r_offset, width, secname(L, t),
                  (unsigned long long)ts->sh_size);
    if (L->sym_kind[sym] == SYM_UNMAPPED)
      return fail(L, INGOT_DATA_LOSS,
                  "%s: relocation %llu refers to '%s' in a section that is "
                  "not loaded",
                  secname(L, ri), (unsigned long long)k, symname(L, sym));
    int call = (type == R_X86_64_PC32 || type == R_X86_64_PLT32) &&
               L->sym_kind[sym] == SYM_EXTERN;
    if (!apply) {
      if ((is_got(type) || call) && !L->got_slot[sym])
        L->got_slot[sym] = ++L->n_got;
      if (call && !L->stub_slot[sym]) L->stub_slot[sym] = ++L->n_stubs;
      if (type == R_X86_64_32 || type == R_X86_64_32S) L->need_low = 1;
      continue;
    }
    uint64_t S = L->sym_addr[sym], A = (uint64_t)rel.r_addend;
    uint8_t *where = L->base + L->sec_off[t] + rel.r_offset;
    uint64_t P = (uint64_t)(uintptr_t)where, v;
    if (call) S = (uint64_t)(uintptr_t)(L->base + L->stubs_off) +
                  (L->stub_slot[sym] - 1) * STUB_SIZE;
    if (is_got(type))
      S = (uint64_t)(uintptr_t)(L->base + L->got_off) +
          (L->got_slot[sym] - 1) * 8ull;
    switch (type) {
    case R_X86_64_64:
      v = S + A;
      break;
    case R_X86_64_32:
      v = S + A;
      if (v > UINT32_MAX) goto range;
      break;
    case R_X86_64_32S:
      v = S + A;
      if ((int64_t)v < INT32_MIN || (int64_t)v > INT32_MAX) goto range;
      break;
    case R_X86_64_PC64:
      v = S + A - P;
      break;
    default: /* PC32, PLT32, GOTPCREL* */
      v = S + A - P;
      if ((int64_t)v < INT32_MIN || (int64_t)v > INT32_MAX) goto range;
      break;
    }
    if (width == 8) {
      memcpy(where, &v, 8);
    } else {
      uint32_t v32 = (uint32_t)v;
      memcpy(where, &v32, 4);
    }
    continue;
  range:
    return fail(L, INGOT_OUT_OF_RANGE,
                "%s: relocation %llu (type %u) against '%s' does not fit in "
                "32 bits",
                secname(L, ri), (unsigned long long)k, type, symname(L, sym));
  }
  return NULL;
}

static ingot_status each_rela(loader *L, int apply) {
  for (unsigned i = 1; i < L->shnum; i++) {
    if (L->sh[i].sh_type != SHT_RELA && L->sh[i].sh_type != SHT_REL) continue;
    ingot_status s = do_rela(L, i, apply);
    if (s) return s;
  }
  return NULL;
}

/*===--- mapping ----------------------------------------------------------===*/

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

/* The text region starts TEXT_PAD bytes into the mapping, so no loaded
 * function begins on the mapping's first byte.  Callers built with
 * -fsanitize=function (UBSan, as in this project's ASan builds) read the
 * 8 bytes before a function pointer's target to look for a type
 * signature; at offset 0 that read falls below the mapping and faults
 * whenever the page before it happens to be unmapped.  The pad is zeros
 * (int3 would do as well), which is no signature, so the check passes
 * the call through. */
#define TEXT_PAD 16u

static ingot_status layout(loader *L) {
  uint64_t cur = TEXT_PAD;
  for (int reg = REG_TEXT; reg <= REG_RW; reg++) {
    if (reg == REG_RO) L->ro_begin = cur;
    if (reg == REG_RW) L->rw_begin = cur;
    for (unsigned i = 1; i < L->shnum; i++) {
      if (L->region[i] != reg) continue;
      uint64_t a = L->sh[i].sh_addralign ? L->sh[i].sh_addralign : 1;
      cur = align_up(cur, a);
      L->sec_off[i] = cur;
      cur += L->sh[i].sh_size;
      if (cur > MAX_IMAGE)
        return fail(L, INGOT_RESOURCE_EXHAUSTED,
                    "loaded code would exceed %llu bytes",
                    (unsigned long long)MAX_IMAGE);
    }
    if (reg == REG_TEXT) {
      L->stubs_off = cur = align_up(cur, 16);
      cur += (uint64_t)L->n_stubs * STUB_SIZE;
    }
    if (reg == REG_RO) {
      L->got_off = cur = align_up(cur, 8);
      cur += (uint64_t)L->n_got * 8;
    }
    cur = align_up(cur, PAGE);
  }
  L->map_size = cur ? cur : PAGE;
  return NULL;
}

static ingot_status map_and_fill(loader *L) {
  int flags = MAP_PRIVATE | MAP_ANONYMOUS | (L->need_low ? MAP_32BIT : 0);
  void *p = mmap(NULL, L->map_size, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (p == MAP_FAILED)
    return fail(L, INGOT_RESOURCE_EXHAUSTED,
                L->need_low ? "cannot map %llu bytes of non-PIC code below "
                              "2 GiB (build the engine as PIC)"
                            : "cannot map %llu bytes of code",
                (unsigned long long)L->map_size);
  L->base = p;
  for (unsigned i = 1; i < L->shnum; i++)
    if (L->region[i] != REG_NONE && L->sh[i].sh_type == SHT_PROGBITS)
      memcpy(L->base + L->sec_off[i], L->obj + L->sh[i].sh_offset,
             L->sh[i].sh_size);
  for (uint64_t i = 1; i < L->nsyms; i++) {
    if (L->sym_kind[i] != SYM_SECTION) continue;
    Elf64_Sym s = read_sym(L, i);
    L->sym_addr[i] =
        (uint64_t)(uintptr_t)(L->base + L->sec_off[s.st_shndx] + s.st_value);
  }
  uint8_t *stubs = L->base + L->stubs_off, *got = L->base + L->got_off;
  for (uint64_t i = 1; i < L->nsyms; i++) {
    if (L->got_slot[i]) memcpy(got + (L->got_slot[i] - 1) * 8ull, &L->sym_addr[i], 8);
    if (!L->stub_slot[i]) continue;
    /* jmp *disp32(%rip) ; int3 ; int3 */
    uint8_t *st = stubs + (L->stub_slot[i] - 1) * STUB_SIZE;
    int32_t disp = (int32_t)((got + (L->got_slot[i] - 1) * 8ll) - (st + 6));
    st[0] = 0xff;
    st[1] = 0x25;
    memcpy(st + 2, &disp, 4);
    st[6] = st[7] = 0xcc;
  }
  return NULL;
}

static ingot_status protect(loader *L) {
  uint64_t text = L->ro_begin, ro = L->rw_begin - L->ro_begin;
  if ((text && mprotect(L->base, text, PROT_READ | PROT_EXEC) != 0) ||
      (ro && mprotect(L->base + text, ro, PROT_READ) != 0))
    return fail(L, INGOT_INCOMPATIBLE,
                "the system refuses to make loaded code executable "
                "(mprotect)");
  return NULL;
}

static int cmp_func(const void *a, const void *b) {
  return strcmp(((const rt_elf_func *)a)->name, ((const rt_elf_func *)b)->name);
}

static ingot_status collect_funcs(loader *L, rt_elf_image *img) {
  img->funcs = calloc(L->nsyms ? L->nsyms : 1, sizeof *img->funcs);
  if (!img->funcs) return fail(L, INGOT_RESOURCE_EXHAUSTED, "out of memory");
  for (uint64_t i = 1; i < L->nsyms; i++) {
    Elf64_Sym s = read_sym(L, i);
    int bind = ELF64_ST_BIND(s.st_info);
    if (L->sym_kind[i] != SYM_SECTION || ELF64_ST_TYPE(s.st_info) != STT_FUNC ||
        (bind != STB_GLOBAL && bind != STB_WEAK) ||
        L->region[s.st_shndx] != REG_TEXT)
      continue;
    img->funcs[img->n_funcs].name = L->strtab + s.st_name;
    img->funcs[img->n_funcs].addr = (void *)(uintptr_t)L->sym_addr[i];
    img->n_funcs++;
  }
  qsort(img->funcs, img->n_funcs, sizeof *img->funcs, cmp_func);
  return NULL;
}

ingot_status rt_elf_load(const uint8_t *obj, size_t size, const char *what,
                         rt_elf_image *out) {
  memset(out, 0, sizeof *out);
  loader L = {.obj = obj, .size = size, .what = what ? what : "object"};
  ingot_status s = verify_ehdr(&L);
  if (!s) s = read_sections(&L);
  if (!s) s = classify(&L);
  if (!s) s = read_symbols(&L);
  if (!s) s = each_rela(&L, 0);
  if (!s) s = layout(&L);
  if (!s) s = map_and_fill(&L);
  if (!s) {
    out->base = L.base;
    out->size = L.map_size;
    s = each_rela(&L, 1);
  }
  if (!s) s = protect(&L);
  if (!s) s = collect_funcs(&L, out);
  free(L.sh);
  free(L.region);
  free(L.sec_off);
  free(L.sym_kind);
  free(L.sym_addr);
  free(L.got_slot);
  free(L.stub_slot);
  if (s) {
    if (!out->base && L.base) munmap(L.base, L.map_size);
    rt_elf_unload(out);
  }
  return s;
}

void *rt_elf_find(const rt_elf_image *img, const char *name) {
  if (!img->n_funcs) return NULL;
  rt_elf_func key = {name, NULL};
  const rt_elf_func *f =
      bsearch(&key, img->funcs, img->n_funcs, sizeof key, cmp_func);
  return f ? f->addr : NULL;
}

void rt_elf_unload(rt_elf_image *img) {
  if (img->base) munmap(img->base, img->size);
  free(img->funcs);
  memset(img, 0, sizeof *img);
}
