/* Network pieces shared by the LTX-2 decoder plugins. */
#include <math.h>

#include "lxc.h"

void lxc_timestep_proj(float t, float *out) {
  const int half = LXC_TPROJ / 2;
  const float nl = (float)(-log(10000.0));
  for (int i = 0; i < half; i++) {
    float e = nl * (float)i;
    e = e / (float)half;
    float a = t * expf(e);
    out[i] = cosf(a);
    out[half + i] = sinf(a);
  }
}

int lxc_pixelnorm(wk_ctx *k, const float *x, int64_t C, int64_t S, float eps,
                  const float *scale, const float *shift, int act, float *tmp,
                  float *y) {
  return wk_channel_rmsnorm(k, x, C, S, eps, scale, shift, act, tmp, y);
}
