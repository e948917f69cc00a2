/* pad1d.c — row padding (zeros / reflect / replicate), one task per row. */
#include <string.h>

#include "cpu.h"
#include "wk_pad.h"

typedef struct pad_job {
  const float *x;
  float *y;
  int64_t L, front, back;
  int mode;
} pad_job;

static void pad_rows(void *v, int64_t r0, int64_t r1, int tid) {
  const pad_job *J = v;
  int64_t Lo = J->L + J->front + J->back;
  int mode = J->mode ? J->mode : WK_PAD_ZEROS;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = J->x + r * J->L;
    float *y = J->y + r * Lo;
    for (int64_t i = 0; i < Lo; i++) {
      int64_t s = wk__pad_src(i - J->front, J->L, mode);
      y[i] = s < 0 ? 0.0f : x[s];
    }
  }
}

int wkcpu_pad1d(wk_ctx *c, const float *x, int64_t C, int64_t L, int64_t front,
                int64_t back, int mode, float *y) {
  pad_job J = {x, y, L, front, back, mode};
  int64_t Lo = L + front + back;
  wkcpu__parallel(c, C, ((int64_t)1 << 14) / (Lo > 0 ? Lo : 1) + 1, pad_rows,
                  &J);
  return 0;
}
