/*
 * host/wav.h — a job's audio.wav: the decoded waveform as 16-bit PCM WAV
 * (RIFF, WAVE_FORMAT_PCM, interleaved).
 *
 * Why 16-bit integers and not float32: every player, browser and tool
 * reads them (WAVE_FORMAT_IEEE_FLOAT is not universal), the file is half
 * the size, 16 bits (96 dB) is far below the vocoder's own noise floor, and
 * it is exactly what the reference hands its AAC encoder
 * (ltx_pipelines.utils.media_io._write_audio: clip to [-1, 1], times
 * 32767, truncated to int16), so audio.wav holds the same samples as the
 * sound in video.mp4 before compression.
 */
#ifndef WH_WAV_H
#define WH_WAV_H

#include <stdint.h>

#include "warm/warm.h"

#define WH_WAV_MAX_CHANNELS 8

/* Writes pcm, planar [channels, samples] f32 (values outside [-1, 1] are
 * clipped, NaN becomes 0), as a 16-bit WAV at path, atomically (fsio.h:
 * a temporary, fsync, rename). WARM_EINVAL for 0 or more than
 * WH_WAV_MAX_CHANNELS channels, a sample rate outside 1..768000, negative
 * samples or a file past 4 GiB; WARM_EIO naming the file when it cannot
 * be written. Blocking; holds wh_wav_bytes() of host memory meanwhile. */
int wh_write_wav(const char *path, const float *pcm, uint32_t channels,
                 int64_t samples, uint32_t sample_rate, warm_error *err);

/* The file's size (header included), which is also the host memory the
 * writer holds while it writes. */
uint64_t wh_wav_bytes(uint32_t channels, int64_t samples);

#endif /* WH_WAV_H */
