/*
 * host/wav.c — audio.wav (see wav.h).
 */
#include "wav.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fsio.h"

#define WAV_HEADER 44

uint64_t wh_wav_bytes(uint32_t channels, int64_t samples) {
  return WAV_HEADER + (uint64_t)channels * (uint64_t)(samples > 0 ? samples : 0) * 2;
}

static void le16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v) {
  le16(p, v & 0xffff);
  le16(p + 2, v >> 16);
}

/* The reference's conversion: clip, times 32767, truncate toward zero. */
static int16_t to_s16(float v) {
  if (!(v == v)) return 0; /* NaN */
  if (v > 1.0f) v = 1.0f;
  if (v < -1.0f) v = -1.0f;
  return (int16_t)(v * 32767.0f);
}

int wh_write_wav(const char *path, const float *pcm, uint32_t channels,
                 int64_t samples, uint32_t sample_rate, warm_error *err) {
  if (channels == 0 || channels > WH_WAV_MAX_CHANNELS)
    return warm_error_set(err, WARM_EINVAL, "%s: %u channels (1..%d)", path,
                          channels, WH_WAV_MAX_CHANNELS);
  if (sample_rate == 0 || sample_rate > 768000)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: sample rate %u Hz (1..768000)", path,
                          sample_rate);
  if (samples < 0 || (samples > 0 && !pcm))
    return warm_error_set(err, WARM_EINVAL, "%s: %lld samples%s", path,
                          (long long)samples, samples < 0 ? "" : " and no data");
  uint64_t total = wh_wav_bytes(channels, samples);
  if (total - 8 > UINT32_MAX)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: %lld samples x %u channels is past the 4 GiB a "
                          "WAV file can hold",
                          path, (long long)samples, channels);
  uint8_t *b = malloc(total);
  if (!b)
    return warm_error_set(err, WARM_ENOMEM, "%s: out of memory (%llu bytes)",
                          path, (unsigned long long)total);
  uint32_t data = (uint32_t)(total - WAV_HEADER);
  memcpy(b, "RIFF", 4);
  le32(b + 4, (uint32_t)(total - 8));
  memcpy(b + 8, "WAVEfmt ", 8);
  le32(b + 16, 16);                            /* fmt chunk size */
  le16(b + 20, 1);                             /* WAVE_FORMAT_PCM */
  le16(b + 22, channels);
  le32(b + 24, sample_rate);
  le32(b + 28, sample_rate * channels * 2);    /* bytes a second */
  le16(b + 32, channels * 2);                  /* block align */
  le16(b + 34, 16);                            /* bits a sample */
  memcpy(b + 36, "data", 4);
  le32(b + 40, data);
  uint8_t *o = b + WAV_HEADER;
  for (int64_t i = 0; i < samples; i++)
    for (uint32_t c = 0; c < channels; c++, o += 2)
      le16(o, (uint16_t)to_s16(pcm[(int64_t)c * samples + i]));
  int rc = wh_write_atomic(path, b, total, err);
  free(b);
  return rc;
}
