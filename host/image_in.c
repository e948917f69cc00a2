/*
 * host/image_in.c — first-frame images: probe, decode, the reference's
 * preparation (see image_in.h).
 */
#include "image_in.h"

#include <stdio.h> /* jpeglib.h needs FILE */

#include <jpeglib.h>
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <png.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static int format_of(const uint8_t *b, size_t n) {
  if (n >= 8 && !memcmp(b, png_magic, 8)) return WH_IMAGE_PNG;
  if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
    return WH_IMAGE_JPEG;
  return 0;
}

/* ---- PNG (libpng, reading from memory) ------------------------------------ */

typedef struct png_src {
  const uint8_t *b;
  size_t n, at;
  char msg[160];
} png_src;

static void png_read_mem(png_structp png, png_bytep out, png_size_t n) {
  png_src *s = png_get_io_ptr(png);
  if (n > s->n - s->at) png_error(png, "the data ends inside the image");
  memcpy(out, s->b + s->at, n);
  s->at += n;
}

static void png_fail(png_structp png, png_const_charp msg) {
  png_src *s = png_get_error_ptr(png);
  snprintf(s->msg, sizeof s->msg, "%s", msg);
  png_longjmp(png, 1);
}

static void png_quiet(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg;
}

static int size_ok(uint32_t w, uint32_t h, const char *what, warm_error *err) {
  if (w == 0 || h == 0 || w > WH_IMAGE_MAX_SIDE || h > WH_IMAGE_MAX_SIDE)
    return warm_error_set(err, WARM_EINVAL,
                          "%s of %ux%u pixels: each side must be 1..%d", what,
                          w, h, WH_IMAGE_MAX_SIDE);
  return 0;
}

/* Reads the header (rgb == NULL) or the whole image as RGB8. */
static int png_load(const uint8_t *b, size_t n, uint8_t **rgb, uint32_t *w,
                    uint32_t *h, warm_error *err) {
  png_src src = {b, n, 0, ""};
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_fail, png_quiet);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    png_destroy_read_struct(&png, NULL, NULL);
    return warm_error_set(err, WARM_ENOMEM, "out of memory reading a PNG");
  }
  uint8_t *volatile pix = NULL;
  png_bytep *volatile rows = NULL;
  if (setjmp(png_jmpbuf(png))) {
    free(pix);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return warm_error_set(err, WARM_EINVAL, "a damaged PNG: %s", src.msg);
  }
  png_set_read_fn(png, &src, png_read_mem);
  png_read_info(png, info);
  *w = png_get_image_width(png, info);
  *h = png_get_image_height(png, info);
  int rc = size_ok(*w, *h, "a PNG", err);
  if (rc || !rgb) {
    png_destroy_read_struct(&png, &info, NULL);
    return rc;
  }
  /* To 8-bit RGB, as PIL's RGB(A) modes followed by [..., :3]: palettes
   * and grey expanded, 16 bits cut to their high byte, alpha dropped. */
  png_set_expand(png);
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  size_t stride = (size_t)*w * 3;
  if (png_get_rowbytes(png, info) != stride)
    png_error(png, "unexpected row layout after conversion to RGB");
  pix = malloc(stride * *h);
  rows = malloc(sizeof *rows * *h);
  if (!pix || !rows) png_error(png, "out of memory");
  for (uint32_t y = 0; y < *h; y++)
    rows[y] = pix + stride * y;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  free(rows);
  png_destroy_read_struct(&png, &info, NULL);
  *rgb = pix;
  return 0;
}

/* ---- JPEG (libjpeg-turbo) --------------------------------------------------- */

typedef struct jpeg_fail_mgr {
  struct jpeg_error_mgr pub;
  jmp_buf jmp;
  char msg[JMSG_LENGTH_MAX];
} jpeg_fail_mgr;

static void jpeg_fail(j_common_ptr c) {
  jpeg_fail_mgr *m = (jpeg_fail_mgr *)c->err;
  m->pub.format_message(c, m->msg);
  longjmp(m->jmp, 1);
}

static void jpeg_quiet(j_common_ptr c, int level) {
  (void)c;
  (void)level;
}

/* Reads the header (rgb == NULL) or the whole image as RGB8 with the
 * library's defaults (islow DCT, fancy upsampling), as PIL decodes. */
static int jpeg_load(const uint8_t *b, size_t n, uint8_t **rgb, uint32_t *w,
                     uint32_t *h, warm_error *err) {
  struct jpeg_decompress_struct d;
  jpeg_fail_mgr m;
  uint8_t *volatile pix = NULL;
  d.err = jpeg_std_error(&m.pub);
  m.pub.error_exit = jpeg_fail;
  m.pub.emit_message = jpeg_quiet;
  if (setjmp(m.jmp)) {
    free(pix);
    jpeg_destroy_decompress(&d);
    return warm_error_set(err, WARM_EINVAL, "a damaged JPEG: %s", m.msg);
  }
  jpeg_create_decompress(&d);
  jpeg_mem_src(&d, b, (unsigned long)n);
  jpeg_read_header(&d, TRUE);
  *w = d.image_width;
  *h = d.image_height;
  int rc = size_ok(*w, *h, "a JPEG", err);
  if (!rc && (d.jpeg_color_space == JCS_CMYK || d.jpeg_color_space == JCS_YCCK))
    rc = warm_error_set(err, WARM_EINVAL,
                        "a CMYK JPEG: only greyscale and colour (YCbCr, RGB) "
                        "JPEGs are read");
  if (rc || !rgb) {
    jpeg_destroy_decompress(&d);
    return rc;
  }
  d.out_color_space = JCS_RGB;
  jpeg_start_decompress(&d);
  size_t stride = (size_t)*w * 3;
  if (d.output_components != 3) {
    snprintf(m.msg, sizeof m.msg, "%d components after conversion to RGB",
             d.output_components);
    longjmp(m.jmp, 1);
  }
  if (!(pix = malloc(stride * *h))) {
    snprintf(m.msg, sizeof m.msg, "out of memory");
    longjmp(m.jmp, 1);
  }
  while (d.output_scanline < d.output_height) {
    JSAMPROW row = pix + stride * d.output_scanline;
    jpeg_read_scanlines(&d, &row, 1);
  }
  jpeg_finish_decompress(&d);
  jpeg_destroy_decompress(&d);
  *rgb = pix;
  return 0;
}

/* ---- probe and decode ------------------------------------------------------ */

static int not_an_image(const uint8_t *b, size_t n, warm_error *err) {
  char hex[3 * 8 + 1] = "";
  for (size_t i = 0; i < n && i < 8; i++)
    snprintf(hex + strlen(hex), 4, "%s%02x", i ? " " : "", b[i]);
  return warm_error_set(err, WARM_EINVAL,
                        "not a PNG or JPEG (%zu bytes starting %s; a PNG "
                        "starts 89 50 4e 47, a JPEG ff d8 ff)",
                        n, n ? hex : "(none)");
}

int wh_image_probe(const uint8_t *bytes, size_t len, wh_image_format *fmt,
                   uint32_t *width, uint32_t *height, warm_error *err) {
  int f = format_of(bytes, len);
  if (!f) return not_an_image(bytes, len, err);
  *fmt = (wh_image_format)f;
  return f == WH_IMAGE_PNG ? png_load(bytes, len, NULL, width, height, err)
                           : jpeg_load(bytes, len, NULL, width, height, err);
}

int wh_image_decode(const uint8_t *bytes, size_t len, uint8_t **rgb,
                    uint32_t *width, uint32_t *height, warm_error *err) {
  int f = format_of(bytes, len);
  if (!f) return not_an_image(bytes, len, err);
  *rgb = NULL;
  return f == WH_IMAGE_PNG ? png_load(bytes, len, rgb, width, height, err)
                           : jpeg_load(bytes, len, rgb, width, height, err);
}

/* ---- the CRF round trip (ltx_pipelines.utils.media_io.preprocess) ---------- */

static int av_fail(warm_error *err, const char *what, int averr) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(averr, buf, sizeof buf);
  return warm_error_set(err, WARM_EIO, "image CRF round trip: %s: %s", what,
                        buf);
}

/* rgb (w x h) -> one yuv420p frame through libx264 at crf -> decoded ->
 * rgb, in place; w and h even. encode_single_frame / decode_single_frame
 * of the reference: preset veryfast, BT.601 limited range, bilinear
 * swscale conversions both ways. */
/* FFmpeg logs to stderr by default; warmd reports through err instead. */
static void quiet_ffmpeg(void) {
  av_log_set_level(AV_LOG_ERROR);
}

/* The decoded yuv420p frame -> rgb (w x h, stride 3w). Debian's swscale
 * (FFmpeg 5.1) converts yuv420p to rgb24 unscaled with x86 code that leaves
 * the last w % 16 columns of each row unwritten (a 116-pixel-wide picture
 * kept its 4 original columns), where the reference's FFmpeg converts them.
 * So the frame is converted at a width rounded up to 16, from a copy whose
 * extra columns repeat the last one, and the first w columns are kept:
 * each rgb pixel depends only on its own luma and chroma sample, so the
 * padding changes none of them. */
static int yuv_to_rgb(const AVFrame *in, uint8_t *rgb, int w, int h,
                      warm_error *err) {
  const int wp = (w + 15) & ~15;
  AVFrame *pad = av_frame_alloc();
  uint8_t *tmp = malloc((size_t)3 * wp * h);
  struct SwsContext *c =
      sws_getContext(wp, h, AV_PIX_FMT_YUV420P, wp, h, AV_PIX_FMT_RGB24,
                     SWS_BILINEAR, NULL, NULL, NULL);
  int rc = 0, e;
  if (!pad || !tmp || !c) {
    rc = warm_error_set(err, WARM_ENOMEM, "image CRF round trip: out of memory");
    goto done;
  }
  pad->format = AV_PIX_FMT_YUV420P;
  pad->width = wp;
  pad->height = h;
  if ((e = av_frame_get_buffer(pad, 0)) < 0) {
    rc = av_fail(err, "frame", e);
    goto done;
  }
  for (int p = 0; p < 3; p++) {
    const int pw = p ? w / 2 : w, ppw = p ? wp / 2 : wp, ph = p ? h / 2 : h;
    for (int y = 0; y < ph; y++) {
      const uint8_t *s = in->data[p] + (size_t)y * in->linesize[p];
      uint8_t *d = pad->data[p] + (size_t)y * pad->linesize[p];
      memcpy(d, s, (size_t)pw);
      memset(d + pw, s[pw - 1], (size_t)(ppw - pw));
    }
  }
  uint8_t *dst[1] = {tmp};
  int dst_stride[1] = {3 * wp};
  sws_scale(c, (const uint8_t *const *)pad->data, pad->linesize, 0, h, dst,
            dst_stride);
  for (int y = 0; y < h; y++)
    memcpy(rgb + (size_t)y * 3 * w, tmp + (size_t)y * 3 * wp, (size_t)3 * w);
done:
  sws_freeContext(c);
  av_frame_free(&pad);
  free(tmp);
  return rc;
}

static int crf_round_trip(uint8_t *rgb, int w, int h, int crf,
                          warm_error *err) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, quiet_ffmpeg);
  const AVCodec *enc_c = avcodec_find_encoder_by_name("libx264");
  const AVCodec *dec_c = avcodec_find_decoder(AV_CODEC_ID_H264);
  if (!enc_c || !dec_c)
    return warm_error_set(err, WARM_EIO,
                          "image CRF round trip: this FFmpeg has no %s",
                          enc_c ? "H.264 decoder" : "libx264 encoder");
  AVCodecContext *enc = avcodec_alloc_context3(enc_c);
  AVCodecContext *dec = avcodec_alloc_context3(dec_c);
  AVFrame *yuv = av_frame_alloc(), *out = av_frame_alloc();
  AVPacket *pkt = av_packet_alloc();
  struct SwsContext *to_yuv = NULL;
  AVDictionary *opts = NULL;
  int rc = 0, got = 0;
  if (!enc || !dec || !yuv || !out || !pkt) {
    rc = warm_error_set(err, WARM_ENOMEM, "image CRF round trip: out of memory");
    goto done;
  }
  enc->width = w;
  enc->height = h;
  enc->pix_fmt = AV_PIX_FMT_YUV420P;
  enc->time_base = (AVRational){1, 1};
  enc->framerate = (AVRational){1, 1};
  enc->thread_count = 1; /* one frame: threads only change the bits */
  char crf_s[16];
  snprintf(crf_s, sizeof crf_s, "%d", crf);
  av_dict_set(&opts, "crf", crf_s, 0);
  av_dict_set(&opts, "preset", "veryfast", 0);
  int e = avcodec_open2(enc, enc_c, &opts);
  if (e < 0) {
    rc = av_fail(err, "cannot open libx264", e);
    goto done;
  }
  yuv->format = AV_PIX_FMT_YUV420P;
  yuv->width = w;
  yuv->height = h;
  if ((e = av_frame_get_buffer(yuv, 0)) < 0) {
    rc = av_fail(err, "frame", e);
    goto done;
  }
  to_yuv = sws_getContext(w, h, AV_PIX_FMT_RGB24, w, h, AV_PIX_FMT_YUV420P,
                          SWS_BILINEAR, NULL, NULL, NULL);
  if (!to_yuv) {
    rc = warm_error_set(err, WARM_ENOMEM, "image CRF round trip: swscale");
    goto done;
  }
  const uint8_t *src[1] = {rgb};
  int src_stride[1] = {3 * w};
  sws_scale(to_yuv, src, src_stride, 0, h, yuv->data, yuv->linesize);
  yuv->pts = 0;
  if ((e = avcodec_open2(dec, dec_c, NULL)) < 0) {
    rc = av_fail(err, "cannot open the H.264 decoder", e);
    goto done;
  }
  /* Encode the frame and flush; every packet goes to the decoder. */
  for (int flush = 0; flush < 2 && !rc; flush++) {
    if ((e = avcodec_send_frame(enc, flush ? NULL : yuv)) < 0) {
      rc = av_fail(err, "encoding", e);
      break;
    }
    while ((e = avcodec_receive_packet(enc, pkt)) == 0) {
      int s = avcodec_send_packet(dec, pkt);
      av_packet_unref(pkt);
      if (s < 0) {
        rc = av_fail(err, "decoding", s);
        break;
      }
    }
    if (!rc && e != AVERROR(EAGAIN) && e != AVERROR_EOF)
      rc = av_fail(err, "encoding", e);
  }
  if (!rc) avcodec_send_packet(dec, NULL);
  while (!rc && !got && avcodec_receive_frame(dec, out) == 0)
    got = 1;
  if (!rc && (!got || out->width != w || out->height != h ||
              out->format != AV_PIX_FMT_YUV420P))
    rc = warm_error_set(err, WARM_EIO,
                        "image CRF round trip: the decoder gave back no "
                        "%dx%d yuv420p frame",
                        w, h);
  if (!rc) rc = yuv_to_rgb(out, rgb, w, h, err);
done:
  av_dict_free(&opts);
  sws_freeContext(to_yuv);
  av_packet_free(&pkt);
  av_frame_free(&yuv);
  av_frame_free(&out);
  avcodec_free_context(&enc);
  avcodec_free_context(&dec);
  return rc;
}

/* ---- resize, crop, normalise --------------------------------------------------- */

/* torch's linear-interpolation indices and weights, align_corners = False,
 * in f32 as upsample_bilinear2d computes them for float input. */
typedef struct lin_tap {
  int64_t i0, i1;
  float w0, w1;
} lin_tap;

static void lin_taps(int64_t in, int64_t out, lin_tap *t) {
  float scale = (float)in / (float)out;
  for (int64_t o = 0; o < out; o++) {
    float real = scale * ((float)o + 0.5f) - 0.5f;
    if (real < 0) real = 0;
    int64_t i0 = (int64_t)floorf(real);
    if (i0 > in - 1) i0 = in - 1;
    float l = real - (float)i0;
    l = l < 0 ? 0 : l > 1 ? 1 : l;
    t[o] = (lin_tap){i0, i0 + (i0 < in - 1 ? 1 : 0), 1.0f - l, l};
  }
}

uint64_t wh_image_prepare_bytes(uint32_t src_w, uint32_t src_h,
                                uint32_t width, uint32_t height) {
  double s = fmax((double)height / src_h, (double)width / src_w);
  uint64_t nh = (uint64_t)ceil(src_h * s), nw = (uint64_t)ceil(src_w * s);
  uint64_t decoded = (uint64_t)src_w * src_h * 3;
  uint64_t taps = (nh + nw) * sizeof(lin_tap);
  uint64_t outb = (uint64_t)3 * width * height * sizeof(float);
  /* The decoded RGB8 and, during the round trip, a yuv420p frame, the
   * codec's reference frame and the decoded frame (each 1.5 bytes a pixel,
   * the codec's own tables aside); then the taps and the output. */
  return decoded + 3 * (decoded / 2) + taps + outb + (1u << 20);
}

int wh_image_prepare_crf(const uint8_t *bytes, size_t len, uint32_t height,
                         uint32_t width, int crf, float **out,
                         warm_error *err) {
  *out = NULL;
  if (height == 0 || width == 0 || height > WH_IMAGE_MAX_SIDE ||
      width > WH_IMAGE_MAX_SIDE)
    return warm_error_set(err, WARM_EINVAL,
                          "image target %ux%u: each side must be 1..%d", width,
                          height, WH_IMAGE_MAX_SIDE);
  if (crf < 0 || crf > 51)
    return warm_error_set(err, WARM_EINVAL,
                          "image crf %d: must be 0 (off) .. 51", crf);
  uint8_t *rgb;
  uint32_t w, h;
  int rc = wh_image_decode(bytes, len, &rgb, &w, &h, err);
  if (rc) return rc;
  if (crf > 0) {
    /* The reference crops to even sides from the top left before the
     * encoder (rows keep their stride: the crop is a narrower view). */
    uint32_t ew = w / 2 * 2, eh = h / 2 * 2;
    if (!ew || !eh) {
      free(rgb);
      return warm_error_set(err, WARM_EINVAL,
                            "an image of %ux%u pixels is too small for the "
                            "H.264 round trip (2x2 at least)",
                            w, h);
    }
    if (ew != w)
      for (uint32_t y = 1; y < eh; y++)
        memmove(rgb + (size_t)y * ew * 3, rgb + (size_t)y * w * 3,
                (size_t)ew * 3);
    w = ew;
    h = eh;
    if ((rc = crf_round_trip(rgb, (int)w, (int)h, crf, err))) {
      free(rgb);
      return rc;
    }
  }
  /* resize_and_center_crop: the scale is computed in double, as Python
   * does, the sizes rounded up. */
  double s = fmax((double)height / h, (double)width / w);
  int64_t nh = (int64_t)ceil(h * s), nw = (int64_t)ceil(w * s);
  int64_t top = (nh - height) / 2, left = (nw - width) / 2;
  lin_tap *ty = malloc(sizeof *ty * (size_t)nh);
  lin_tap *tx = malloc(sizeof *tx * (size_t)nw);
  float *o = malloc(sizeof(float) * 3 * (size_t)height * width);
  if (!ty || !tx || !o) {
    free(rgb);
    free(ty);
    free(tx);
    free(o);
    return warm_error_set(err, WARM_ENOMEM, "out of memory preparing the "
                                            "image");
  }
  lin_taps(h, nh, ty);
  lin_taps(w, nw, tx);
  const size_t plane = (size_t)height * width;
  for (uint32_t y = 0; y < height; y++) {
    const lin_tap *a = &ty[top + y];
    const uint8_t *r0 = rgb + (size_t)a->i0 * w * 3;
    const uint8_t *r1 = rgb + (size_t)a->i1 * w * 3;
    for (uint32_t x = 0; x < width; x++) {
      const lin_tap *b = &tx[left + x];
      for (int c = 0; c < 3; c++) {
        float t0 = (float)r0[b->i0 * 3 + c] * b->w0 +
                   (float)r0[b->i1 * 3 + c] * b->w1;
        float t1 = (float)r1[b->i0 * 3 + c] * b->w0 +
                   (float)r1[b->i1 * 3 + c] * b->w1;
        float v = t0 * a->w0 + t1 * a->w1;
        o[c * plane + (size_t)y * width + x] = v / 127.5f - 1.0f;
      }
    }
  }
  free(rgb);
  free(ty);
  free(tx);
  *out = o;
  return 0;
}

int wh_image_prepare(const uint8_t *bytes, size_t len, uint32_t height,
                     uint32_t width, float **out, warm_error *err) {
  return wh_image_prepare_crf(bytes, len, height, width, WH_IMAGE_DEFAULT_CRF,
                              out, err);
}
