/*
 * host/media.h — what a finished job leaves on disk: the video as YUV4MPEG2,
 * PNG images (a contact sheet of frames, the memory-over-time plot).
 *
 * Frames come from the VAE as f32 [3, F, H, W] in [-1, 1] (RGB planes).
 * All writers create the file whole or not at all (write to PATH.tmp, rename)
 * and report failures through warm_error; they never print.
 */
#ifndef WH_MEDIA_H
#define WH_MEDIA_H

#include <stdint.h>

#include "warm/warm.h"

/* Writes frames as 4:2:0 YUV4MPEG2 (BT.601 full range, `C420jpeg`), playable
 * by ffmpeg and mpv. Odd sizes are fine: chroma planes are ceil(W/2) x
 * ceil(H/2). */
int wh_write_y4m(const char *path, const float *frames, int64_t F, int64_t H,
                 int64_t W, uint32_t fps, warm_error *err);

/* An 8-bit RGB image, row-major, 3 bytes a pixel. Owned by its creator. */
typedef struct wh_image {
  int w, h;
  uint8_t *rgb;
} wh_image;

int wh_image_init(wh_image *im, int w, int h, uint8_t r, uint8_t g, uint8_t b);
void wh_image_free(wh_image *im);
/* Writes an RGB PNG through libpng. */
int wh_write_png(const char *path, const wh_image *im, warm_error *err);

/* A grid of up to `max_tiles` frames picked evenly from the clip, each scaled
 * (nearest) to fit `tile` pixels on its longer side. */
int wh_contact_sheet(const float *frames, int64_t F, int64_t H, int64_t W,
                     int max_tiles, int tile, wh_image *out, warm_error *err);

/* One sample of the memory timeline: bytes booked per component on one device
 * at time t (seconds since the job started), by ledger class. */
enum { WH_MEM_RESIDENT = 0, WH_MEM_WINDOW, WH_MEM_WORKSPACE, WH_MEM_CLASSES };
typedef struct wh_mem_sample {
  double t;
  uint64_t *bytes; /* [n_components][WH_MEM_CLASSES] */
} wh_mem_sample;

/* A moment worth a line on the plot: a stage of the job starting. */
typedef struct wh_mem_mark {
  double t;
  const char *label; /* "encode", "denoise.stage1", "decode" */
} wh_mem_mark;

/* The timeline of one device for the memory plot. */
typedef struct wh_mem_series {
  const char *device;
  uint64_t budget;
  uint32_t n_components;
  const char *const *components;
  uint32_t n_samples;
  const wh_mem_sample *samples;
  uint32_t n_marks;
  const wh_mem_mark *marks; /* may be NULL */
} wh_mem_series;

/* Draws one panel per device: bytes per component over the job's time,
 * stacked, each component's resident bytes solid and its window and
 * workspace bytes in lighter shades of its colour; the budget as a dashed
 * line; the stages as dotted vertical lines with their names; labelled
 * axes with ticks; a legend with names, peaks and the shading key. */
int wh_memory_plot(const wh_mem_series *devices, uint32_t n_devices,
                   wh_image *out, warm_error *err);

#endif /* WH_MEDIA_H */
