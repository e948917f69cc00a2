/*
 * test_ltx2_inputs.h — run inputs of the ABI 1.2 two-modality token run
 * for the LTX-2 transformer benchmarks, sized from the plugin's info():
 * B passes over an F x H x W latent video grid and Na audio latents with S
 * context tokens, as the pipelines make them (positions in seconds at 24
 * fps with the causal first frame, pixels x32, audio 25 latents a second;
 * timesteps sigma 0.7 with the first latent frame at 0 as image
 * conditioning, audio sigma 0.5). Values from a fixed seed.
 */
#ifndef TEST_LTX2_INPUTS_H
#define TEST_LTX2_INPUTS_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "warm/warm.h"

static inline float lt2_randn(uint64_t *s) {
  double u1, u2;
  do {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    u1 = (double)(*s >> 11) / 9007199254740992.0;
  } while (u1 <= 0);
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  u2 = (double)(*s >> 11) / 9007199254740992.0;
  return (float)(sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
}

/* in[] gets 10 tensors (5 for a video-only model); returns how many or 0
 * when an allocation failed. Free them with warm_tensor_free. */
static inline uint32_t lt2_inputs(const warm_model_info *mi, int64_t B,
                                  int64_t F, int64_t H, int64_t W, int64_t Na,
                                  int64_t S, uint64_t seed, warm_tensor *in) {
  static const char *const names[2][5] = {
      {"video_latent", "video_timesteps", "video_sigma", "video_positions",
       "video_context"},
      {"audio_latent", "audio_timesteps", "audio_sigma", "audio_positions",
       "audio_context"}};
  int64_t Nv = F * H * W;
  uint32_t n = 0;
  for (int m = 0; m < (mi->audio_latent_channels ? 2 : 1); m++) {
    int64_t N = m ? Na : Nv, A = m ? 1 : 3;
    int64_t C = m ? mi->audio_latent_channels : mi->latent_channels;
    int64_t E = m ? mi->audio_embed_dim : mi->embed_dim;
    int64_t s_lat[3] = {B, N, C}, s_ts[2] = {B, N}, s_sg[1] = {B},
            s_pos[4] = {B, A, N, 2}, s_ctx[3] = {B, S, E};
    const int64_t *shapes[5] = {s_lat, s_ts, s_sg, s_pos, s_ctx};
    const int32_t nd[5] = {3, 2, 1, 4, 3};
    for (int i = 0; i < 5; i++)
      if (warm_tensor_alloc(&in[n + i], names[m][i], WARM_F32, nd[i],
                            shapes[i]))
        return 0;
    float sig = m ? 0.5f : 0.7f;
    float *lat = in[n].data, *ts = in[n + 1].data, *sg = in[n + 2].data,
          *pos = in[n + 3].data, *ctx = in[n + 4].data;
    for (int64_t i = 0; i < B * N * C; i++)
      lat[i] = lt2_randn(&seed);
    for (int64_t i = 0; i < B * S * E; i++)
      ctx[i] = lt2_randn(&seed);
    for (int64_t b = 0; b < B; b++) {
      sg[b] = sig;
      for (int64_t t = 0; t < N; t++) {
        ts[b * N + t] = (!m && t < H * W) ? 0.0f : sig;
        float *p = pos + (b * A * N + t) * 2; /* axis a at p + a * 2N */
        if (m) {
          double s0 = 4.0 * (double)t - 3 > 0 ? 4.0 * (double)t - 3 : 0;
          p[0] = (float)(s0 * 160 / 16000);
          p[1] = (float)((4.0 * (double)t + 1) * 160 / 16000);
        } else {
          int64_t f = t / (H * W), y = t / W % H, x = t % W;
          double t0 = 8.0 * (double)f - 7 > 0 ? 8.0 * (double)f - 7 : 0;
          p[0] = (float)(t0 / 24.0);
          p[1] = (float)((8.0 * (double)f + 1) / 24.0);
          p[2 * N] = (float)(32 * y);
          p[2 * N + 1] = (float)(32 * y + 32);
          p[4 * N] = (float)(32 * x);
          p[4 * N + 1] = (float)(32 * x + 32);
        }
      }
    }
    n += 5;
  }
  return n;
}

#endif /* TEST_LTX2_INPUTS_H */
