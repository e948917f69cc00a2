/*
 * host/image_in.h — a job's first-frame image: PNG or JPEG bytes decoded
 * (libpng, libjpeg-turbo) and prepared for the VAE encoder exactly as
 * ltx-pipelines 1.0.0 `load_image_conditioning` does:
 *
 *   1. decode to RGB8 (PIL's `np.array(image)[..., :3]`: alpha is dropped,
 *      not composited; grey and palette images are expanded to RGB);
 *   2. `preprocess(crf)`: with crf > 0 (the reference's default is 33) the
 *      image, cropped to even sides from the top left, is encoded as one
 *      H.264 frame (libx264, preset veryfast, yuv420p through swscale's
 *      bilinear BT.601 conversion) and decoded back to RGB8, so the
 *      conditioning sees the compression artefacts the model was trained
 *      with; crf = 0 skips it;
 *   3. `resize_and_center_crop`: scale = max(H/h, W/w), resize to
 *      (ceil(h*scale), ceil(w*scale)) by bilinear interpolation
 *      (align_corners = False, no antialiasing, as torch's
 *      F.interpolate), then crop the centre H x W;
 *   4. `normalize_latent`: v / 127.5 - 1.
 *
 * Without the CRF step the result matches the reference within float
 * rounding (tests/unit/test_image_in.c states the tolerance measured).
 * With it, bit-exactness is not expected: PyAV wheels carry their own
 * FFmpeg and x264 builds, warmd uses Debian's; the round trip agrees to a
 * few 8-bit steps.
 *
 * Pure functions of their arguments, safe from any thread; blocking (the
 * CRF step runs an encoder). Call from the job thread.
 */
#ifndef WH_IMAGE_IN_H
#define WH_IMAGE_IN_H

#include <stddef.h>
#include <stdint.h>

#include "warm/warm.h"

/* The reference's DEFAULT_IMAGE_CRF (ltx_pipelines/utils/constants.py). */
#define WH_IMAGE_DEFAULT_CRF 33
/* Largest image side accepted: a few bytes of PNG can claim a picture of
 * gigabytes, so the header is checked before anything is decoded. */
#define WH_IMAGE_MAX_SIDE 8192

typedef enum wh_image_format {
  WH_IMAGE_PNG = 1,
  WH_IMAGE_JPEG = 2,
} wh_image_format;

/* Reads the format and the size from the header (no pixel is decoded).
 * WARM_EINVAL with the reason when the bytes are not a PNG or JPEG, the
 * header is damaged, or a side is 0 or above WH_IMAGE_MAX_SIDE. */
int wh_image_probe(const uint8_t *bytes, size_t len, wh_image_format *fmt,
                   uint32_t *width, uint32_t *height, warm_error *err);

/* Decodes to RGB8, row-major, 3 bytes a pixel: *rgb is malloc'd (the
 * caller frees). */
int wh_image_decode(const uint8_t *bytes, size_t len, uint8_t **rgb,
                    uint32_t *width, uint32_t *height, warm_error *err);

/* The whole preparation (steps 1-4 above) at the reference's default CRF:
 * *out is malloc'd f32 [3, 1, height, width] in [-1, 1] (the caller
 * frees). height and width are the stage's pixel size (1..WH_IMAGE_MAX_SIDE
 * each). */
int wh_image_prepare(const uint8_t *bytes, size_t len, uint32_t height,
                     uint32_t width, float **out, warm_error *err);
/* The same with an explicit CRF: 0 = no H.264 round trip, 1..51 = x264's
 * constant rate factor. */
int wh_image_prepare_crf(const uint8_t *bytes, size_t len, uint32_t height,
                         uint32_t width, int crf, float **out,
                         warm_error *err);

/* Host bytes wh_image_prepare holds at its peak for a source of
 * src_w x src_h and a target of width x height (the decoded picture, its
 * round trip, the resized f32 picture and the output), so the job can book
 * them. */
uint64_t wh_image_prepare_bytes(uint32_t src_w, uint32_t src_h,
                                uint32_t width, uint32_t height);

#endif /* WH_IMAGE_IN_H */
