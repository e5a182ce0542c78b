/* test_elf_loader.c — the runtime's ELF loader on real objects (steps.c
 * compiled by clang) and on copies patched byte by byte: every header,
 * section, symbol and relocation check, W^X of the mapped code, non-PIC
 * code below 2 GiB, and random corruption.
 *
 * Usage: test_elf_loader PIC_OBJECT NONPIC_OBJECT [OBJECT...]
 */
#include <elf.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "fixture.h"
#include "rt.h"

typedef struct obj {
  uint8_t *b;
  size_t n;
} obj;

static Elf64_Ehdr ehdr(const obj *o) {
  Elf64_Ehdr e;
  memcpy(&e, o->b, sizeof e);
  return e;
}

static uint64_t shdr_at(const obj *o, unsigned i) {
  return ehdr(o).e_shoff + (uint64_t)i * sizeof(Elf64_Shdr);
}

static Elf64_Shdr shdr(const obj *o, unsigned i) {
  Elf64_Shdr s;
  memcpy(&s, o->b + shdr_at(o, i), sizeof s);
  return s;
}

/* Index of the section named |name|, 0 if none (the object is ours). */
static unsigned find_section(const obj *o, const char *name) {
  Elf64_Ehdr e = ehdr(o);
  Elf64_Shdr str = shdr(o, e.e_shstrndx);
  for (unsigned i = 1; i < e.e_shnum; i++)
    if (strcmp((const char *)o->b + str.sh_offset + shdr(o, i).sh_name, name) == 0)
      return i;
  return 0;
}

static unsigned find_type(const obj *o, uint32_t type) {
  for (unsigned i = 1; i < ehdr(o).e_shnum; i++)
    if (shdr(o, i).sh_type == type) return i;
  return 0;
}

static obj copy(const obj *o) {
  obj c = {malloc(o->n), o->n};
  memcpy(c.b, o->b, o->n);
  return c;
}

static ingot_status_code load_code(const obj *o, char *msg, size_t n) {
  rt_elf_image img;
  ingot_status s = rt_elf_load(o->b, o->n, "steps.o", &img);
  ingot_status_code c = ingot_status_code_of(s);
  if (msg) snprintf(msg, n, "%s", ingot_status_message(s));
  if (s) CHECK(img.base == NULL && img.funcs == NULL);
  ingot_status_free(s);
  rt_elf_unload(&img);
  return c;
}

static void expect(const char *what, obj c, ingot_status_code code,
                   const char *needle) {
  char msg[512];
  ingot_status_code got = load_code(&c, msg, sizeof msg);
  printf("%-34s %-18s %s\n", what, ingot_status_code_name(got), msg);
  if (got != code || (needle && !strstr(msg, needle))) {
    fprintf(stderr, "  expected %s containing '%s'\n",
            ingot_status_code_name(code), needle ? needle : "");
    check_failures++;
  }
  free(c.b);
}

#define CASE(what, code, needle, ...) \
  do {                                \
    obj c = copy(o);                  \
    __VA_ARGS__;                      \
    expect(what, c, code, needle);    \
  } while (0)

static void put16(obj *c, uint64_t off, uint16_t v) { memcpy(c->b + off, &v, 2); }
static void put32(obj *c, uint64_t off, uint32_t v) { memcpy(c->b + off, &v, 4); }
static void put64(obj *c, uint64_t off, uint64_t v) { memcpy(c->b + off, &v, 8); }

/* Permissions of the mapping holding |addr| in /proc/self/maps. */
static void perms_of(const void *addr, char out[5]) {
  strcpy(out, "????");
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return;
  char line[512];
  uintptr_t a = (uintptr_t)addr;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    char p[5];
    if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && a >= lo && a < hi) {
      memcpy(out, p, 5);
      break;
    }
  }
  fclose(f);
}

static void test_good(const obj *o, int pic) {
  rt_elf_image img;
  ingot_status s = rt_elf_load(o->b, o->n, "steps.o", &img);
  CHECK_OK(s);
  if (s) return;
  const char *names[] = {"step_affine", "step_index", "step_copy", "step_zero",
                         "step_sum"};
  for (int i = 0; i < 5; i++) CHECK(rt_elf_find(&img, names[i]) != NULL);
  CHECK(rt_elf_find(&img, "op_neg") == NULL); /* static: not exported */
  CHECK(rt_elf_find(&img, "ingot_test_offset") == NULL); /* not a function */
  CHECK(rt_elf_find(&img, "") == NULL);
  /* No function starts within 8 bytes of the mapping's start: callers
   * built with -fsanitize=function read the 8 bytes before the target
   * (elf_loader.c, TEXT_PAD). */
  for (int i = 0; i < 5; i++) {
    const uint8_t *f = (const uint8_t *)rt_elf_find(&img, names[i]);
    CHECK(f && f - (const uint8_t *)img.base >= 8);
  }
  /* W^X: text is r-x, nothing in the image is writable and executable */
  char p[5];
  perms_of(rt_elf_find(&img, "step_affine"), p);
  CHECK(strcmp(p, "r-xp") == 0);
  for (size_t off = 0; off < img.size; off += 4096) {
    perms_of(img.base + off, p);
    CHECK(!(p[1] == 'w' && p[2] == 'x'));
  }
  perms_of(img.base + img.size - 1, p);
  CHECK(p[1] == 'w'); /* .data/.bss at the end */
  if (!pic) CHECK((uintptr_t)img.base + img.size <= 0x80000000u);
  rt_elf_unload(&img);
  CHECK(img.base == NULL);
}

static void test_bad(const obj *o) {
  Elf64_Ehdr e = ehdr(o);
  unsigned text = find_section(o, ".text"), rtext = find_section(o, ".rela.text");
  unsigned symtab = find_type(o, SHT_SYMTAB), bss = find_section(o, ".bss");
  CHECK(text && rtext && symtab && bss);
  if (!text || !rtext || !symtab || !bss) return;
  Elf64_Shdr ts = shdr(o, text), rs = shdr(o, rtext), ss = shdr(o, symtab);

  expect("empty object", (obj){calloc(1, 1), 0}, INGOT_DATA_LOSS, "smaller");
  CASE("bad ELF magic", INGOT_DATA_LOSS, "magic", c.b[0] = 0);
  CASE("ELF32", INGOT_INCOMPATIBLE, "ELF64", c.b[EI_CLASS] = ELFCLASS32);
  CASE("big-endian", INGOT_INCOMPATIBLE, "endian", c.b[EI_DATA] = ELFDATA2MSB);
  CASE("executable, not ET_REL", INGOT_INCOMPATIBLE, "ET_REL",
       put16(&c, offsetof(Elf64_Ehdr, e_type), ET_EXEC));
  CASE("wrong machine", INGOT_INCOMPATIBLE, "machine 3",
       put16(&c, offsetof(Elf64_Ehdr, e_machine), EM_386));
  CASE("section header size", INGOT_DATA_LOSS, "section header size",
       put16(&c, offsetof(Elf64_Ehdr, e_shentsize), 40));
  CASE("section table past the end", INGOT_DATA_LOSS, "section header table",
       put64(&c, offsetof(Elf64_Ehdr, e_shoff), o->n - 64));
  CASE("absurd section count", INGOT_DATA_LOSS, "section header table",
       put16(&c, offsetof(Elf64_Ehdr, e_shnum), 0xfeff));
  CASE("no sections", INGOT_DATA_LOSS, "no sections",
       put16(&c, offsetof(Elf64_Ehdr, e_shnum), 0);
       put64(&c, offsetof(Elf64_Ehdr, e_shoff), 0));
  CASE("name table index", INGOT_DATA_LOSS, "name table",
       put16(&c, offsetof(Elf64_Ehdr, e_shstrndx), e.e_shnum));
  CASE("section bytes outside", INGOT_DATA_LOSS, ".text",
       put64(&c, shdr_at(o, text) + offsetof(Elf64_Shdr, sh_offset),
             o->n - 2));
  CASE("section size absurd", INGOT_DATA_LOSS, "outside the object",
       put64(&c, shdr_at(o, text) + offsetof(Elf64_Shdr, sh_size),
             UINT64_MAX - 16));
  CASE("alignment not a power of 2", INGOT_DATA_LOSS, "power of two",
       put64(&c, shdr_at(o, text) + offsetof(Elf64_Shdr, sh_addralign), 12));
  CASE("alignment above a page", INGOT_UNIMPLEMENTED, "page size",
       put64(&c, shdr_at(o, text) + offsetof(Elf64_Shdr, sh_addralign), 1 << 16));
  CASE("writable + executable", INGOT_DATA_LOSS, "writable and executable",
       put64(&c, shdr_at(o, text) + offsetof(Elf64_Shdr, sh_flags),
             ts.sh_flags | SHF_WRITE));
  CASE("thread-local section", INGOT_UNIMPLEMENTED, "thread-local",
       put64(&c, shdr_at(o, bss) + offsetof(Elf64_Shdr, sh_flags),
             shdr(o, bss).sh_flags | SHF_TLS));
  CASE("absurd bss", INGOT_DATA_LOSS, "absurd",
       put64(&c, shdr_at(o, bss) + offsetof(Elf64_Shdr, sh_size), 1ull << 40));
  CASE("constructor section", INGOT_UNIMPLEMENTED, "constructors",
       put32(&c, shdr_at(o, bss) + offsetof(Elf64_Shdr, sh_type),
             SHT_INIT_ARRAY));
  CASE("symbol entry size", INGOT_DATA_LOSS, "symbol table",
       put64(&c, shdr_at(o, symtab) + offsetof(Elf64_Shdr, sh_entsize), 16));
  CASE("symbol table link", INGOT_DATA_LOSS, "string table",
       put32(&c, shdr_at(o, symtab) + offsetof(Elf64_Shdr, sh_link), symtab));
  CASE("no symbol table", INGOT_DATA_LOSS, "no symbol table",
       put32(&c, shdr_at(o, symtab) + offsetof(Elf64_Shdr, sh_type),
             SHT_PROGBITS));
  /* the last symbol: a global */
  uint64_t last = ss.sh_offset + ss.sh_size - sizeof(Elf64_Sym);
  CASE("symbol section index", INGOT_DATA_LOSS, "section index",
       put16(&c, last + offsetof(Elf64_Sym, st_shndx), 0xfe00));
  CASE("symbol name offset", INGOT_DATA_LOSS, "name offset",
       put32(&c, last + offsetof(Elf64_Sym, st_name), 0x7fffffff));
  CASE("common symbol", INGOT_UNIMPLEMENTED, "common",
       put16(&c, last + offsetof(Elf64_Sym, st_shndx), SHN_COMMON));
  CASE("symbol value outside section", INGOT_DATA_LOSS, "lies outside",
       for (uint64_t at = ss.sh_offset + sizeof(Elf64_Sym);
            at < ss.sh_offset + ss.sh_size; at += sizeof(Elf64_Sym)) {
         Elf64_Sym sym;
         memcpy(&sym, c.b + at, sizeof sym);
         if (sym.st_shndx == text) {
           put64(&c, at + offsetof(Elf64_Sym, st_value), ts.sh_size + 4);
           break;
         }
       });
  /* relocations: the first one of .rela.text */
  uint64_t r0 = rs.sh_offset;
  Elf64_Rela rel;
  memcpy(&rel, o->b + r0, sizeof rel);
  CASE("relocation past its section", INGOT_DATA_LOSS, "outside section .text",
       put64(&c, r0 + offsetof(Elf64_Rela, r_offset), ts.sh_size - 2));
  CASE("relocation offset absurd", INGOT_DATA_LOSS, "outside section .text",
       put64(&c, r0 + offsetof(Elf64_Rela, r_offset), UINT64_MAX - 1));
  CASE("relocation symbol index", INGOT_DATA_LOSS, "symbol",
       put64(&c, r0 + offsetof(Elf64_Rela, r_info),
             ELF64_R_INFO(0xffffffu, ELF64_R_TYPE(rel.r_info))));
  CASE("relocation type unsupported", INGOT_UNIMPLEMENTED, "type 37",
       put64(&c, r0 + offsetof(Elf64_Rela, r_info),
             ELF64_R_INFO(ELF64_R_SYM(rel.r_info), 37)));
  CASE("relocation entry size", INGOT_DATA_LOSS, "entry size",
       put64(&c, shdr_at(o, rtext) + offsetof(Elf64_Shdr, sh_entsize), 16));
  CASE("relocation target section", INGOT_DATA_LOSS, "invalid section",
       put32(&c, shdr_at(o, rtext) + offsetof(Elf64_Shdr, sh_info), 0xffff));
  CASE("relocation symbol table", INGOT_DATA_LOSS, "symbol table",
       put32(&c, shdr_at(o, rtext) + offsetof(Elf64_Shdr, sh_link), text));
  CASE("REL instead of RELA", INGOT_UNIMPLEMENTED, "REL",
       put32(&c, shdr_at(o, rtext) + offsetof(Elf64_Shdr, sh_type), SHT_REL));
  CASE("relocations into bss", INGOT_DATA_LOSS, "bss",
       put32(&c, shdr_at(o, rtext) + offsetof(Elf64_Shdr, sh_info), bss));
  /* rename the whitelisted memcpy to a symbol outside the whitelist */
  CASE("undefined symbol not allowed", INGOT_UNIMPLEMENTED, "'system'",
       Elf64_Shdr str = shdr(o, ss.sh_link);
       for (uint64_t i = str.sh_offset; i + 8 <= str.sh_offset + str.sh_size; i++)
         if (memcmp(c.b + i, "\0memcpy\0", 8) == 0) {
           memcpy(c.b + i + 1, "system", 6);
           break;
         });
  /* a PC32 relocation against an absolute symbol far away */
  CASE("PC32 out of range", INGOT_OUT_OF_RANGE, "32 bits",
       for (uint64_t at = rs.sh_offset; at < rs.sh_offset + rs.sh_size;
            at += sizeof(Elf64_Rela)) {
         Elf64_Rela r;
         memcpy(&r, c.b + at, sizeof r);
         if (ELF64_R_TYPE(r.r_info) == R_X86_64_PC32) {
           put64(&c, at + offsetof(Elf64_Rela, r_addend), 1ull << 40);
           break;
         }
       });

  /* every length and many bit flips: no crash */
  int fails = 0;
  for (size_t len = 0; len < o->n; len += len < 256 ? 1 : 7) {
    obj t = {o->b, len};
    fails += load_code(&t, NULL, 0) != INGOT_OK;
  }
  CHECK(fails > 0);
  obj c = copy(o);
  uint64_t rng = 12345;
  int loaded = 0, total = 0;
  for (int k = 0; k < 4000; k++) {
    memcpy(c.b, o->b, o->n);
    for (int j = 0; j < 1 + k % 3; j++) {
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      c.b[(rng >> 33) % o->n] ^= (uint8_t)(1u << ((rng >> 20) & 7));
    }
    loaded += load_code(&c, NULL, 0) == INGOT_OK;
    total++;
  }
  printf("random bit flips: %d of %d objects still load\n", loaded, total);
  free(c.b);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: test_elf_loader PIC_OBJECT NONPIC_OBJECT...\n");
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    obj o;
    o.b = read_file(argv[i], &o.n);
    CHECK(o.b != NULL);
    if (!o.b) continue;
    test_good(&o, i != 2);
    if (i == 1) test_bad(&o);
    free(o.b);
  }
  return check_report("test_elf_loader");
}
