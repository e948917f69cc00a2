/* upsample.cu — nearest-neighbour upsampling with integer factors, one
 * thread per output element. */
#include "wkcu_internal.cuh"

__global__ void wkcu_upsample_k(const float *__restrict__ x, int64_t C,
                                int64_t T, int64_t H, int64_t W, int ft, int fh,
                                int fw, float *__restrict__ y) {
  const int64_t To = T * ft, Ho = H * fh, Wo = W * fw, n = C * To * Ho * Wo;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t w = i % Wo, q = i / Wo, h = q % Ho;
    q /= Ho;
    int64_t t = q % To, c = q / To;
    y[i] = x[((c * T + t / ft) * H + h / fh) * W + w / fw];
  }
}

extern "C" int wkcu_upsample_nearest(wk_ctx *c, const float *x, int64_t C,
                                     int64_t T, int64_t H, int64_t W, int ft,
                                     int fh, int fw, float *y) {
  static const char *Wh = "wk_upsample_nearest(cuda)";
  int rc = wkcu__enter(c, Wh);
  if (rc) return rc;
  int64_t n = C * T * ft * H * fh * W * fw;
  wkcu_upsample_k<<<wkcu__blocks(n, 256), 256, 0, wkcu__st(c)->compute>>>(
      x, C, T, H, W, ft, fh, fw, y);
  return wkcu__launched(c, Wh);
}
