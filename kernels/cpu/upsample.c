/* upsample.c — nearest-neighbour upsampling with integer factors. */
#include "cpu.h"

typedef struct up_job {
  const float *x;
  float *y;
  int64_t T, H, W;
  int ft, fh, fw;
} up_job;

/* One task per output plane (c, t_out). */
static void up_planes(void *v, int64_t k0, int64_t k1, int tid) {
  const up_job *J = v;
  int64_t To = J->T * J->ft, Ho = J->H * J->fh, Wo = J->W * J->fw;
  for (int64_t k = k0; k < k1; k++) {
    int64_t c = k / To, t = (k % To) / J->ft;
    const float *src = J->x + (c * J->T + t) * J->H * J->W;
    float *dst = J->y + k * Ho * Wo;
    for (int64_t h = 0; h < Ho; h++) {
      const float *sr = src + (h / J->fh) * J->W;
      for (int64_t w = 0; w < Wo; w++)
        dst[h * Wo + w] = sr[w / J->fw];
    }
  }
}

int wkcpu_upsample_nearest(wk_ctx *c, const float *x, int64_t C, int64_t T,
                           int64_t H, int64_t W, int ft, int fh, int fw,
                           float *y) {
  up_job J = {x, y, T, H, W, ft, fh, fw};
  int64_t per = H * fh * W * fw;
  wkcpu__parallel(c, C * T * ft, ((int64_t)1 << 15) / (per ? per : 1) + 1,
                  up_planes, &J);
  return 0;
}
