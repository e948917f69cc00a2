/* audio.wav: the file wh_write_wav leaves is read back twice — its bytes
 * by hand (RIFF header fields, interleaved samples equal to the
 * reference's int16 conversion) and through libavformat (pcm_s16le, the
 * channels, rate and duration) — and bad calls are refused by name,
 * leaving no file. */
#include <libavformat/avformat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsio.h"
#include "wav.h"
#include "../integration/wh_testutil.h"

static uint32_t rd16(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}
static uint32_t rd32(const uint8_t *p) {
  return rd16(p) | rd16(p + 2) << 16;
}

static void test_wav_reads_back(const char *dir, uint32_t ch, uint32_t sr,
                                int64_t n) {
  char path[512];
  snprintf(path, sizeof path, "%s/audio_%u_%u.wav", dir, ch, sr);
  float *pcm = malloc(sizeof(float) * ch * (size_t)n);
  unsigned seed = (unsigned)(ch * 7919 + sr);
  for (uint32_t c = 0; c < ch; c++)
    for (int64_t i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      /* A sine per channel plus noise, with a few values past full scale
       * and a NaN, to see the clipping. */
      double v = 0.6 * sin(2 * M_PI * 440.0 * (c + 1) * (double)i / sr) +
                 0.3 * ((seed >> 8 & 0xffff) / 65535.0 - 0.5);
      if (i == 5) v = 1.7;
      if (i == 6) v = -3.0;
      if (i == 7) v = NAN;
      pcm[c * n + i] = (float)v;
    }
  warm_error err = {0};
  CHECK(wh_write_wav(path, pcm, ch, n, sr, &err) == 0, "write: %s", err.msg);
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  CHECK(access(tmp, F_OK) != 0, "a temporary was left");

  FILE *f = fopen(path, "rb");
  uint64_t want = wh_wav_bytes(ch, n);
  uint8_t *b = malloc(want + 16);
  size_t got = f ? fread(b, 1, want + 16, f) : 0;
  if (f) fclose(f);
  CHECK(got == want, "file of %zu bytes, want %llu", got,
        (unsigned long long)want);
  if (got == want) {
    CHECK(!memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WAVEfmt ", 8) &&
              !memcmp(b + 36, "data", 4),
          "RIFF/WAVE/fmt/data tags");
    CHECK(rd32(b + 4) == want - 8 && rd32(b + 16) == 16 && rd16(b + 20) == 1 &&
              rd16(b + 22) == ch && rd32(b + 24) == sr &&
              rd32(b + 28) == sr * ch * 2 && rd16(b + 32) == ch * 2 &&
              rd16(b + 34) == 16 && rd32(b + 40) == want - 44,
          "header fields");
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++)
      for (uint32_t c = 0; c < ch; c++) {
        float v = pcm[c * n + i];
        float cl = v != v ? 0 : v > 1 ? 1 : v < -1 ? -1 : v;
        int16_t e = (int16_t)truncf(cl * 32767.0f);
        int16_t s = (int16_t)rd16(b + 44 + 2 * (i * ch + c));
        bad += s != e;
      }
    CHECK(bad == 0, "%lld samples differ from clip(x)*32767 truncated",
          (long long)bad);
    CHECK((int16_t)rd16(b + 44 + 2 * (5 * ch)) == 32767 &&
              (int16_t)rd16(b + 44 + 2 * (6 * ch)) == -32767 &&
              rd16(b + 44 + 2 * (7 * ch)) == 0,
          "clipping and NaN");
  }
  free(b);

  AVFormatContext *fc = NULL;
  CHECK(avformat_open_input(&fc, path, NULL, NULL) == 0,
        "libavformat opens it");
  if (fc) {
    avformat_find_stream_info(fc, NULL);
    const AVCodecParameters *p = fc->streams[0]->codecpar;
    double secs = (double)fc->duration / AV_TIME_BASE;
    CHECK(fc->nb_streams == 1 && p->codec_id == AV_CODEC_ID_PCM_S16LE &&
              p->ch_layout.nb_channels == (int)ch && p->sample_rate == (int)sr,
          "FFmpeg sees %s, %d ch, %d Hz", avcodec_get_name(p->codec_id),
          p->ch_layout.nb_channels, p->sample_rate);
    CHECK(fabs(secs - (double)n / sr) < 1e-3, "duration %.4f s, want %.4f",
          secs, (double)n / sr);
    printf("wav: %u ch, %u Hz, %lld samples, %.3f s by libavformat\n", ch, sr,
           (long long)n, secs);
    avformat_close_input(&fc);
  }
  free(pcm);
}

static void test_wav_refuses_bad_calls(const char *dir) {
  char path[512];
  snprintf(path, sizeof path, "%s/bad.wav", dir);
  float x[4] = {0};
  warm_error err = {0};
  CHECK(wh_write_wav(path, x, 0, 4, 16000, &err) == WARM_EINVAL &&
            strstr(err.msg, "0 channels") && strstr(err.msg, path),
        "0 channels: %s", err.msg);
  CHECK(wh_write_wav(path, x, 9, 4, 16000, &err) == WARM_EINVAL, "9 channels");
  CHECK(wh_write_wav(path, x, 1, 4, 0, &err) == WARM_EINVAL &&
            strstr(err.msg, "sample rate 0"),
        "rate 0: %s", err.msg);
  CHECK(wh_write_wav(path, x, 1, -1, 16000, &err) == WARM_EINVAL,
        "negative samples");
  CHECK(wh_write_wav(path, x, 8, (int64_t)1 << 28, 48000, &err) ==
                WARM_EINVAL &&
            strstr(err.msg, "4 GiB"),
        "past 4 GiB: %s", err.msg);
  CHECK(access(path, F_OK) != 0, "a refused call left a file");
  snprintf(path, sizeof path, "%s/no/such/dir/a.wav", dir);
  CHECK(wh_write_wav(path, x, 2, 2, 16000, &err) == WARM_EIO &&
            strstr(err.msg, "no/such/dir"),
        "unwritable: %s", err.msg);
}

/* A job that fails after its sound was written keeps none of its media:
 * audio.wav and video.mp4 (and their temporaries) go with the rest. */
static void test_failed_job_leaves_no_sound(const char *dir) {
  char job[512], path[600];
  snprintf(job, sizeof job, "%s/job", dir);
  warm_error err = {0};
  CHECK(wh_mkdir_p(job, &err) == 0, "%s", err.msg);
  const char *names[] = {"audio.wav", "audio.wav.tmp", "video.mp4",
                         "video.mp4.tmp", "job.json"};
  for (int i = 0; i < 5; i++) {
    snprintf(path, sizeof path, "%s/%s", job, names[i]);
    CHECK(wh_write_atomic(path, "x", 1, &err) == 0, "%s", err.msg);
  }
  wh_job_outputs_remove(job);
  for (int i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%s", job, names[i]);
    CHECK(access(path, F_OK) != 0, "%s survived wh_job_outputs_remove",
          names[i]);
  }
  snprintf(path, sizeof path, "%s/job.json", job);
  CHECK(access(path, F_OK) == 0, "the job record stays");
}

int main(void) {
  char dir[256];
  wt_tempdir(dir, sizeof dir, "wav");
  test_wav_reads_back(dir, 2, 24000, 24000 / 2);
  test_wav_reads_back(dir, 1, 16000, 1601);
  test_wav_reads_back(dir, 2, 48000, 48000 * 5 / 24);
  test_wav_refuses_bad_calls(dir);
  test_failed_job_leaves_no_sound(dir);
  wt_rmtree(dir);
  if (wt_failures) fprintf(stderr, "%d failure(s)\n", wt_failures);
  return wt_failures ? 1 : 0;
}
