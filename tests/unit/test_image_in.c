/* First-frame images (host/image_in.c) against ltx-pipelines 1.0.0's
 * load_image_conditioning (tests/parity/ltx2_image.py wrote the goldens
 * and the two source files): decoding is exact; the preparation without the
 * H.264 round trip agrees within float rounding; with it (crf 33), within
 * the codec's differences between PyAV's FFmpeg/x264 and Debian's. Bad
 * bytes are refused with the reason. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_in.h"
#include "warm/safetensors.h"
#include "../integration/wh_testutil.h"

/* Tolerances, in units of the output ([-1, 1]; one 8-bit step is
 * 2/255 = 7.8e-3). Measured with Debian 12's FFmpeg 5.1 and x264 0.164
 * against PyAV 18's wheel: 2.4e-7 at most (float rounding of the weights)
 * with crf 0 and with crf 33 alike — the H.264 round trip came out
 * bit-identical. Another x264 build may not: crf 33 is allowed two steps
 * at a pixel and a tenth of a step on average. */
#define TOL_CRF0 1e-5
#define TOL_CRF_MAX (2 * 2.0 / 255)
#define TOL_CRF_MEAN (0.1 * 2.0 / 255)

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)n);
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return b;
}

static const warm_st_entry *golden(warm_st *st, const char *name) {
  const warm_st_entry *e = warm_st_find(st, name);
  CHECK(e, "golden %s missing", name);
  return e;
}

static void test_decode_is_exact(warm_st *st, const char *tag, const uint8_t *b,
                                 size_t n) {
  uint8_t *rgb = NULL;
  uint32_t w = 0, h = 0;
  warm_error err = {0};
  int rc = wh_image_decode(b, n, &rgb, &w, &h, &err);
  CHECK(rc == 0, "%s: decode: %s", tag, err.msg);
  char name[64];
  snprintf(name, sizeof name, "%s_rgb", tag);
  const warm_st_entry *e = golden(st, name);
  if (rc || !e) return;
  CHECK(e->ndim == 3 && e->shape[0] == h && e->shape[1] == w &&
            e->shape[2] == 3,
        "%s: decoded %ux%u, golden [%lld, %lld]", tag, w, h,
        (long long)e->shape[0], (long long)e->shape[1]);
  size_t diff = 0;
  for (size_t i = 0; i < (size_t)w * h * 3 && i < e->nbytes; i++)
    diff += rgb[i] != ((const uint8_t *)e->data)[i];
  CHECK(diff == 0, "%s: %zu of %u bytes differ from PIL's decode", tag, diff,
        w * h * 3);
  printf("decode %s: %ux%u, %zu bytes differ from PIL\n", tag, w, h, diff);
  free(rgb);
}

static void test_prepare_matches(warm_st *st, const char *tag, const uint8_t *b,
                                 size_t n, uint32_t H, uint32_t W, int crf) {
  char name[64];
  snprintf(name, sizeof name, "%s_%ux%u_crf%d", tag, H, W, crf);
  const warm_st_entry *e = golden(st, name);
  float *out = NULL;
  warm_error err = {0};
  int rc = wh_image_prepare_crf(b, n, H, W, crf, &out, &err);
  CHECK(rc == 0, "%s: %s", name, err.msg);
  if (rc || !e) return;
  CHECK(e->nbytes == sizeof(float) * 3 * H * W, "%s: golden size", name);
  const float *g = e->data;
  double mx = 0, sum = 0, lo = 1, hi = -1;
  for (size_t i = 0; i < (size_t)3 * H * W; i++) {
    double d = fabs((double)out[i] - g[i]);
    mx = d > mx ? d : mx;
    sum += d;
    lo = out[i] < lo ? out[i] : lo;
    hi = out[i] > hi ? out[i] : hi;
  }
  double mean = sum / (3.0 * H * W);
  CHECK(lo >= -1 && hi <= 1, "%s: values %.4f..%.4f outside [-1, 1]", name, lo,
        hi);
  if (crf == 0) {
    CHECK(mx <= TOL_CRF0, "%s: max |diff| %.3g > %.3g", name, mx, TOL_CRF0);
  } else {
    CHECK(mx <= TOL_CRF_MAX && mean <= TOL_CRF_MEAN,
          "%s: max |diff| %.4f (%.2f steps), mean %.5f (%.3f steps)", name, mx,
          mx * 127.5, mean, mean * 127.5);
  }
  printf("prepare %-18s max |diff| %.3g (%.3f steps), mean %.3g\n", name, mx,
         mx * 127.5, mean);
  free(out);
}

/* CRC-32 (ISO 3309) for hand-made PNG chunks. */
static uint32_t crc32_of(const uint8_t *p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++)
      c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
  }
  return ~c;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static void test_bad_bytes_are_refused(const uint8_t *png, size_t n) {
  warm_error err = {0};
  wh_image_format fmt;
  uint32_t w, h;
  const uint8_t gif[] = "GIF89a\x01\x00\x01\x00";
  CHECK(wh_image_probe(gif, sizeof gif - 1, &fmt, &w, &h, &err) ==
                WARM_EINVAL &&
            strstr(err.msg, "not a PNG or JPEG") && strstr(err.msg, "47 49 46"),
        "a GIF: %s", err.msg);
  CHECK(wh_image_probe(png, 8, &fmt, &w, &h, &err) == WARM_EINVAL &&
            strstr(err.msg, "damaged PNG"),
        "the PNG signature alone: %s", err.msg);
  /* Cut in the middle of the pixel data: the header reads, the decode
   * fails. */
  CHECK(wh_image_probe(png, n / 2, &fmt, &w, &h, &err) == 0 &&
            fmt == WH_IMAGE_PNG,
        "half a PNG still has its header: %s", err.msg);
  uint8_t *rgb = NULL;
  CHECK(wh_image_decode(png, n / 2, &rgb, &w, &h, &err) == WARM_EINVAL &&
            strstr(err.msg, "damaged PNG") && !rgb,
        "half a PNG: %s", err.msg);
  /* A header that claims 9000 x 9000 pixels, its CRC right: refused
   * before any pixel is decoded. */
  uint8_t *big = malloc(n);
  memcpy(big, png, n);
  put32(big + 16, 9000);
  put32(big + 20, 9000);
  put32(big + 29, crc32_of(big + 12, 17));
  CHECK(wh_image_probe(big, n, &fmt, &w, &h, &err) == WARM_EINVAL &&
            strstr(err.msg, "9000x9000") && strstr(err.msg, "8192"),
        "a 9000x9000 header: %s", err.msg);
  free(big);
  const uint8_t jpeg_head[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F'};
  CHECK(wh_image_probe(jpeg_head, sizeof jpeg_head, &fmt, &w, &h, &err) ==
                WARM_EINVAL &&
            strstr(err.msg, "damaged JPEG"),
        "a JPEG cut after its first marker: %s", err.msg);
  float *out = NULL;
  CHECK(wh_image_prepare_crf(png, n, 0, 64, 0, &out, &err) == WARM_EINVAL &&
            !out,
        "a zero target height must be refused");
  CHECK(wh_image_prepare_crf(png, n, 64, 64, 52, &out, &err) == WARM_EINVAL &&
            strstr(err.msg, "crf 52"),
        "crf 52: %s", err.msg);
}

int main(void) {
  const char *dir = WARM_TEST_DATA "/ltx2";
  char path[512];
  snprintf(path, sizeof path, "%s/ltx2_image.safetensors", dir);
  warm_st *st = NULL;
  warm_error err = {0};
  if (warm_st_open(path, &st, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  const char *tags[2] = {"png", "jpg"};
  uint8_t *files[2];
  size_t lens[2];
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/image_in.%s", dir, tags[i]);
    files[i] = slurp(path, &lens[i]);
    if (!files[i]) {
      fprintf(stderr, "cannot read %s\n", path);
      return 1;
    }
    wh_image_format fmt;
    uint32_t w, h;
    CHECK(wh_image_probe(files[i], lens[i], &fmt, &w, &h, &err) == 0 &&
              w == 117 && h == 75 && fmt == (i ? WH_IMAGE_JPEG : WH_IMAGE_PNG),
          "probe %s: %ux%u %s", tags[i], w, h, err.msg);
    test_decode_is_exact(st, tags[i], files[i], lens[i]);
    /* 74 x 116 is the round trip itself: 116 is not a multiple of 16,
     * the width whose last columns Debian's swscale left unconverted. */
    const uint32_t targets[3][2] = {{32, 48}, {80, 40}, {74, 116}};
    for (int t = 0; t < 3; t++) {
      test_prepare_matches(st, tags[i], files[i], lens[i], targets[t][0],
                           targets[t][1], 0);
      test_prepare_matches(st, tags[i], files[i], lens[i], targets[t][0],
                           targets[t][1], WH_IMAGE_DEFAULT_CRF);
    }
  }
  test_bad_bytes_are_refused(files[0], lens[0]);
  printf("prepare bytes for 117x75 -> 80x40: %llu\n",
         (unsigned long long)wh_image_prepare_bytes(117, 75, 40, 80));
  free(files[0]);
  free(files[1]);
  warm_st_close(st);
  if (wt_failures) fprintf(stderr, "%d failure(s)\n", wt_failures);
  return wt_failures ? 1 : 0;
}
