/*
 * warm/tensor.h — dtypes, devices and the tensor descriptor shared by the
 * host, the SDK runtime and plugins.
 */
#ifndef WARM_TENSOR_H
#define WARM_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
/* What libwarm exports (it builds with hidden visibility by default). */
#pragma GCC visibility push(default)

typedef enum warm_dtype {
  WARM_DTYPE_NONE = 0,
  WARM_F32 = 1,
  WARM_BF16 = 2,
  WARM_FP8_E4M3 = 3, /* one byte, value = decoded * tensor scale */
  WARM_F16 = 4,      /* read from checkpoints only */
  WARM_I32 = 5,
  WARM_I64 = 6,
  WARM_U8 = 7,
} warm_dtype;

/* Capability bits for weight storage dtypes (warm_plugin_desc.dtypes). */
enum {
  WARM_DTYPECAP_F32 = 1u << 0,
  WARM_DTYPECAP_BF16 = 1u << 1,
  WARM_DTYPECAP_FP8 = 1u << 2,
};

typedef enum warm_device_type {
  WARM_DEVICE_CPU = 0,
  WARM_DEVICE_CUDA = 1,
} warm_device_type;

typedef struct warm_device {
  warm_device_type type;
  int32_t index; /* cuda ordinal; 0 for cpu */
} warm_device;

#define WARM_MAX_DIMS 8

/* A dense, row-major tensor. `data` is on `device`. For fp8 the value of an
 * element is decode(byte) * scale; `scale` is 1 otherwise. */
typedef struct warm_tensor {
  const char *name; /* not owned; may be NULL */
  warm_dtype dtype;
  int32_t ndim;
  int64_t shape[WARM_MAX_DIMS];
  warm_device device;
  void *data;
  float scale;
} warm_tensor;

/* Bytes per element of a dtype; 0 for WARM_DTYPE_NONE or unknown. */
size_t warm_dtype_size(warm_dtype dt);
/* "f32", "bf16", "fp8", ...; NULL for unknown. */
const char *warm_dtype_name(warm_dtype dt);
/* Parses a config/CLI dtype name ("f32", "bf16", "fp8"); WARM_DTYPE_NONE on
 * anything else. */
warm_dtype warm_dtype_parse(const char *s);

/* Number of elements; 0 when any dimension is 0. Saturates at INT64_MAX. */
int64_t warm_tensor_numel(const warm_tensor *t);
/* numel * dtype size, or 0 on overflow. */
size_t warm_tensor_bytes(const warm_tensor *t);

/* Allocates a zeroed host tensor of the given shape. The caller owns it and
 * releases it with warm_tensor_free. Returns 0 or WARM_ENOMEM. */
int warm_tensor_alloc(warm_tensor *t, const char *name, warm_dtype dt,
                      int32_t ndim, const int64_t *shape);
/* Frees data of a tensor made by warm_tensor_alloc; safe on a zeroed one. */
void warm_tensor_free(warm_tensor *t);

/* "cpu" or "cuda:N" into buf; returns buf. */
const char *warm_device_name(warm_device d, char *buf, size_t n);
/* Parses "cpu" / "cuda" / "cuda:N". Returns 0 or WARM_EINVAL. */
int warm_device_parse(const char *s, warm_device *out);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif /* WARM_TENSOR_H */
