/* Video and image writers: y4m layout and colours, PNG round trip through
 * libpng, contact sheet and memory plot geometry. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "media.h"

static int failures;
#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);   \
      failures++;                                                              \
    }                                                                          \
  } while (0)

static char dir[256];

static char *path_in(const char *name) {
  static char buf[512];
  snprintf(buf, sizeof buf, "%s/%s", dir, name);
  return buf;
}

static unsigned char *slurp(const char *path, long *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *len = ftell(f);
  rewind(f);
  unsigned char *b = malloc((size_t)*len);
  if (fread(b, 1, (size_t)*len, f) != (size_t)*len) *len = -1;
  fclose(f);
  return b;
}

/* Frames [3, F, H, W], every pixel of frame t set to rgb[t]. */
static float *solid_frames(int F, int H, int W, const float (*rgb)[3]) {
  float *x = malloc(sizeof *x * 3 * F * H * W);
  for (int c = 0; c < 3; c++)
    for (int t = 0; t < F; t++)
      for (int i = 0; i < H * W; i++)
        x[((size_t)c * F + t) * H * W + i] = rgb[t][c];
  return x;
}

static void test_y4m_header_sizes_and_colours(void) {
  const int F = 3, H = 5, W = 7; /* odd on purpose */
  const float rgb[3][3] = {{-1, -1, -1}, {1, 1, 1}, {1, -1, -1}};
  float *x = solid_frames(F, H, W, rgb);
  warm_error err = {0};
  CHECK(wh_write_y4m(path_in("v.y4m"), x, F, H, W, 24, &err) == 0);
  long len;
  unsigned char *b = slurp(path_in("v.y4m"), &len);
  const char *hdr = "YUV4MPEG2 W7 H5 F24:1 Ip A1:1 C420jpeg\n";
  size_t hl = strlen(hdr), frame = 6 + W * H + 2 * 4 * 3;
  CHECK(b && len == (long)(hl + F * frame));
  CHECK(b && !memcmp(b, hdr, hl));
  if (b && len == (long)(hl + F * frame)) {
    const unsigned char *f0 = b + hl, *f1 = f0 + frame, *f2 = f1 + frame;
    CHECK(!memcmp(f0, "FRAME\n", 6));
    CHECK(f0[6] == 0 && f0[6 + W * H] == 128 && f0[frame - 1] == 128);
    CHECK(f1[6] == 255 && f1[6 + W * H] == 128);
    /* Pure red: Y = 76, U = 85, V = 255 (BT.601 full range). */
    CHECK(f2[6] == 76 && f2[6 + W * H] == 85 && f2[6 + W * H + 12] == 255);
  }
  free(b);
  /* No temporary left behind; bad shapes refused with a message. */
  CHECK(access(path_in("v.y4m.tmp"), F_OK) != 0);
  CHECK(wh_write_y4m(path_in("bad.y4m"), x, 0, H, W, 24, &err) == WARM_EINVAL);
  CHECK(strstr(err.msg, "bad.y4m") != NULL);
  CHECK(wh_write_y4m("/nonexistent-dir/v.y4m", x, F, H, W, 24, &err) ==
        WARM_EIO);
  free(x);
}

static void test_png_round_trips_through_libpng(void) {
  wh_image im;
  CHECK(wh_image_init(&im, 33, 17, 0, 0, 0) == 0);
  for (int i = 0; i < 33 * 17 * 3; i++) im.rgb[i] = (uint8_t)rand();
  warm_error err = {0};
  CHECK(wh_write_png(path_in("a.png"), &im, &err) == 0);
  png_image rd;
  memset(&rd, 0, sizeof rd);
  rd.version = PNG_IMAGE_VERSION;
  CHECK(png_image_begin_read_from_file(&rd, path_in("a.png")));
  CHECK(rd.width == 33 && rd.height == 17);
  rd.format = PNG_FORMAT_RGB;
  unsigned char *px = malloc(PNG_IMAGE_SIZE(rd));
  CHECK(png_image_finish_read(&rd, NULL, px, 0, NULL));
  CHECK(!memcmp(px, im.rgb, 33 * 17 * 3));
  free(px);
  wh_image_free(&im);
}

static void test_contact_sheet_tiles_evenly_spaced_frames(void) {
  const int F = 9, H = 8, W = 16;
  float rgb[9][3];
  for (int t = 0; t < F; t++)
    rgb[t][0] = rgb[t][1] = rgb[t][2] = -1.0f + 2.0f * t / (F - 1);
  float *x = solid_frames(F, H, W, (const float(*)[3])rgb);
  wh_image im;
  warm_error err = {0};
  CHECK(wh_contact_sheet(x, F, H, W, 4, 32, &im, &err) == 0);
  /* 4 tiles of 32x16 in a 2x2 grid with 4 px gaps. */
  CHECK(im.w == 2 * 36 + 4 && im.h == 2 * 20 + 4);
  /* First tile is frame 0 (black), last tile frame 8 (white). */
  CHECK(im.rgb[((size_t)5 * im.w + 5) * 3] == 0);
  CHECK(im.rgb[((size_t)(24 + 5) * im.w + 40 + 5) * 3] == 255);
  CHECK(wh_write_png(path_in("sheet.png"), &im, &err) == 0);
  wh_image_free(&im);
  free(x);
}

static void test_memory_plot_draws_stacks_and_budget(void) {
  const char *names[2] = {"transformer", "text_encoder"};
  /* [component][resident, window, workspace]: the transformer resident,
   * the encoder streaming (a window) with a workspace while it runs. */
  uint64_t b0[6] = {600, 0, 0, 0, 0, 0}, b1[6] = {600, 0, 0, 0, 200, 100},
           b2[6] = {600, 0, 0, 0, 0, 0};
  wh_mem_sample s[3] = {{0.0, b0}, {1.0, b1}, {2.0, b2}};
  wh_mem_mark marks[2] = {{1.0, "encode"}, {2.0, "decode"}};
  wh_mem_series dev = {"cpu", 1000, 2, names, 3, s, 2, marks};
  wh_image im;
  warm_error err = {0};
  CHECK(wh_memory_plot(&dev, 1, &im, &err) == 0);
  CHECK(im.w > 0 && im.h > 0);
  /* Count pixels: the transformer's resident colour (blue), the encoder's
   * window shade (red at 55 %) and workspace shade (red at 30 %), and the
   * stage marks' colour. The window area is about twice the workspace's,
   * both far below the transformer's over a third of the time. */
  long blue = 0, win = 0, ws = 0, mark = 0, red_solid = 0;
  for (int i = 0; i < im.w * im.h; i++) {
    const uint8_t *p = im.rgb + 3 * i;
    if (p[0] == 66 && p[1] == 133 && p[2] == 244) blue++;
    if (p[0] == 234 && p[1] == 67 && p[2] == 53) red_solid++;
    if (p[0] == 138 && p[1] == 46 && p[2] == 41) win++;
    if (p[0] == 84 && p[1] == 34 && p[2] == 34) ws++;
    if (p[0] == 200 && p[1] == 200 && p[2] == 120) mark++;
  }
  printf("memory plot: resident %ld, window %ld, workspace %ld, marks %ld, "
         "encoder solid %ld pixels\n",
         blue, win, ws, mark, red_solid);
  CHECK(blue > 1000);
  CHECK(win > 0 && ws > 0 && win > ws && win < blue); /* split by class */
  CHECK(red_solid <= 100); /* the encoder had no resident bytes: swatch only */
  CHECK(mark > 50);        /* stage lines and their names */
  CHECK(wh_write_png(path_in("mem.png"), &im, &err) == 0);
  wh_image_free(&im);
  CHECK(wh_memory_plot(NULL, 0, &im, &err) == WARM_EINVAL);
}

int main(void) {
  unsigned seed = (unsigned)time(NULL);
  printf("seed %u\n", seed);
  srand(seed);
  snprintf(dir, sizeof dir, "/tmp/warm-test-media-XXXXXX");
  if (!mkdtemp(dir)) return 1;
  test_y4m_header_sizes_and_colours();
  test_png_round_trips_through_libpng();
  test_contact_sheet_tiles_evenly_spaced_frames();
  test_memory_plot_draws_stacks_and_budget();
  const char *files[] = {"v.y4m", "a.png", "sheet.png", "mem.png"};
  for (int i = 0; i < 4; i++) unlink(path_in(files[i]));
  rmdir(dir);
  if (failures) return 1;
  printf("media: all checks passed\n");
  return 0;
}
