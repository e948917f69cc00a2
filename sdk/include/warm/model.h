/*
 * warm/model.h — checkpoint `config.json` reading and weight dtype
 * conversion.
 *
 * Config. warm_config_open() parses a config.json (given as the file or as
 * its folder) with jansson. Getters take a dotted key path relative to the
 * handle's root ("hidden_size", "rope_scaling.factor",
 * "text_config.num_hidden_layers"; a part of digits indexes an array,
 * "decoder_blocks.0.1.num_layers"). Every failure is WARM_EFORMAT (WARM_EIO
 * for an unreadable file) with a message naming the file and the full key
 * ("ckpt/config.json: text_config.hidden_size: expected an integer, found
 * string"). `_or` getters return the default when the key is absent or JSON
 * null, and still fail on a wrong type. A handle is immutable: concurrent
 * readers need no lock.
 *
 * Weights. warm_weight_convert() turns a host tensor of f32 / bf16 / f16 /
 * fp8-e4m3 into f32 / bf16 / fp8-e4m3 storage with the kernels' scalar
 * helpers (wk_f32_to_bf16, wk_f32_to_fp8, ...), so host-side rounding is
 * bit-identical to device-side conversion. For an fp8 destination the
 * per-tensor scale is amax / 448 (1 when the tensor is all zeros), and every
 * element is stored as fp8(x / scale).
 */
#ifndef WARM_MODEL_H
#define WARM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "warm/plugin.h"
#include "warm/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif
/* What libwarm exports (it builds with hidden visibility by default). */
#pragma GCC visibility push(default)

typedef struct warm_config warm_config;

/* path: a config.json file, or a folder holding one. The caller owns *out
 * and releases it with warm_config_close. */
int warm_config_open(const char *path, warm_config **out, warm_error *err);
/* Parses JSON text (len bytes, need not be NUL-terminated); `name` is used
 * in messages. */
int warm_config_parse(const char *text, size_t len, const char *name,
                      warm_config **out, warm_error *err);
/* A new handle rooted at the object under `key` (e.g. "text_config"),
 * sharing the parsed document; messages then show the full key path. The
 * caller closes both handles (in any order). */
int warm_config_child(const warm_config *c, const char *key, warm_config **out,
                      warm_error *err);
/* The text model's config: the "text_config" child when present (HF
 * multimodal layout), else a new handle on the same root. Close it. */
int warm_config_text(const warm_config *c, warm_config **out, warm_error *err);
void warm_config_close(warm_config *c); /* safe on NULL */
const char *warm_config_file(const warm_config *c);

/* 1 when key is present and not null, else 0. */
int warm_config_has(const warm_config *c, const char *key);

/* Integers: a JSON integer (or a real with an integral value). */
int warm_config_int(const warm_config *c, const char *key, int64_t *out,
                    warm_error *err);
int warm_config_int_or(const warm_config *c, const char *key, int64_t def,
                       int64_t *out, warm_error *err);
/* Numbers: integer or real. */
int warm_config_float(const warm_config *c, const char *key, double *out,
                      warm_error *err);
int warm_config_float_or(const warm_config *c, const char *key, double def,
                         double *out, warm_error *err);
/* Booleans: true/false only. */
int warm_config_bool_or(const warm_config *c, const char *key, int def,
                        int *out, warm_error *err);
/* Strings: *out lives as long as the handle (or any child of it). */
int warm_config_string(const warm_config *c, const char *key, const char **out,
                       warm_error *err);
int warm_config_string_or(const warm_config *c, const char *key,
                          const char *def, const char **out, warm_error *err);

/* Arrays: length (error when not an array), and typed elements. */
int warm_config_array_len(const warm_config *c, const char *key, size_t *out,
                          warm_error *err);
int warm_config_int_at(const warm_config *c, const char *key, size_t i,
                       int64_t *out, warm_error *err);
int warm_config_float_at(const warm_config *c, const char *key, size_t i,
                         double *out, warm_error *err);
int warm_config_string_at(const warm_config *c, const char *key, size_t i,
                          const char **out, warm_error *err);

/* ---- weight dtype conversion ------------------------------------------- */

/* Bytes of n elements stored as dt (0 for an unknown dtype). */
size_t warm_weight_bytes(warm_dtype dt, uint64_t n);

/* Converts src (host, f32/bf16/f16/fp8; src->scale applies to fp8) into
 * `dst` (host, warm_weight_bytes(dst_dtype, numel) bytes) as dst_dtype
 * (f32, bf16 or fp8). *scale_out (may be NULL) receives the scale of the
 * result: computed for fp8 (see above), 1 otherwise. The same dtype is a
 * plain copy. WARM_EINVAL naming the tensor for an unsupported pair. */
int warm_weight_convert(const warm_tensor *src, warm_dtype dst_dtype, void *dst,
                        float *scale_out, warm_error *err);

/* ---- plugin keys --------------------------------------------------------- */

/* A plugin key that takes auto, true or false: *mode = -1, 1 or 0.
 * WARM_EINVAL naming the key and the value otherwise. */
int warm_key_auto_bool(const char *key, const char *value, int *mode,
                       warm_error *err);

/* The bf16_activations key resolved against the weights' storage dtype:
 * auto (mode -1) rounds activations to bf16 before each GEMM exactly when
 * the weights are bf16, the arithmetic of PyTorch's bf16 models and of
 * warmd's CUDA backend; true / false force it (on the cpu). */
static inline int warm_bf16_activations(int mode, warm_dtype weights) {
  return mode < 0 ? weights == WARM_BF16 : mode != 0;
}

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif /* WARM_MODEL_H */
