/* Host tensors: element counts, byte sizes, allocation. */
#include <stdlib.h>
#include <string.h>

#include "warm/warm.h"

int64_t warm_tensor_numel(const warm_tensor *t) {
  if (!t || t->ndim < 0 || t->ndim > WARM_MAX_DIMS) return 0;
  int64_t n = 1;
  for (int32_t i = 0; i < t->ndim; i++) {
    int64_t d = t->shape[i];
    if (d <= 0) return 0;
    if (n > INT64_MAX / d) return INT64_MAX;
    n *= d;
  }
  return n;
}

size_t warm_tensor_bytes(const warm_tensor *t) {
  if (!t) return 0;
  int64_t n = warm_tensor_numel(t);
  size_t es = warm_dtype_size(t->dtype);
  if (n <= 0 || n == INT64_MAX || es == 0) return 0;
  if ((uint64_t)n > SIZE_MAX / es) return 0;
  return (size_t)n * es;
}

/* The tensor is described fully (name pointer kept, not copied; device cpu;
 * scale 1). A shape with a zero dimension gets a 1-byte buffer so data is
 * never NULL on success. Bad dtype/ndim/negative dims: WARM_EINVAL. */
int warm_tensor_alloc(warm_tensor *t, const char *name, warm_dtype dt,
                      int32_t ndim, const int64_t *shape) {
  if (!t) return WARM_EINVAL;
  memset(t, 0, sizeof *t);
  if (warm_dtype_size(dt) == 0 || ndim < 0 || ndim > WARM_MAX_DIMS ||
      (ndim > 0 && !shape))
    return WARM_EINVAL;
  t->name = name;
  t->dtype = dt;
  t->ndim = ndim;
  t->device.type = WARM_DEVICE_CPU;
  t->device.index = 0;
  t->scale = 1.0f;
  int zero = 0;
  for (int32_t i = 0; i < ndim; i++) {
    if (shape[i] < 0) {
      memset(t, 0, sizeof *t);
      return WARM_EINVAL;
    }
    if (shape[i] == 0) zero = 1;
    t->shape[i] = shape[i];
  }
  size_t bytes = zero ? 1 : warm_tensor_bytes(t);
  if (bytes == 0) { /* overflow */
    memset(t, 0, sizeof *t);
    return WARM_ENOMEM;
  }
  t->data = calloc(1, bytes);
  if (!t->data) {
    memset(t, 0, sizeof *t);
    return WARM_ENOMEM;
  }
  return WARM_OK;
}

void warm_tensor_free(warm_tensor *t) {
  if (!t) return;
  free(t->data);
  t->data = NULL;
}
