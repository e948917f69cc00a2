/*
 * host/mp4.h — a job's video.mp4: H.264 video (yuv420p, BT.601 limited range)
 * and optional AAC sound, muxed with FFmpeg's libraries.
 */
#ifndef WH_MP4_H
#define WH_MP4_H

#include <stdint.h>

#include "warm/warm.h"

/* Planar f32 sound in [-1, 1]: pcm[c * samples + i]. */
typedef struct wh_mp4_audio {
  const float *pcm;
  uint32_t channels; /* 1 or 2 */
  int64_t samples;   /* per channel */
  uint32_t sample_rate;
} wh_mp4_audio;

/* Writes frames f32 [3, F, H, W] in [-1, 1] (H and W even) at `fps`, plus
 * `audio` when not NULL, to `path` (through PATH.tmp and a rename). Errors
 * name the path. Blocking; call from a job thread. */
int wh_write_mp4(const char *path, const float *frames, int64_t F, int64_t H,
                 int64_t W, uint32_t fps, const wh_mp4_audio *audio,
                 warm_error *err);

#endif /* WH_MP4_H */
