/*
 * test_ltxv_rope — the DiT's RoPE tables (ltxv_rope_tables, compiled in from
 * plugins/transformer_ltxv) against diffusers' LTXVideoRotaryPosEmbed
 * written out here in double precision:
 *   grid  = (f * tcomp / fps * patch_t / 20, h * scomp * patch / 2048,
 *            w * scomp * patch / 2048)
 *   freq  = 10000 ** linspace(0, 1, dim // 6) * pi / 2
 *   angle = freq[j] * (2 * grid[a] - 1), channel pair dim % 6 + 2 (3 j + a)
 *   cos / sin of it, each repeated for both channels of the pair; the
 *   dim % 6 leading channels have cos 1, sin 0.
 * The parity test sees the tables only through the whole model; this pins
 * their sign, axis order and scales on their own, so a wrong sign or fps
 * scale names itself. Token (0, 0, 0) has grid 0: its first angle is
 * -pi / 2, so its first sines are -1.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../plugins/transformer_ltxv/ltxv.h"

static int failures;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                     \
      fprintf(stderr, __VA_ARGS__);                                            \
      fprintf(stderr, "\n");                                                   \
      failures++;                                                              \
    }                                                                          \
  } while (0)

static void check_tables(int64_t heads, int64_t head_dim, int64_t patch,
                         int64_t patch_t, int64_t Fp, int64_t Hp, int64_t Wp,
                         double fps, int64_t tcomp, int64_t scomp) {
  ltxv_cfg c = {0};
  c.heads = heads;
  c.head_dim = head_dim;
  c.dim = heads * head_dim;
  c.patch_size = patch;
  c.patch_size_t = patch_t;
  ltxv_shape s = {0};
  s.Fp = Fp;
  s.Hp = Hp;
  s.Wp = Wp;
  s.N = Fp * Hp * Wp;
  const int64_t D = c.dim, n6 = D / 6, pad = D % 6;
  float *co = malloc(sizeof *co * (size_t)(s.N * D));
  float *si = malloc(sizeof *si * (size_t)(s.N * D));
  CHECK(co && si, "memory");
  if (!co || !si) goto out;
  CHECK(ltxv_rope_tables(&c, &s, fps, tcomp, scomp, co, si) == 0,
        "ltxv_rope_tables failed");
  double worst = 0;
  for (int64_t f = 0; f < Fp; f++)
    for (int64_t h = 0; h < Hp; h++)
      for (int64_t w = 0; w < Wp; w++) {
        int64_t n = (f * Hp + h) * Wp + w;
        double g[3] = {(double)f * tcomp / fps * patch_t / 20.0,
                       (double)h * scomp * patch / 2048.0,
                       (double)w * scomp * patch / 2048.0};
        for (int64_t k = 0; k < pad; k++)
          CHECK(co[n * D + k] == 1.0f && si[n * D + k] == 0.0f,
                "token %lld: leading channel %lld is not identity",
                (long long)n, (long long)k);
        for (int64_t j = 0; j < n6; j++) {
          double x = n6 > 1 ? (double)j / (double)(n6 - 1) : 0.0;
          double freq = pow(10000.0, x) * M_PI / 2.0;
          for (int a = 0; a < 3; a++) {
            double ang = freq * (2.0 * g[a] - 1.0);
            int64_t k = n * D + pad + 2 * (j * 3 + a);
            for (int e = 0; e < 2; e++) {
              double dc = fabs(co[k + e] - cos(ang)), ds = fabs(si[k + e] - sin(ang));
              double tol = 1e-5 * (1.0 + fabs(ang)); /* f32 angle rounding */
              if (dc > worst) worst = dc;
              if (ds > worst) worst = ds;
              CHECK(dc <= tol && ds <= tol,
                    "token (%lld,%lld,%lld) freq %lld axis %d: got cos %.6f "
                    "sin %.6f, want %.6f %.6f",
                    (long long)f, (long long)h, (long long)w, (long long)j, a,
                    co[k + e], si[k + e], cos(ang), sin(ang));
            }
          }
        }
      }
  /* The sign convention on its own: grid 0 and the first frequency
   * (pi / 2) give angle -pi / 2, so sin = -1 on those six channels. */
  for (int64_t k = pad; k < pad + 6 && k < D; k++)
    CHECK(fabsf(si[k] + 1.0f) < 1e-6f && fabsf(co[k]) < 1e-6f,
          "token 0 channel %lld: cos %.6f sin %.6f, want 0, -1", (long long)k,
          co[k], si[k]);
  printf("dim %lld (pad %lld), grid %lldx%lldx%lld, fps %.1f: worst %.2g\n",
         (long long)D, (long long)pad, (long long)Fp, (long long)Hp,
         (long long)Wp, fps, worst);
out:
  free(co);
  free(si);
}

int main(void) {
  /* The tiny preset's shape (dim 32: 2 identity channels), and a dim with
   * no padding, patch 2 and another fps. */
  check_tables(2, 16, 1, 1, 3, 4, 6, 25.0, 8, 32);
  check_tables(3, 16, 2, 2, 2, 3, 5, 24.0, 8, 32);
  check_tables(4, 64, 1, 1, 5, 2, 2, 30.0, 8, 32);
  if (failures) fprintf(stderr, "%d failures\n", failures);
  else printf("ok\n");
  return failures ? 1 : 0;
}
