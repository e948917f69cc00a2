/*
 * host/mp4.c — video.mp4: H.264 (libx264 through libavcodec) and, when the
 * job has sound, AAC, muxed by libavformat. Written to PATH.tmp and renamed,
 * so a reader never sees a torn file.
 */
#include "mp4.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One encoder feeding one stream of the muxer. Packets are interleaved by
 * libavformat, which holds the (compressed) video of a clip until its sound
 * is written: a few MB for the clips warmd makes. */
typedef struct mp4_track {
  AVCodecContext *enc;
  AVStream *st;
  AVFrame *frame;
  AVPacket *pkt;
} mp4_track;

typedef struct mp4_out {
  const char *path; /* for messages */
  AVFormatContext *fmt;
  mp4_track v, a;
  int header_written;
} mp4_out;

static int av_fail(warm_error *err, const mp4_out *o, const char *what,
                   int averr) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(averr, buf, sizeof buf);
  return warm_error_set(err, WARM_EIO, "%s: %s: %s", o->path, what, buf);
}

/* Sends one frame (NULL flushes) and writes every packet it yields. */
static int encode(mp4_out *o, mp4_track *t, AVFrame *f, warm_error *err) {
  int rc = avcodec_send_frame(t->enc, f);
  if (rc < 0) return av_fail(err, o, "encoder refused a frame", rc);
  for (;;) {
    rc = avcodec_receive_packet(t->enc, t->pkt);
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return 0;
    if (rc < 0) return av_fail(err, o, "encoding failed", rc);
    /* x264 leaves durations unset; a frame lasts one tick of 1/fps, so the
     * file's duration covers the last frame too. */
    if (t->pkt->duration == 0 && t->enc->codec_type == AVMEDIA_TYPE_VIDEO)
      t->pkt->duration = 1;
    av_packet_rescale_ts(t->pkt, t->enc->time_base, t->st->time_base);
    t->pkt->stream_index = t->st->index;
    rc = av_interleaved_write_frame(o->fmt, t->pkt);
    if (rc < 0) return av_fail(err, o, "writing a packet failed", rc);
  }
}

static int open_track(mp4_out *o, mp4_track *t, const AVCodec *codec,
                      AVDictionary **opts, warm_error *err) {
  if (o->fmt->oformat->flags & AVFMT_GLOBALHEADER)
    t->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  int rc = avcodec_open2(t->enc, codec, opts);
  if (rc < 0) return av_fail(err, o, "cannot open the encoder", rc);
  if (!(t->st = avformat_new_stream(o->fmt, NULL)))
    return warm_error_set(err, WARM_ENOMEM, "%s: out of memory", o->path);
  rc = avcodec_parameters_from_context(t->st->codecpar, t->enc);
  if (rc < 0) return av_fail(err, o, "stream parameters", rc);
  t->st->time_base = t->enc->time_base;
  if (!(t->frame = av_frame_alloc()) || !(t->pkt = av_packet_alloc()))
    return warm_error_set(err, WARM_ENOMEM, "%s: out of memory", o->path);
  return 0;
}

static void close_track(mp4_track *t) {
  avcodec_free_context(&t->enc);
  av_frame_free(&t->frame);
  av_packet_free(&t->pkt);
}

static int setup_video(mp4_out *o, int64_t H, int64_t W, uint32_t fps,
                       warm_error *err) {
  const AVCodec *c = avcodec_find_encoder_by_name("libx264");
  if (!c)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: this FFmpeg has no libx264 encoder", o->path);
  mp4_track *t = &o->v;
  if (!(t->enc = avcodec_alloc_context3(c)))
    return warm_error_set(err, WARM_ENOMEM, "%s: out of memory", o->path);
  t->enc->width = (int)W;
  t->enc->height = (int)H;
  t->enc->time_base = (AVRational){1, (int)fps};
  t->enc->framerate = (AVRational){(int)fps, 1};
  t->enc->pix_fmt = AV_PIX_FMT_YUV420P;
  t->enc->gop_size = (int)fps * 2;
  t->enc->color_range = AVCOL_RANGE_MPEG;
  t->enc->colorspace = AVCOL_SPC_SMPTE170M;
  t->enc->thread_count = 1; /* deterministic bytes; the clips are short */
  AVDictionary *opts = NULL;
  av_dict_set(&opts, "preset", "veryfast", 0);
  av_dict_set(&opts, "crf", "18", 0);
  int rc = open_track(o, t, c, &opts, err);
  av_dict_free(&opts);
  if (rc) return rc;
  t->frame->format = AV_PIX_FMT_YUV420P;
  t->frame->width = (int)W;
  t->frame->height = (int)H;
  rc = av_frame_get_buffer(t->frame, 0);
  return rc < 0 ? av_fail(err, o, "frame buffer", rc) : 0;
}

static int setup_audio(mp4_out *o, const wh_mp4_audio *au, warm_error *err) {
  const AVCodec *c = avcodec_find_encoder(AV_CODEC_ID_AAC);
  if (!c)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: this FFmpeg has no AAC encoder", o->path);
  mp4_track *t = &o->a;
  if (!(t->enc = avcodec_alloc_context3(c)))
    return warm_error_set(err, WARM_ENOMEM, "%s: out of memory", o->path);
  t->enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
  t->enc->sample_rate = (int)au->sample_rate;
  t->enc->bit_rate = 128000 * au->channels;
  av_channel_layout_default(&t->enc->ch_layout, (int)au->channels);
  t->enc->time_base = (AVRational){1, (int)au->sample_rate};
  int rc = open_track(o, t, c, NULL, err);
  if (rc) return rc;
  t->frame->format = AV_SAMPLE_FMT_FLTP;
  t->frame->sample_rate = (int)au->sample_rate;
  t->frame->nb_samples = t->enc->frame_size;
  rc = av_channel_layout_copy(&t->frame->ch_layout, &t->enc->ch_layout);
  if (rc >= 0) rc = av_frame_get_buffer(t->frame, 0);
  return rc < 0 ? av_fail(err, o, "audio frame buffer", rc) : 0;
}

/* [-1, 1] f32 planes [3, F, H, W] -> packed RGB24 of frame t. */
static void frame_rgb(const float *frames, int64_t F, int64_t H, int64_t W,
                      int64_t t, uint8_t *rgb) {
  const int64_t plane = H * W;
  for (int c = 0; c < 3; c++) {
    const float *src = frames + ((int64_t)c * F + t) * plane;
    for (int64_t i = 0; i < plane; i++) {
      float x = (src[i] + 1.0f) * 127.5f;
      rgb[i * 3 + c] = !(x > 0.0f) ? 0 : x >= 255.0f ? 255 : (uint8_t)(x + 0.5f);
    }
  }
}

static int write_video(mp4_out *o, const float *frames, int64_t F, int64_t H,
                       int64_t W, warm_error *err) {
  struct SwsContext *sws = sws_getContext(
      (int)W, (int)H, AV_PIX_FMT_RGB24, (int)W, (int)H, AV_PIX_FMT_YUV420P,
      SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
  uint8_t *rgb = malloc((size_t)(H * W * 3));
  int rc = 0;
  if (!sws || !rgb) {
    rc = warm_error_set(err, WARM_ENOMEM, "%s: out of memory", o->path);
    goto out;
  }
  for (int64_t t = 0; t < F && !rc; t++) {
    frame_rgb(frames, F, H, W, t, rgb);
    int ret = av_frame_make_writable(o->v.frame);
    if (ret < 0) {
      rc = av_fail(err, o, "frame buffer", ret);
      break;
    }
    const uint8_t *src[1] = {rgb};
    const int stride[1] = {(int)W * 3};
    sws_scale(sws, src, stride, 0, (int)H, o->v.frame->data,
              o->v.frame->linesize);
    o->v.frame->pts = t;
    rc = encode(o, &o->v, o->v.frame, err);
  }
  if (!rc) rc = encode(o, &o->v, NULL, err);
out:
  free(rgb);
  sws_freeContext(sws);
  return rc;
}

static int write_audio(mp4_out *o, const wh_mp4_audio *au, warm_error *err) {
  mp4_track *t = &o->a;
  const int64_t fs = t->enc->frame_size;
  int rc = 0;
  for (int64_t s0 = 0; s0 < au->samples && !rc; s0 += fs) {
    int ret = av_frame_make_writable(t->frame);
    if (ret < 0) return av_fail(err, o, "audio frame buffer", ret);
    int64_t n = au->samples - s0 < fs ? au->samples - s0 : fs;
    t->frame->nb_samples = (int)n;
    for (uint32_t c = 0; c < au->channels; c++) {
      float *dst = (float *)t->frame->data[c];
      const float *src = au->pcm + (int64_t)c * au->samples + s0;
      for (int64_t i = 0; i < n; i++)
        dst[i] = src[i] > 1.0f ? 1.0f : src[i] < -1.0f ? -1.0f : src[i];
    }
    t->frame->pts = s0;
    rc = encode(o, t, t->frame, err);
  }
  return rc ? rc : encode(o, t, NULL, err);
}

/* FFmpeg logs to stderr by default; warmd reports through err instead. */
static void quiet_ffmpeg(void) {
  av_log_set_level(AV_LOG_ERROR);
}

int wh_write_mp4(const char *path, const float *frames, int64_t F, int64_t H,
                 int64_t W, uint32_t fps, const wh_mp4_audio *audio,
                 warm_error *err) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, quiet_ffmpeg);
  if (!frames || F <= 0 || H < 2 || W < 2 || (H & 1) || (W & 1) || fps == 0 ||
      H > 1 << 14 || W > 1 << 14)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: H.264 needs an even frame size: got %lldx%lld "
                          "x %lld frames at %u fps",
                          path, (long long)W, (long long)H, (long long)F, fps);
  if (audio && (!audio->pcm || audio->channels < 1 || audio->channels > 2 ||
                audio->samples <= 0 || audio->sample_rate < 8000 ||
                audio->sample_rate > 96000))
    return warm_error_set(err, WARM_EINVAL,
                          "%s: bad audio: %u channels, %lld samples at %u Hz",
                          path, audio->channels, (long long)audio->samples,
                          audio->sample_rate);
  size_t n = strlen(path) + 5;
  char *tmp = malloc(n);
  if (!tmp) return warm_error_set(err, WARM_ENOMEM, "%s: out of memory", path);
  snprintf(tmp, n, "%s.tmp", path);
  mp4_out o = {.path = path};
  int rc = avformat_alloc_output_context2(&o.fmt, NULL, "mp4", tmp);
  if (rc < 0 || !o.fmt) {
    rc = av_fail(err, &o, "cannot set up the mp4 muxer", rc);
    goto out;
  }
  if ((rc = setup_video(&o, H, W, fps, err)) ||
      (audio && (rc = setup_audio(&o, audio, err))))
    goto out;
  if ((rc = avio_open(&o.fmt->pb, tmp, AVIO_FLAG_WRITE)) < 0) {
    rc = warm_error_set(err, WARM_EIO, "%s: cannot create: %s", tmp,
                        av_err2str(rc));
    goto out;
  }
  AVDictionary *mux = NULL;
  av_dict_set(&mux, "movflags", "+faststart", 0); /* playable while loading */
  rc = avformat_write_header(o.fmt, &mux);
  av_dict_free(&mux);
  if (rc < 0) {
    rc = av_fail(err, &o, "cannot write the header", rc);
    goto out;
  }
  o.header_written = 1;
  if ((rc = write_video(&o, frames, F, H, W, err)) ||
      (audio && (rc = write_audio(&o, audio, err))))
    goto out;
  if ((rc = av_write_trailer(o.fmt)) < 0) rc = av_fail(err, &o, "trailer", rc);
out:
  if (o.fmt && o.fmt->pb) {
    int crc = avio_closep(&o.fmt->pb);
    if (!rc && crc < 0) rc = av_fail(err, &o, "write failed", crc);
  }
  close_track(&o.v);
  close_track(&o.a);
  avformat_free_context(o.fmt);
  if (!rc && rename(tmp, path) != 0)
    rc = warm_error_set(err, WARM_EIO, "%s: cannot rename into place: %s",
                        path, strerror(errno));
  if (rc) remove(tmp);
  free(tmp);
  return rc;
}
