/* space_to_depth.cu — space to depth with a mean over groups of consecutive
 * output channels, one thread per output element, summing in the cpu
 * backend's order. */
#include "wkcu_internal.cuh"

__global__ void wkcu_s2d_k(const float *__restrict__ x, int64_t Co, int64_t T,
                           int64_t H, int64_t W, int pt, int ph, int pw,
                           int64_t group, float *__restrict__ y) {
  const int64_t n = Co * T * H * W, prod = (int64_t)pt * ph * pw;
  const int64_t Ti = T * pt, Hi = H * ph, Wi = W * pw;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t w = i % W, q = i / W, h = q % H;
    q /= H;
    int64_t t = q % T, o = q / T;
    float s = 0.0f;
    for (int64_t j = 0; j < group; j++) {
      int64_t cs = o * group + j, c = cs / prod, r = cs % prod;
      int64_t it = r / (ph * pw), ih = (r / pw) % ph, iw = r % pw;
      s += x[((c * Ti + t * pt + it) * Hi + h * ph + ih) * Wi + w * pw + iw];
    }
    y[i] = group == 1 ? s : s / (float)group;
  }
}

extern "C" int wkcu_space_to_depth3d(wk_ctx *c, const float *x, int64_t C,
                                     int64_t T, int64_t H, int64_t W, int pt,
                                     int ph, int pw, int64_t group, float *y) {
  static const char *Wh = "wk_space_to_depth3d(cuda)";
  int rc = wkcu__enter(c, Wh);
  if (rc) return rc;
  int64_t Co = C * pt * ph * pw / group;
  wkcu_s2d_k<<<wkcu__blocks(Co * T * H * W, 256), 256, 0,
               wkcu__st(c)->compute>>>(x, Co, T, H, W, pt, ph, pw, group, y);
  return wkcu__launched(c, Wh);
}
