/*
 * host/media.c — YUV4MPEG2 and PNG output of a job: the video, a contact
 * sheet of frames and the per-device memory plot.
 */
#include "media.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "font_data.h"

#define FONT_W 6
#define FONT_H 11

/* ---- helpers ---------------------------------------------------------------- */

static uint8_t to_u8(float v) {
  /* [-1, 1] -> [0, 255], rounded, clamped; NaN -> 0. */
  float x = (v + 1.0f) * 127.5f;
  if (!(x > 0.0f)) return 0;
  if (x >= 255.0f) return 255;
  return (uint8_t)(x + 0.5f);
}

static uint8_t clamp_u8(double x) {
  if (!(x > 0.0)) return 0;
  if (x >= 255.0) return 255;
  return (uint8_t)(x + 0.5);
}

/* Opens PATH.tmp for writing; *tmp receives the malloc'd temporary name. */
static FILE *open_tmp(const char *path, char **tmp, warm_error *err) {
  size_t n = strlen(path) + 5;
  *tmp = malloc(n);
  if (!*tmp) {
    warm_error_set(err, WARM_ENOMEM, "%s: out of memory", path);
    return NULL;
  }
  snprintf(*tmp, n, "%s.tmp", path);
  FILE *f = fopen(*tmp, "wb");
  if (!f) {
    warm_error_set(err, WARM_EIO, "%s: cannot create: %s", *tmp,
                   strerror(errno));
    free(*tmp);
    *tmp = NULL;
  }
  return f;
}

/* Closes f and renames tmp over path, or removes tmp when `ok` is false. */
static int finish_tmp(FILE *f, char *tmp, const char *path, int ok,
                      warm_error *err) {
  int rc = 0;
  if (fclose(f) != 0 && ok) {
    rc = warm_error_set(err, WARM_EIO, "%s: write failed: %s", tmp,
                        strerror(errno));
    ok = 0;
  }
  if (ok && rename(tmp, path) != 0) {
    rc = warm_error_set(err, WARM_EIO, "%s: cannot rename into place: %s",
                        path, strerror(errno));
    ok = 0;
  }
  if (!ok) remove(tmp);
  free(tmp);
  return rc;
}

/* ---- YUV4MPEG2 ---------------------------------------------------------------- */

int wh_write_y4m(const char *path, const float *frames, int64_t F, int64_t H,
                 int64_t W, uint32_t fps, warm_error *err) {
  if (!frames || F <= 0 || H <= 0 || W <= 0 || fps == 0 || H > 1 << 15 ||
      W > 1 << 15)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: bad video shape %lldx%lldx%lld at %u fps", path,
                          (long long)F, (long long)H, (long long)W, fps);
  const int64_t cw = (W + 1) / 2, ch = (H + 1) / 2, plane = H * W;
  uint8_t *buf = malloc((size_t)(plane + 2 * cw * ch));
  if (!buf) return warm_error_set(err, WARM_ENOMEM, "%s: out of memory", path);
  char *tmp;
  FILE *f = open_tmp(path, &tmp, err);
  if (!f) {
    free(buf);
    return err ? err->code : WARM_EIO;
  }
  int ok = fprintf(f, "YUV4MPEG2 W%lld H%lld F%u:1 Ip A1:1 C420jpeg\n",
                   (long long)W, (long long)H, fps) > 0;
  const int64_t fstride = plane; /* per channel, per frame */
  const int64_t cstride = F * plane;
  uint8_t *Y = buf, *U = buf + plane, *V = U + cw * ch;
  for (int64_t t = 0; ok && t < F; t++) {
    const float *r = frames + t * fstride;
    const float *g = r + cstride, *b = g + cstride;
    for (int64_t i = 0; i < plane; i++) {
      double R = to_u8(r[i]), G = to_u8(g[i]), B = to_u8(b[i]);
      Y[i] = clamp_u8(0.299 * R + 0.587 * G + 0.114 * B);
    }
    /* Chroma: the mean of each 2x2 block (edge blocks may be smaller). */
    for (int64_t y = 0; y < ch; y++)
      for (int64_t x = 0; x < cw; x++) {
        double sr = 0, sg = 0, sb = 0;
        int n = 0;
        for (int64_t dy = 0; dy < 2 && 2 * y + dy < H; dy++)
          for (int64_t dx = 0; dx < 2 && 2 * x + dx < W; dx++) {
            int64_t i = (2 * y + dy) * W + 2 * x + dx;
            sr += to_u8(r[i]);
            sg += to_u8(g[i]);
            sb += to_u8(b[i]);
            n++;
          }
        sr /= n, sg /= n, sb /= n;
        U[y * cw + x] = clamp_u8(128.0 - 0.168736 * sr - 0.331264 * sg +
                                 0.5 * sb);
        V[y * cw + x] = clamp_u8(128.0 + 0.5 * sr - 0.418688 * sg -
                                 0.081312 * sb);
      }
    ok = fputs("FRAME\n", f) >= 0 &&
         fwrite(buf, 1, (size_t)(plane + 2 * cw * ch), f) ==
             (size_t)(plane + 2 * cw * ch);
  }
  free(buf);
  if (!ok)
    warm_error_set(err, WARM_EIO, "%s: write failed: %s", path,
                   strerror(errno));
  int rc = finish_tmp(f, tmp, path, ok, err);
  return ok ? rc : (err ? err->code : WARM_EIO);
}

/* ---- images --------------------------------------------------------------------- */

int wh_image_init(wh_image *im, int w, int h, uint8_t r, uint8_t g,
                  uint8_t b) {
  im->w = w, im->h = h;
  im->rgb = NULL;
  if (w <= 0 || h <= 0 || w > 16384 || h > 16384) return WARM_EINVAL;
  im->rgb = malloc((size_t)w * h * 3);
  if (!im->rgb) return WARM_ENOMEM;
  for (size_t i = 0; i < (size_t)w * h; i++) {
    im->rgb[3 * i] = r;
    im->rgb[3 * i + 1] = g;
    im->rgb[3 * i + 2] = b;
  }
  return 0;
}

void wh_image_free(wh_image *im) {
  free(im->rgb);
  im->rgb = NULL;
}

static void put(wh_image *im, int x, int y, const uint8_t c[3]) {
  if (x < 0 || y < 0 || x >= im->w || y >= im->h) return;
  memcpy(im->rgb + ((size_t)y * im->w + x) * 3, c, 3);
}

static void fill_rect(wh_image *im, int x0, int y0, int x1, int y1,
                      const uint8_t c[3]) {
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++) put(im, x, y, c);
}

static void text(wh_image *im, int x, int y, const char *s,
                 const uint8_t c[3]) {
  for (; *s; s++, x += FONT_W) {
    unsigned ch = (unsigned char)*s;
    if (ch < 32 || ch > 126) ch = '?';
    const unsigned char *rows = wh_font_rows[ch - 32];
    for (int r = 0; r < FONT_H; r++)
      for (int b = 0; b < FONT_W; b++)
        if (rows[r] >> (FONT_W - 1 - b) & 1) put(im, x + b, y + r, c);
  }
}

/* libpng reports errors by longjmp; this keeps the message for warm_error. */
typedef struct png_err_ctx {
  char msg[160];
} png_err_ctx;

static void on_png_error(png_structp png, png_const_charp msg) {
  png_err_ctx *e = png_get_error_ptr(png);
  snprintf(e->msg, sizeof e->msg, "%s", msg);
  png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg) {
  (void)png, (void)msg;
}

int wh_write_png(const char *path, const wh_image *im, warm_error *err) {
  if (!im || !im->rgb)
    return warm_error_set(err, WARM_EINVAL, "%s: no image", path);
  char *tmp;
  FILE *f = open_tmp(path, &tmp, err);
  if (!f) return err ? err->code : WARM_EIO;
  png_err_ctx ectx = {{0}};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ectx,
                                            on_png_error, on_png_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  int ok = png && info;
  /* volatile: rows is read after a longjmp back into this frame. */
  png_bytep *volatile rows = NULL;
  if (ok && setjmp(png_jmpbuf(png)) == 0) {
    rows = malloc(sizeof *rows * (size_t)im->h);
    if (!rows) png_error(png, "out of memory");
    for (int y = 0; y < im->h; y++)
      rows[y] = im->rgb + (size_t)y * im->w * 3;
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)im->w, (png_uint_32)im->h, 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
  } else {
    ok = 0;
  }
  free(rows);
  png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
  if (!ok)
    warm_error_set(err, WARM_EIO, "%s: PNG write failed: %s", path,
                   ectx.msg[0] ? ectx.msg : "libpng setup failed");
  int rc = finish_tmp(f, tmp, path, ok, err);
  return ok ? rc : (err ? err->code : WARM_EIO);
}

/* ---- contact sheet ------------------------------------------------------------ */

int wh_contact_sheet(const float *frames, int64_t F, int64_t H, int64_t W,
                     int max_tiles, int tile, wh_image *out, warm_error *err) {
  if (!frames || F <= 0 || H <= 0 || W <= 0 || max_tiles <= 0 || tile <= 0)
    return warm_error_set(err, WARM_EINVAL, "contact sheet: bad arguments");
  int n = F < max_tiles ? (int)F : max_tiles;
  int cols = (int)ceil(sqrt((double)n)), rows = (n + cols - 1) / cols;
  double s = (double)tile / (double)(H > W ? H : W);
  int tw = (int)(W * s + 0.5), th = (int)(H * s + 0.5);
  if (tw < 1) tw = 1;
  if (th < 1) th = 1;
  const int gap = 4;
  int rc = wh_image_init(out, cols * (tw + gap) + gap, rows * (th + gap) + gap,
                         24, 24, 28);
  if (rc) return warm_error_set(err, rc, "contact sheet: cannot allocate");
  const int64_t plane = H * W, cstride = F * plane;
  for (int k = 0; k < n; k++) {
    /* Evenly spaced frames, first and last included. */
    int64_t t = n == 1 ? 0 : (int64_t)k * (F - 1) / (n - 1);
    int ox = gap + (k % cols) * (tw + gap), oy = gap + (k / cols) * (th + gap);
    for (int y = 0; y < th; y++)
      for (int x = 0; x < tw; x++) {
        int64_t sy = (int64_t)(y / s), sx = (int64_t)(x / s);
        if (sy >= H) sy = H - 1;
        if (sx >= W) sx = W - 1;
        int64_t i = t * plane + sy * W + sx;
        uint8_t c[3] = {to_u8(frames[i]), to_u8(frames[i + cstride]),
                        to_u8(frames[i + 2 * cstride])};
        put(out, ox + x, oy + y, c);
      }
  }
  return 0;
}

/* ---- memory plot ----------------------------------------------------------------- */

static const uint8_t palette[8][3] = {
    {66, 133, 244}, {234, 67, 53},  {251, 188, 5},  {52, 168, 83},
    {171, 71, 188}, {0, 172, 193},  {255, 112, 67}, {158, 157, 36},
};

#define PANEL_W 760
#define PANEL_H 270
#define MARGIN_L 78
#define MARGIN_R 200
#define MARGIN_T 40
#define MARGIN_B 44

static const uint8_t bg[3] = {20, 20, 26};

/* c mixed toward the background: the window and workspace shades. */
static void shade(const uint8_t c[3], double keep, uint8_t out[3]) {
  for (int k = 0; k < 3; k++)
    out[k] = (uint8_t)(c[k] * keep + bg[k] * (1 - keep) + 0.5);
}

static const double class_keep[WH_MEM_CLASSES] = {1.0, 0.55, 0.3};

static uint64_t sample_total(const wh_mem_series *s, uint32_t i) {
  uint64_t sum = 0;
  for (uint32_t c = 0; c < s->n_components * WH_MEM_CLASSES; c++)
    sum += s->samples[i].bytes[c];
  return sum;
}

static void draw_axes(wh_image *im, const wh_mem_series *s, int oy, int x0,
                      int x1, int y0, int y1, uint64_t top, double tmax) {
  static const uint8_t ink[3] = {230, 230, 230}, dim[3] = {90, 90, 100},
                       grid[3] = {45, 45, 55};
  char buf[96], sz[32];
  snprintf(buf, sizeof buf, "device %s: bytes booked in its ledger", s->device);
  text(im, x0, oy + 6, buf, ink);
  fill_rect(im, x0 - 1, y0, x0, y1 + 1, dim);
  fill_rect(im, x0 - 1, y1, x1, y1 + 1, dim);
  /* y: four ticks with sizes, faint grid lines across. */
  for (int k = 0; k <= 4; k++) {
    int y = y1 - (int)((double)(y1 - y0) * k / 4);
    if (k) fill_rect(im, x0, y, x1, y + 1, grid);
    fill_rect(im, x0 - 5, y, x0 - 1, y + 1, dim);
    const char *l = warm_format_size(top / 4 * (uint64_t)k, sz, sizeof sz);
    text(im, x0 - 7 - (int)strlen(l) * FONT_W, y - FONT_H / 2, l, ink);
  }
  text(im, 4, oy + 22, "bytes", ink);
  /* x: five ticks in seconds, and the axis title under them. */
  for (int k = 0; k <= 4; k++) {
    int x = x0 + (int)((double)(x1 - x0) * k / 4);
    fill_rect(im, x, y1 + 1, x + 1, y1 + 5, dim);
    snprintf(buf, sizeof buf, "%.2f", tmax * k / 4);
    int w = (int)strlen(buf) * FONT_W;
    text(im, k == 4 ? x - w : k == 0 ? x : x - w / 2, y1 + 7, buf, ink);
  }
  const char *xt = "time since the job started (s)";
  text(im, (x0 + x1) / 2 - (int)strlen(xt) * FONT_W / 2, y1 + 7 + FONT_H + 4,
       xt, ink);
}

/* Dotted vertical lines where stages begin, names staggered on two rows
 * above the plot so neighbours do not overwrite each other. */
static void draw_marks(wh_image *im, const wh_mem_series *s, int x0, int x1,
                       int y0, int y1, double tmax) {
  static const uint8_t mk[3] = {200, 200, 120};
  for (uint32_t m = 0; s->marks && m < s->n_marks; m++) {
    int x = x0 + (int)(s->marks[m].t / tmax * (double)(x1 - x0));
    if (x < x0) x = x0;
    if (x >= x1) x = x1 - 1;
    for (int y = y0; y < y1; y += 4) fill_rect(im, x, y, x + 1, y + 2, mk);
    char l[40];
    snprintf(l, sizeof l, "%.30s", s->marks[m].label);
    int ly = y0 - 2 * (FONT_H + 1) + (int)(m % 2) * (FONT_H + 1);
    int lx = x + 2;
    if (lx + (int)strlen(l) * FONT_W > x1 + MARGIN_R - 4)
      lx = x1 + MARGIN_R - 4 - (int)strlen(l) * FONT_W;
    text(im, lx, ly, l, mk);
  }
}

static void draw_panel(wh_image *im, int oy, const wh_mem_series *s) {
  static const uint8_t ink[3] = {230, 230, 230}, red[3] = {255, 80, 80};
  const int x0 = MARGIN_L, x1 = PANEL_W - MARGIN_R;
  const int y0 = oy + MARGIN_T, y1 = oy + PANEL_H - MARGIN_B;
  char buf[96], sz[32];

  /* Scale: the larger of the budget and the highest stacked total. */
  uint64_t top = s->budget;
  double tmax = 0;
  for (uint32_t i = 0; i < s->n_samples; i++) {
    uint64_t sum = sample_total(s, i);
    if (sum > top) top = sum;
    if (s->samples[i].t > tmax) tmax = s->samples[i].t;
  }
  if (top < 4) top = 4;
  if (tmax <= 0) tmax = 1;
  draw_axes(im, s, oy, x0, x1, y0, y1, top, tmax);

  /* Stacked areas: for each pixel column, the last sample at or before it;
   * per component resident, then window, then workspace. */
  const double h = (double)(y1 - y0);
  uint32_t si = 0;
  for (int x = x0; x < x1 && s->n_samples; x++) {
    double t = (double)(x - x0) / (double)(x1 - x0) * tmax;
    while (si + 1 < s->n_samples && s->samples[si + 1].t <= t) si++;
    uint64_t acc = 0;
    for (uint32_t c = 0; c < s->n_components; c++)
      for (int k = 0; k < WH_MEM_CLASSES; k++) {
        uint64_t b = s->samples[si].bytes[c * WH_MEM_CLASSES + k];
        if (!b) continue;
        int ya = y1 - (int)((double)acc / (double)top * h);
        int yb = y1 - (int)((double)(acc + b) / (double)top * h);
        uint8_t col[3];
        shade(palette[c % 8], class_keep[k], col);
        fill_rect(im, x, yb, x + 1, ya, col);
        acc += b;
      }
  }
  draw_marks(im, s, x0, x1, y0, y1, tmax);
  /* Budget line, dashed. */
  if (s->budget) {
    int yb = y1 - (int)((double)s->budget / (double)top * h);
    for (int x = x0; x < x1; x += 8) fill_rect(im, x, yb, x + 5, yb + 1, red);
    snprintf(buf, sizeof buf, "budget %s",
             warm_format_size(s->budget, sz, sizeof sz));
    text(im, x1 + 8, y0, buf, red);
  }
  /* Legend: each component's colour and peak (all classes together), then
   * what the shades mean. */
  int ly = y0 + 16;
  for (uint32_t c = 0; c < s->n_components; c++, ly += FONT_H + 4) {
    uint64_t peak = 0;
    for (uint32_t i = 0; i < s->n_samples; i++) {
      uint64_t b = 0;
      for (int k = 0; k < WH_MEM_CLASSES; k++)
        b += s->samples[i].bytes[c * WH_MEM_CLASSES + k];
      if (b > peak) peak = b;
    }
    fill_rect(im, x1 + 8, ly + 1, x1 + 16, ly + 9, palette[c % 8]);
    snprintf(buf, sizeof buf, "%.18s %s", s->components[c],
             warm_format_size(peak, sz, sizeof sz));
    text(im, x1 + 20, ly, buf, ink);
  }
  static const char *const cls[WH_MEM_CLASSES] = {"resident", "window",
                                                  "workspace"};
  ly += 4;
  for (int k = 0; k < WH_MEM_CLASSES; k++, ly += FONT_H + 4) {
    static const uint8_t gray[3] = {200, 200, 200};
    uint8_t col[3];
    shade(gray, class_keep[k], col);
    fill_rect(im, x1 + 8, ly + 1, x1 + 16, ly + 9, col);
    text(im, x1 + 20, ly, cls[k], ink);
  }
}

int wh_memory_plot(const wh_mem_series *devices, uint32_t n_devices,
                   wh_image *out, warm_error *err) {
  if (!devices || n_devices == 0 || n_devices > 16)
    return warm_error_set(err, WARM_EINVAL, "memory plot: bad arguments");
  int rc = wh_image_init(out, PANEL_W, PANEL_H * (int)n_devices, bg[0], bg[1],
                         bg[2]);
  if (rc) return warm_error_set(err, rc, "memory plot: cannot allocate");
  for (uint32_t d = 0; d < n_devices; d++)
    draw_panel(out, (int)d * PANEL_H, &devices[d]);
  return 0;
}
