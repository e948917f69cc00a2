/* video.mp4: the file warmd writes is read back with libavformat and
 * libavcodec — one H.264 stream and one AAC stream of the right duration,
 * frames that decode to the pictures that went in (within the codec's loss)
 * — and bad input is refused by name. ffprobe (Debian's ffmpeg package)
 * checks a clip with stereo sound at 24 and 48 kHz from outside: one h264
 * and one aac stream, each of the right duration. */
#include <jansson.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../integration/ffprobe_util.h"
#include "mp4.h"
#include "../integration/wh_testutil.h"

enum { F = 12, H = 64, W = 96, FPS = 24, SR = 24000, CH = 2 };

/* A moving gradient per frame, so frame order matters. */
static float *make_frames(unsigned seed) {
  float *x = malloc(sizeof(float) * 3 * F * H * W);
  for (int c = 0; c < 3; c++)
    for (int t = 0; t < F; t++)
      for (int y = 0; y < H; y++)
        for (int i = 0; i < W; i++) {
          double v = sin(0.07 * (i + 5 * t) + 0.5 * c + seed) *
                     cos(0.05 * (y - 3 * t) + 0.3 * c);
          x[((c * F + t) * H + y) * W + i] = (float)v;
        }
  return x;
}

/* Sine of `hz` on the left channel, 2*hz on the right, 0.5 amplitude. */
static float *make_sound_at(int64_t n, double hz, int sr) {
  float *p = malloc(sizeof(float) * CH * (size_t)n);
  for (int64_t i = 0; i < n; i++) {
    p[i] = (float)(0.5 * sin(2 * M_PI * hz * (double)i / sr));
    p[n + i] = (float)(0.5 * sin(2 * M_PI * 2 * hz * (double)i / sr));
  }
  return p;
}

static float *make_sound(int64_t n, double hz) {
  return make_sound_at(n, hz, SR);
}

static double stream_seconds(const AVFormatContext *fc, const AVStream *st) {
  if (st->duration > 0) return (double)st->duration * av_q2d(st->time_base);
  return (double)fc->duration / AV_TIME_BASE;
}

/* Decodes every video frame and returns the mean absolute difference of the
 * luma against the BT.601 luma of the input, in 8-bit steps. */
static double luma_error(AVFormatContext *fc, int vi, const float *frames,
                         int *n_frames) {
  const AVCodec *dec =
      avcodec_find_decoder(fc->streams[vi]->codecpar->codec_id);
  AVCodecContext *cc = avcodec_alloc_context3(dec);
  avcodec_parameters_to_context(cc, fc->streams[vi]->codecpar);
  if (avcodec_open2(cc, dec, NULL) < 0) return 1e9;
  AVPacket *pkt = av_packet_alloc();
  AVFrame *fr = av_frame_alloc();
  double sum = 0;
  int64_t count = 0;
  *n_frames = 0;
  int eof = 0;
  while (!eof) {
    int rc = av_read_frame(fc, pkt);
    if (rc < 0) {
      eof = 1;
      avcodec_send_packet(cc, NULL);
    } else if (pkt->stream_index == vi) {
      avcodec_send_packet(cc, pkt);
    }
    if (rc >= 0) av_packet_unref(pkt);
    while (avcodec_receive_frame(cc, fr) == 0) {
      int t = (*n_frames)++;
      if (t >= F) continue;
      for (int y = 0; y < H; y++)
        for (int i = 0; i < W; i++) {
          double rgb[3];
          for (int c = 0; c < 3; c++) {
            double v = (frames[((c * F + t) * H + y) * W + i] + 1.0) * 127.5;
            rgb[c] = v < 0 ? 0 : v > 255 ? 255 : floor(v + 0.5);
          }
          double yfull = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
          double ytv = 16 + yfull * 219.0 / 255.0; /* limited range */
          sum += fabs(fr->data[0][y * fr->linesize[0] + i] - ytv);
          count++;
        }
    }
  }
  av_frame_free(&fr);
  av_packet_free(&pkt);
  avcodec_free_context(&cc);
  return count ? sum / (double)count : 1e9;
}

static void test_mp4_has_h264_and_aac_of_the_right_duration(const char *dir) {
  char path[512];
  snprintf(path, sizeof path, "%s/clip.mp4", dir);
  float *frames = make_frames(3);
  const int64_t n = (int64_t)SR * F / FPS; /* exactly the video's length */
  float *pcm = make_sound(n, 440.0);
  wh_mp4_audio au = {pcm, CH, n, SR};
  warm_error err = {0};
  int rc = wh_write_mp4(path, frames, F, H, W, FPS, &au, &err);
  CHECK(rc == 0, "write: %s", err.msg);
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  CHECK(access(tmp, F_OK) != 0, "the temporary file was left behind");

  AVFormatContext *fc = NULL;
  CHECK(avformat_open_input(&fc, path, NULL, NULL) == 0, "cannot open %s",
        path);
  if (!fc) goto out;
  avformat_find_stream_info(fc, NULL);
  CHECK(fc->nb_streams == 2, "%u streams, want 2", fc->nb_streams);
  int vi = -1, ai = -1;
  for (unsigned i = 0; i < fc->nb_streams; i++) {
    const AVCodecParameters *p = fc->streams[i]->codecpar;
    if (p->codec_type == AVMEDIA_TYPE_VIDEO) vi = (int)i;
    if (p->codec_type == AVMEDIA_TYPE_AUDIO) ai = (int)i;
  }
  CHECK(vi >= 0 && ai >= 0, "want one video and one audio stream");
  if (vi < 0 || ai < 0) goto close;
  const AVCodecParameters *vp = fc->streams[vi]->codecpar;
  const AVCodecParameters *ap = fc->streams[ai]->codecpar;
  CHECK(vp->codec_id == AV_CODEC_ID_H264, "video codec %s",
        avcodec_get_name(vp->codec_id));
  CHECK(vp->width == W && vp->height == H, "video %dx%d", vp->width,
        vp->height);
  CHECK(ap->codec_id == AV_CODEC_ID_AAC, "audio codec %s",
        avcodec_get_name(ap->codec_id));
  CHECK(ap->sample_rate == SR && ap->ch_layout.nb_channels == CH,
        "audio %d Hz x %d", ap->sample_rate, ap->ch_layout.nb_channels);
  double want = (double)F / FPS;
  double vs = stream_seconds(fc, fc->streams[vi]);
  double as = stream_seconds(fc, fc->streams[ai]);
  CHECK(fabs(vs - want) < 1e-6, "video lasts %.4f s, want %.4f", vs, want);
  /* AAC adds its priming frame: within one 1024-sample frame. */
  CHECK(fabs(as - want) <= 1024.0 / SR + 1e-6, "audio lasts %.4f s, want %.4f",
        as, want);
  int nf = 0;
  double e = luma_error(fc, vi, frames, &nf);
  CHECK(nf == F, "decoded %d frames, want %d", nf, F);
  CHECK(e < 2.0, "decoded luma differs by %.2f steps on average", e);
  printf("mp4: %d frames, luma error %.3f steps, video %.3f s, audio %.3f s\n",
         nf, e, vs, as);
close:
  avformat_close_input(&fc);
out:
  free(frames);
  free(pcm);
}

static void test_mp4_without_sound_has_one_stream(const char *dir) {
  char path[512];
  snprintf(path, sizeof path, "%s/silent.mp4", dir);
  float *frames = make_frames(1);
  warm_error err = {0};
  CHECK(wh_write_mp4(path, frames, F, H, W, FPS, NULL, &err) == 0, "%s",
        err.msg);
  AVFormatContext *fc = NULL;
  if (avformat_open_input(&fc, path, NULL, NULL) == 0) {
    avformat_find_stream_info(fc, NULL);
    CHECK(fc->nb_streams == 1, "%u streams, want 1", fc->nb_streams);
    avformat_close_input(&fc);
  } else {
    CHECK(0, "cannot open %s", path);
  }
  free(frames);
}

static void test_mp4_refuses_bad_input(const char *dir) {
  char path[512];
  snprintf(path, sizeof path, "%s/bad.mp4", dir);
  float *frames = make_frames(2);
  warm_error err = {0};
  CHECK(wh_write_mp4(path, frames, F, H - 1, W, FPS, NULL, &err) == WARM_EINVAL,
        "an odd height must be refused");
  CHECK(strstr(err.msg, "even") && strstr(err.msg, path), "message: %s",
        err.msg);
  float one = 0;
  wh_mp4_audio au = {&one, 3, 1, SR};
  CHECK(wh_write_mp4(path, frames, F, H, W, FPS, &au, &err) == WARM_EINVAL,
        "three channels must be refused");
  CHECK(strstr(err.msg, "3 channels"), "message: %s", err.msg);
  CHECK(access(path, F_OK) != 0, "a refused call left a file");
  snprintf(path, sizeof path, "%s/no/such/dir/x.mp4", dir);
  CHECK(wh_write_mp4(path, frames, F, H, W, FPS, NULL, &err) == WARM_EIO,
        "an unwritable path must fail with EIO");
  CHECK(strstr(err.msg, "no/such/dir"), "message: %s", err.msg);
  free(frames);
}

static void test_mp4_ffprobe_sees_h264_and_aac(const char *dir, int sr) {
  char path[512];
  snprintf(path, sizeof path, "%s/probe_%d.mp4", dir, sr);
  float *frames = make_frames(5);
  const int64_t n = (int64_t)sr * F / FPS;
  float *pcm = make_sound_at(n, 330.0, sr);
  wh_mp4_audio au = {pcm, CH, n, (uint32_t)sr};
  warm_error err = {0};
  CHECK(wh_write_mp4(path, frames, F, H, W, FPS, &au, &err) == 0, "write: %s",
        err.msg);
  wt_probe pr;
  CHECK(wt_ffprobe(path, &pr) == 0, "ffprobe reads %s", path);
  const double vs = pr.video_s, as = pr.audio_s;
  CHECK(pr.audio_rate == sr, "%d Hz: ffprobe says %d Hz", sr, pr.audio_rate);
  CHECK(pr.audio_channels == CH, "%d Hz: channels %d", sr, pr.audio_channels);
  CHECK(pr.n_h264 == 1 && pr.n_aac == 1 && pr.n_other == 0,
        "%d Hz: %d h264, %d aac, %d other streams", sr, pr.n_h264, pr.n_aac,
        pr.n_other);
  const double want = (double)F / FPS;
  CHECK(fabs(vs - want) <= 1.0 / FPS,
        "%d Hz: video %.4f s, want %.4f +- 1 frame", sr, vs, want);
  CHECK(fabs(as - want) <= 1024.0 / sr,
        "%d Hz: audio %.4f s, want %.4f +- "
        "one AAC frame (%.4f s)",
        sr, as, want, 1024.0 / sr);
  printf("ffprobe %d Hz: h264 %.4f s, aac %.4f s (want %.4f)\n", sr, vs, as,
         want);
  free(frames);
  free(pcm);
}

int main(void) {
  char dir[256];
  wt_tempdir(dir, sizeof dir, "mp4");
  test_mp4_has_h264_and_aac_of_the_right_duration(dir);
  if (wt_have_ffprobe()) {
    test_mp4_ffprobe_sees_h264_and_aac(dir, 24000);
    test_mp4_ffprobe_sees_h264_and_aac(dir, 48000);
  } else {
    printf("SKIP ffprobe checks: no ffprobe on PATH (Debian package "
           "ffmpeg; `make deps` installs it)\n");
  }
  test_mp4_without_sound_has_one_stream(dir);
  test_mp4_refuses_bad_input(dir);
  wt_rmtree(dir);
  if (wt_failures) fprintf(stderr, "%d failure(s)\n", wt_failures);
  return wt_failures ? 1 : 0;
}
