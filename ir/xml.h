/* xml.h — Ingot's XML IR: OpenVINO IR v10/v11 compatible (.xml + .bin).
 *
 * The format is OpenVINO's: <net> with <layers> (each <layer id name type
 * version> with <data> attributes and <input>/<output> ports holding
 * <dim>s), <edges> joining output ports to input ports, and Const layers
 * whose bytes live in the .bin next to the .xml (same path, .bin suffix).
 *
 * Import reads the OpenVINO opset1–opset13 layer types that correspond to
 * Ingot ops (decomposing some, e.g. Gelu, MVN, FakeQuantize,
 * ScaledDotProductAttention, into existing ops) and Ingot's own layers,
 * written with version="ingot" and type = the ONNX op name.  Export writes
 * standard OpenVINO layers where the mapping is exact in both directions,
 * and version="ingot" layers for everything else, so that importing an
 * exported graph reproduces it: the same ops, attributes, tensor names,
 * constants (byte for byte) and quantisation parameters.  docs/xml-ir.md
 * is the mapping table.
 *
 * Both directions are plain functions of their arguments: no global state,
 * safe to call from several threads on different graphs.  The XML text is
 * untrusted: every failure is a status naming the file, the layer (id and
 * name) and the reason; nothing aborts.
 */
#ifndef INGOT_IR_XML_H
#define INGOT_IR_XML_H

#include <stddef.h>

#include "ir.h"

/* Largest .xml and .bin the importer reads (bytes). */
#define IR_XML_MAX_XML_BYTES ((size_t)256 << 20)
#define IR_XML_MAX_BIN_BYTES ((size_t)4 << 30)

/* Imports |xml_path| and its weights, |xml_path| with ".xml" replaced by
 * ".bin" (".bin" appended when the name does not end in ".xml").  A model
 * without Const layers needs no .bin.  |opt| may be NULL; its |shapes|
 * override graph input shapes as for ONNX.  On success *|out| is an owned
 * graph (ir_graph_destroy); on failure *|out| is NULL and the status names
 * the file and layer.  Codes: NOT_FOUND (file missing), DATA_LOSS
 * (malformed XML, .bin too short), INVALID_ARGUMENT (bad edges, cycles,
 * bad attributes), UNIMPLEMENTED (a layer type or variant Ingot cannot
 * express), RESOURCE_EXHAUSTED. */
ingot_status ir_import_xml_file(const char *xml_path,
                                const ir_import_options *opt, ir_graph **out);

/* The same from memory.  |xml| (|n| bytes, not NUL-terminated) and |bin|
 * (|bin_n| bytes, may be NULL when 0) are borrowed for the call only.
 * |display| names the model in messages (NULL: "<memory>"). */
ingot_status ir_import_xml_memory(const char *xml, size_t n, const void *bin,
                                  size_t bin_n, const char *display,
                                  const ir_import_options *opt, ir_graph **out);

/* Writes |g| (any stage; it must verify) to |xml_path| and the weights to
 * the matching .bin (the path rule above).  Both files are replaced.
 * |g| is only read.  Fails with UNIMPLEMENTED for what the format cannot
 * hold (e.g. graph-valued attributes) and NOT_FOUND/DATA_LOSS for I/O
 * errors; a failed export may leave partial files. */
ingot_status ir_export_xml(const ir_graph *g, const char *xml_path);

/* The .bin path for |xml_path|, malloc'd (NULL when out of memory). */
char *ir_xml_bin_path(const char *xml_path);

#endif /* INGOT_IR_XML_H */
