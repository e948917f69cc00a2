/* pad1d.cu — row padding (zeros / reflect / replicate via wk_pad.h), one
 * thread per output element. */
#include "wkcu_internal.cuh"
#include "wk_pad.h"

__global__ void wkcu_pad1d_k(const float *__restrict__ x, int64_t C, int64_t L,
                             int64_t front, int64_t back, int mode,
                             float *__restrict__ y) {
  const int64_t Lo = L + front + back, n = C * Lo;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t r = i / Lo, s = wk__pad_src(i % Lo - front, L, mode);
    y[i] = s < 0 ? 0.0f : x[r * L + s];
  }
}

extern "C" int wkcu_pad1d(wk_ctx *c, const float *x, int64_t C, int64_t L,
                          int64_t front, int64_t back, int mode, float *y) {
  static const char *W = "wk_pad1d(cuda)";
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_pad1d_k<<<wkcu__blocks(C * (L + front + back), 256), 256, 0,
                 wkcu__st(c)->compute>>>(x, C, L, front, back,
                                         mode ? mode : WK_PAD_ZEROS, y);
  return wkcu__launched(c, W);
}
