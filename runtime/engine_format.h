/* engine_format.h — the on-disk engine file: the one contract shared by the
 * compiler (writer) and libingot_rt (reader).
 *
 * Standalone (C11 + stdint only) and versioned like a schema: a change to
 * any struct here bumps INGOT_FORMAT_MAJOR (incompatible) or MINOR (new
 * optional data old readers may ignore).  Every struct has a static_assert
 * on its size so the layout cannot drift silently.
 *
 * File layout (little-endian, every section 64-byte aligned):
 *   ingot_file_header (256 bytes)
 *   ingot_section_entry[section_count] at section_table_offset
 *   sections (kind, offset, size from the table)
 * checksum = CRC32C (Castagnoli) of bytes [INGOT_HEADER_SIZE, file_size),
 * i.e. of everything after the header; the header itself is validated field
 * by field.  An engine file is untrusted input: readers check every offset,
 * size, count and string reference before use.
 *
 * Sections:
 *   STRINGS     NUL-terminated UTF-8 strings; other sections refer to them by
 *               byte offset (uint32).  Offset 0 is always the empty string.
 *   TENSORS     ingot_tensors_header + ingot_tensor_desc[count]: the graph's
 *               inputs then outputs, as the user sees them and as they sit
 *               in the arena.
 *   PLAN        ingot_plan_header + ingot_step_desc[step_count], in
 *               execution order.
 *   PROVENANCE  uint32 string offsets, one per step: the source model's node
 *               names the step computes, separated by '\n'.
 *   WEIGHTS     prepacked constant data; kernels address it by offset.
 *   CPU_CODE    one x86-64 ELF64 relocatable object holding every step
 *               function (ABI below).
 *   BUILD_INFO  text, "key: value" lines (command line, graph hash, ...).
 *   GPU_PTX, GPU_CUBIN, GPU_PLAN  optional (format 1.3, `ingot build
 *               --target cuda`, docs/gpu.md): PTX per sm, cubins per sm
 *               (when ptxas was found), and each step's GPU kernel, launch
 *               and ptxas figures.  CPU runtimes ignore them.
 *   LLVM_IR     optional (format 1.1): the optimised LLVM IR of every step
 *               function as text (`ingot build --keep-ir`), for
 *               `ingot inspect --ir`.  Runtimes ignore it.
 *   TENSOR_MAP  optional (format 1.2): ingot_tensor_map_header +
 *               ingot_tensor_map_entry[count]: every tensor of the model
 *               the plan keeps in the arena (graph inputs, activations,
 *               outputs), where and how it is stored, its quantisation
 *               parameters and the step after which it is complete, so a
 *               debugger (`ingot compare --per-layer`) can read it.  Engines
 *               without it (1.0, 1.1) load and run; they only have no
 *               intermediate tensors to show.
 *
 * Step ABI (System V x86-64):
 *   void step(uint8_t *arena, const uint8_t *weights,
 *             int64_t task_begin, int64_t task_end);
 * A step computes tasks [task_begin, task_end) of its |tasks| total; the
 * runtime splits the range across threads.  Steps run in plan order with a
 * barrier between them.  Step code may call only memcpy, memset, memmove.
 */
#ifndef INGOT_ENGINE_FORMAT_H
#define INGOT_ENGINE_FORMAT_H

#include <stdint.h>

#define INGOT_MAGIC "INGOT\0\0\0" /* 8 bytes, with the two padding NULs */
#define INGOT_FORMAT_MAJOR 1
#define INGOT_FORMAT_MINOR 4 /* 1.1: LLVM_IR section, AMX_FP16 bit;
                                1.2: TENSOR_MAP section;
                                1.3: GPU_PTX, GPU_CUBIN, GPU_PLAN;
                                1.4: GPU blobs INGOT_GPU_BLOB_ALIGN-aligned */
#define INGOT_HEADER_SIZE 256
#define INGOT_SECTION_ALIGN 64
#define INGOT_MAX_RANK 8

/* CPU features an engine may require (ingot_file_header.cpu_features). */
enum ingot_cpu_feature {
  INGOT_CPU_SSE42 = 1u << 0,
  INGOT_CPU_AVX = 1u << 1,
  INGOT_CPU_AVX2 = 1u << 2,
  INGOT_CPU_FMA = 1u << 3,
  INGOT_CPU_F16C = 1u << 4,
  INGOT_CPU_AVX512F = 1u << 5,
  INGOT_CPU_AVX512BW = 1u << 6,
  INGOT_CPU_AVX512DQ = 1u << 7,
  INGOT_CPU_AVX512VL = 1u << 8,
  INGOT_CPU_AVX512VNNI = 1u << 9,
  INGOT_CPU_AVX512BF16 = 1u << 10,
  INGOT_CPU_AVXVNNI = 1u << 11,
  INGOT_CPU_AMX_TILE = 1u << 12,
  INGOT_CPU_AMX_INT8 = 1u << 13,
  INGOT_CPU_AMX_BF16 = 1u << 14,
  INGOT_CPU_BMI2 = 1u << 15,
  INGOT_CPU_AMX_FP16 = 1u << 16, /* format 1.1 */
};

enum ingot_section_kind {
  INGOT_SECTION_STRINGS = 1,
  INGOT_SECTION_TENSORS = 2,
  INGOT_SECTION_PLAN = 3,
  INGOT_SECTION_PROVENANCE = 4,
  INGOT_SECTION_WEIGHTS = 5,
  INGOT_SECTION_CPU_CODE = 6,
  INGOT_SECTION_GPU_PTX = 7,
  INGOT_SECTION_GPU_CUBIN = 8,
  INGOT_SECTION_BUILD_INFO = 9,
  INGOT_SECTION_LLVM_IR = 10, /* format 1.1, optional */
  INGOT_SECTION_TENSOR_MAP = 11, /* format 1.2, optional */
  INGOT_SECTION_GPU_PLAN = 12,   /* format 1.3, optional */
};

typedef struct ingot_file_header {
  char magic[8];            /* INGOT_MAGIC */
  uint16_t format_major;    /* INGOT_FORMAT_MAJOR */
  uint16_t format_minor;
  uint32_t header_size;     /* INGOT_HEADER_SIZE */
  uint64_t file_size;       /* whole file, bytes */
  uint32_t checksum;        /* CRC32C of bytes [header_size, file_size) */
  uint32_t section_count;
  uint64_t section_table_offset;
  uint64_t cpu_features;    /* ingot_cpu_feature bits the code needs */
  uint32_t gpu_arch;        /* sm_XY as XY; 0 = no GPU code */
  uint32_t flags;           /* 0 */
  uint64_t arena_size;      /* bytes of activation memory a session needs */
  uint64_t weights_size;    /* bytes of the WEIGHTS section */
  uint64_t code_size;       /* bytes of the CPU_CODE section */
  uint64_t content_hash;    /* FNV-1a 64 of bytes [header_size, file_size) */
  char producer[32];        /* "ingot 0.1.0", NUL-padded */
  char target_triple[48];   /* "x86_64-unknown-linux-gnu" */
  char target_cpu[32];      /* LLVM CPU name used, e.g. "sapphirerapids" */
  uint8_t reserved[56];
} ingot_file_header;
_Static_assert(sizeof(ingot_file_header) == INGOT_HEADER_SIZE,
               "ingot_file_header layout");

typedef struct ingot_section_entry {
  uint32_t kind; /* ingot_section_kind */
  uint32_t flags;
  uint64_t offset; /* from the start of the file, INGOT_SECTION_ALIGN-aligned */
  uint64_t size;
  uint64_t reserved;
} ingot_section_entry;
_Static_assert(sizeof(ingot_section_entry) == 32, "ingot_section_entry");

/* ingot_tensor_desc.layout: how the arena holds a tensor the user sees in
 * the model's (row-major, ONNX) layout. */
enum ingot_layout {
  INGOT_LAYOUT_AS_MODEL = 0, /* same order as the user's */
  INGOT_LAYOUT_NHWC = 1,     /* a 4-D NCHW tensor stored as NHWC */
};

enum ingot_tensor_role { INGOT_TENSOR_INPUT = 1, INGOT_TENSOR_OUTPUT = 2 };

typedef struct ingot_tensors_header {
  uint32_t count; /* inputs first, then outputs */
  uint32_t n_inputs;
  uint32_t n_outputs;
  uint32_t desc_size; /* sizeof(ingot_tensor_desc) */
} ingot_tensors_header;
_Static_assert(sizeof(ingot_tensors_header) == 16, "ingot_tensors_header");

typedef struct ingot_tensor_desc {
  uint32_t name;   /* STRINGS offset */
  uint32_t role;   /* ingot_tensor_role */
  uint32_t dtype;  /* what the user sees: ONNX TensorProto.DataType */
  uint32_t rank;
  int64_t dims[INGOT_MAX_RANK]; /* the user's (model's) shape */
  uint64_t arena_offset;        /* where it lives in the arena */
  uint64_t arena_bytes;         /* bytes there */
  uint32_t layout;              /* ingot_layout */
  uint32_t stored_dtype;        /* dtype in the arena (quantised: u8/s8) */
  float scale;                  /* stored = rne(value / scale) + zero_point */
  int32_t zero_point;           /* when stored_dtype != dtype */
  uint8_t reserved[32];
} ingot_tensor_desc;
_Static_assert(sizeof(ingot_tensor_desc) == 144, "ingot_tensor_desc");

typedef struct ingot_plan_header {
  uint32_t step_count;
  uint32_t step_size; /* sizeof(ingot_step_desc) */
  uint64_t reserved;
} ingot_plan_header;
_Static_assert(sizeof(ingot_plan_header) == 16, "ingot_plan_header");

typedef struct ingot_step_desc {
  uint32_t symbol;    /* STRINGS: the step function's name in CPU_CODE */
  uint32_t kernel;    /* STRINGS: kernel template, e.g. "k_conv2d_nhwc_f32" */
  uint32_t op;        /* STRINGS: summary, e.g. "Conv 3x3/1 16->16 28x28" */
  uint32_t precision; /* compute dtype (ONNX numbering) */
  int64_t tasks;      /* total task count (>= 1) */
  uint64_t ops;       /* arithmetic ops (1 MAC = 2) */
  uint64_t bytes;     /* bytes read + written */
  uint32_t flags;
  uint32_t reserved0;
  uint64_t reserved1[2];
} ingot_step_desc;
_Static_assert(sizeof(ingot_step_desc) == 64, "ingot_step_desc");

/* TENSOR_MAP (format 1.2).  Entry i describes one arena tensor:
 *   - name: the tensor's name in the graph the plan was made from (the
 *     source model's name, unless a pass made the tensor);
 *   - dtype/rank/dims: as the model sees it (dims in the model's order);
 *   - layout: ingot_layout of the bytes at arena_offset;
 *   - ready_step: the plan step after which the bytes hold the tensor's
 *     value; INGOT_TENSOR_READY_INPUT for graph inputs (valid once set).
 *     The memory plan may reuse the bytes after the tensor's last reader,
 *     so they are valid only until a later step overwrites them;
 *   - flags & INGOT_TMAP_QUANTIZED: a u8/s8 tensor that stands for real
 *     values (v = (q - zero_point) * scale, per tensor); else scale 1, zp 0.
 * Entries follow plan order (by ready_step, inputs first). */
#define INGOT_TENSOR_READY_INPUT 0xffffffffu
enum { INGOT_TMAP_QUANTIZED = 1 };

typedef struct ingot_tensor_map_header {
  uint32_t count;
  uint32_t entry_size; /* sizeof(ingot_tensor_map_entry) */
  uint64_t reserved;
} ingot_tensor_map_header;
_Static_assert(sizeof(ingot_tensor_map_header) == 16,
               "ingot_tensor_map_header");

typedef struct ingot_tensor_map_entry {
  uint32_t name;       /* STRINGS offset */
  uint32_t dtype;      /* ONNX TensorProto.DataType of the stored bytes */
  uint32_t rank;
  uint32_t layout;     /* ingot_layout */
  int64_t dims[INGOT_MAX_RANK]; /* the model's shape */
  uint64_t arena_offset;
  uint64_t arena_bytes;
  uint32_t ready_step; /* or INGOT_TENSOR_READY_INPUT */
  uint32_t flags;      /* INGOT_TMAP_* */
  float scale;
  int32_t zero_point;
  uint8_t reserved[16];
} ingot_tensor_map_entry;
_Static_assert(sizeof(ingot_tensor_map_entry) == 128,
               "ingot_tensor_map_entry");

/* GPU_PTX and GPU_CUBIN (format 1.3): ingot_gpu_blob_header,
 * ingot_gpu_blob[count] (ascending sm), then the blobs; offsets count from
 * the section's start.  A PTX blob is the module's text (not NUL-
 * terminated); a cubin blob is ptxas's ELF for that sm.  Every module holds
 * one .entry per step, named as GPU_PLAN says.  From format 1.4 every blob
 * starts at a multiple of INGOT_GPU_BLOB_ALIGN from the section's start
 * (so in the file and in a runtime's 64-byte aligned image of it), so the
 * driver gets an ELF image aligned as its headers want (readers check it;
 * 1.3 engines have blobs packed back to back). */
#define INGOT_GPU_BLOB_ALIGN 64
typedef struct ingot_gpu_blob_header {
  uint32_t count;
  uint32_t entry_size; /* sizeof(ingot_gpu_blob) */
} ingot_gpu_blob_header;
_Static_assert(sizeof(ingot_gpu_blob_header) == 8, "ingot_gpu_blob_header");

typedef struct ingot_gpu_blob {
  uint32_t sm;          /* compute capability XY (80 = sm_80) */
  uint32_t ptx_version; /* PTX: the module's .version as XY (70 = 7.0) */
  uint64_t offset;
  uint64_t size;
} ingot_gpu_blob;
_Static_assert(sizeof(ingot_gpu_blob) == 24, "ingot_gpu_blob");

/* GPU_PLAN (format 1.3): ingot_gpu_plan_header, ingot_gpu_step[step_count]
 * (one per PLAN step, same order: the GPU runs every step), then
 * ingot_gpu_kernel_info[sm_count][step_count], ptxas -v's figures for the
 * cubin of sms[i].  A kernel takes two parameters, the device arena and
 * weights pointers (param_bytes 16), and addresses everything through
 * them with the CPU plan's arena offsets. */
#define INGOT_GPU_MAX_SM 8
typedef struct ingot_gpu_plan_header {
  uint32_t step_count;
  uint32_t step_size; /* sizeof(ingot_gpu_step) */
  uint32_t sm_count;  /* cubins (GPU_CUBIN entries); 0 without ptxas */
  uint32_t info_size; /* sizeof(ingot_gpu_kernel_info) */
  uint32_t sms[INGOT_GPU_MAX_SM];
} ingot_gpu_plan_header;
_Static_assert(sizeof(ingot_gpu_plan_header) == 48, "ingot_gpu_plan_header");

typedef struct ingot_gpu_step {
  char entry[64];    /* PTX .entry name, NUL-terminated */
  char kernel[32];   /* GPU template, e.g. "g_qconv", NUL-terminated */
  uint32_t grid[3];
  uint32_t block[3];
  uint32_t shared_bytes; /* static shared memory of the kernel */
  uint32_t param_bytes;  /* 16: arena, weights */
} ingot_gpu_step;
_Static_assert(sizeof(ingot_gpu_step) == 128, "ingot_gpu_step");

typedef struct ingot_gpu_kernel_info {
  uint32_t registers;    /* per thread */
  uint32_t shared_bytes; /* static shared memory */
  uint32_t stack_bytes;
  uint32_t spill_stores; /* bytes */
  uint32_t spill_loads;  /* bytes */
  uint32_t reserved;
} ingot_gpu_kernel_info;
_Static_assert(sizeof(ingot_gpu_kernel_info) == 24, "ingot_gpu_kernel_info");

#endif /* INGOT_ENGINE_FORMAT_H */
