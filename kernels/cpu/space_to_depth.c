/* space_to_depth.c — space to depth with a mean over groups of consecutive
 * output channels (wk_space_to_depth3d). One task per output plane. */
#include "cpu.h"

typedef struct s2d_job {
  const float *x;
  float *y;
  int64_t T, H, W, group;
  int pt, ph, pw;
} s2d_job;

static void s2d_planes(void *v, int64_t k0, int64_t k1, int tid) {
  const s2d_job *J = v;
  int64_t prod = (int64_t)J->pt * J->ph * J->pw, HW = J->H * J->W;
  int64_t Ti = J->T * J->pt, Hi = J->H * J->ph, Wi = J->W * J->pw;
  float inv_n = (float)J->group;
  for (int64_t k = k0; k < k1; k++) {
    int64_t o = k / J->T, t = k % J->T;
    float *dst = J->y + k * HW;
    for (int64_t i = 0; i < HW; i++) {
      int64_t h = i / J->W, w = i % J->W;
      float s = 0.0f;
      for (int64_t j = 0; j < J->group; j++) {
        int64_t cs = o * J->group + j, c = cs / prod, r = cs % prod;
        int64_t it = r / (J->ph * J->pw), ih = (r / J->pw) % J->ph,
                iw = r % J->pw;
        s += J->x[((c * Ti + t * J->pt + it) * Hi + h * J->ph + ih) * Wi +
                  w * J->pw + iw];
      }
      dst[i] = J->group == 1 ? s : s / inv_n;
    }
  }
}

int wkcpu_space_to_depth3d(wk_ctx *c, const float *x, int64_t C, int64_t T,
                           int64_t H, int64_t W, int pt, int ph, int pw,
                           int64_t group, float *y) {
  s2d_job J = {x, y, T, H, W, group, pt, ph, pw};
  int64_t planes = C * pt * ph * pw / group * T, hw = H * W;
  wkcpu__parallel(c, planes, ((int64_t)1 << 14) / (hw > 0 ? hw : 1) + 1,
                  s2d_planes, &J);
  return 0;
}
