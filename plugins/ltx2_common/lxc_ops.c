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
  wk_w none = {NULL, WK_F32, 1.0f};
  int rc = wk_transpose(k, x, C, S, tmp);
  if (!rc) rc = wk_rmsnorm(k, tmp, none, S, C, eps, 0, tmp);
  if (!rc && scale) rc = wk_modulate(k, tmp, scale, shift, S, C, tmp);
  if (!rc && act) rc = wk_silu(k, tmp, S * C, tmp);
  if (!rc) rc = wk_transpose(k, tmp, S, C, y);
  return rc;
}
