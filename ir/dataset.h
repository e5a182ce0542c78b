/* dataset.h — model inputs from files: calibration data (`ingot build
 * --int8 --calib DIR`, `ingot calibrate`) and comparison data (`ingot
 * compare --data DIR`) are read through this one API.
 *
 * A dataset is opened for a graph and yields *feeds*: one ir_value per
 * graph input (g->inputs order), shaped as the input, ready for
 * ir_interp_run or an engine session.  The sources, and the rules that
 * match files to inputs (docs/dataset.md has them with examples):
 *
 *  - NumPy .npy and ONNX TensorProto .pb files.  A file holds one sample
 *    (the input's shape without its leading batch dim, or with it) or many
 *    (a leading dim N: N samples, "rows").  An input whose leading dim is B
 *    takes B rows per feed, across files; rows left over at the end are
 *    reported on the log and not used.  An unknown leading dim counts as 1.
 *    The dtype must equal the input's.
 *  - PNG and JPEG images (libpng, libjpeg), one row each, decoded to 8-bit
 *    and preprocessed as ir_preprocess says, for 4-D float32 inputs.
 *  - MNIST's IDX image files (*idx3-ubyte, *.idx, optionally .gz): N gray
 *    8-bit images, N rows, preprocessed like images.
 *  - |path| a single file: a sample set for a one-input model.
 *  - |path| a directory, for a one-input model: every usable file in it,
 *    and in its subdirectories (one level, e.g. the ONNX test-data layout
 *    test_data_set_N/input_0.pb), in name order; output_*.pb/.npy are
 *    skipped.
 *  - For a model with several inputs: each subdirectory is one sample set
 *    holding one file per input, named after the input (NAME.npy, NAME.pb,
 *    NAME.png ...) or by position (input_K.pb, as in ONNX test data); files
 *    directly in |path| named after inputs form one more set.
 *  Other files are ignored (said on the log).
 *
 * Memory: the dataset keeps the file list and at most one loaded file per
 * input, so it does not grow with the data.  Not thread-safe.
 */
#ifndef INGOT_DATASET_H
#define INGOT_DATASET_H

#include <stdio.h>

#include "ir.h"

/*===------------------------------------------------------------------===*/
/* Image preprocessing                                                     */
/*===------------------------------------------------------------------===*/
typedef enum ir_pp_layout { IR_PP_AUTO_LAYOUT = 0, IR_PP_NCHW, IR_PP_NHWC } ir_pp_layout;
typedef enum ir_pp_color {
  IR_PP_AUTO_COLOR = 0, IR_PP_RGB, IR_PP_BGR, IR_PP_GRAY
} ir_pp_color;

/* --preprocess "resize=256,crop=224,mean=0.485,0.456,0.406,std=0.229,
 * 0.224,0.225,scale=255,layout=nchw,color=rgb".  Order of operations:
 * decode to 8-bit, convert colour, resize (bilinear, antialiased when
 * shrinking, like PIL's BILINEAR), centre crop, x/scale, (x-mean)/std.
 * Defaults: no resize or crop (the image is resized to the input's H x W
 * exactly), scale 255, mean 0, std 1, layout and colour from the input's
 * shape (channels 1 -> gray, 3 -> rgb; [B,3,H,W] -> nchw, [B,H,W,3] ->
 * nhwc, nchw when both fit). */
typedef struct ir_preprocess {
  int resize;               /* shorter side to this size, aspect kept */
  int resize_h, resize_w;   /* resize=HxW: exact size (aspect not kept) */
  int crop_h, crop_w;       /* centre crop; 0 = none */
  float mean[3], std[3];
  int n_mean, n_std;        /* 0 = default; 1 = same for every channel */
  float scale;              /* divide 8-bit pixels by this (default 255) */
  ir_pp_layout layout;
  ir_pp_color color;
} ir_preprocess;

/* Parses |spec| (NULL or "" = defaults).  Errors name the bad key/value. */
ingot_status ir_preprocess_parse(const char *spec, ir_preprocess *out);

/* A decoded image: |c| = 1 (gray) or 3 (RGB), rows of w*c bytes. */
typedef struct ir_image {
  int w, h, c;
  uint8_t *px; /* malloc'd */
} ir_image;

/* Decodes a PNG or JPEG (chosen by content, not by name).  Corrupt or
 * truncated files are errors naming |path|. */
ingot_status ir_image_read(const char *path, ir_image *out);
void ir_image_free(ir_image *im);

/* Preprocesses |im| into |dst|: float32, [c][h][w] (nchw) or [h][w][c]
 * (nhwc), c = 1 or 3.  |what| names the image in errors. */
ingot_status ir_image_to_tensor(const ir_image *im, const ir_preprocess *pp,
                                int c, int h, int w, bool nhwc,
                                const char *what, float *dst);

/*===------------------------------------------------------------------===*/
/* Datasets                                                                */
/*===------------------------------------------------------------------===*/
typedef struct ir_dataset ir_dataset;

/* Opens |path| (a directory or one file) for the inputs of |g| (the graph
 * must outlive the dataset only during this call: names and shapes are
 * copied).  Checks every .npy/.pb file's dtype and shape now; images are
 * checked when decoded.  |preprocess| is the --preprocess string (NULL =
 * defaults).  |log| (NULL = quiet) gets one line per ignored file and the
 * leftover rows.  Errors: empty or unreadable directory, no usable file,
 * a missing input, wrong dtype/shape (naming file, input, expected, got). */
ingot_status ir_dataset_open(const ir_graph *g, const char *path,
                             const char *preprocess, FILE *log,
                             ir_dataset **out);
/* Number of feeds (model runs) the dataset yields. */
size_t ir_dataset_count(const ir_dataset *d);
/* Number of files it reads. */
size_t ir_dataset_files(const ir_dataset *d);
/* Fills |inputs| (one per graph input; owned, free with ir_value_free)
 * with the next feed, or sets *done when every feed was given. */
ingot_status ir_dataset_next(ir_dataset *d, ir_value *inputs, bool *done);
/* Starts again from the first feed. */
void ir_dataset_rewind(ir_dataset *d);
/* A 64-bit FNV-1a key of what the dataset feeds: for every input, its
 * name and, in order, every file's row count and bytes (not its path, so
 * a moved directory keeps its key).  Reads every file once.  Errors: a
 * file that can no longer be read (naming it). */
ingot_status ir_dataset_key(const ir_dataset *d, uint64_t *key);
/* The file the last feed's first input came from (for messages). */
const char *ir_dataset_last_file(const ir_dataset *d);
void ir_dataset_close(ir_dataset *d);

#endif /* INGOT_DATASET_H */
