/* Names of placements, stream sources, kinds, dtypes and devices, and their
 * parsers. Parsers accept any letter case ("Resident", "BF16") because these
 * strings come from hand-written config files and command lines. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "warm/warm.h"

const char *warm_placement_name(warm_placement p) {
  switch (p) {
  case WARM_PLACE_RESIDENT:
    return "resident";
  case WARM_PLACE_STREAM:
    return "stream";
  case WARM_PLACE_AUTO:
    return "auto";
  }
  return "unknown";
}

warm_placement warm_placement_parse(const char *s) {
  if (!s) return (warm_placement)0;
  if (!strcasecmp(s, "resident")) return WARM_PLACE_RESIDENT;
  if (!strcasecmp(s, "stream")) return WARM_PLACE_STREAM;
  if (!strcasecmp(s, "auto")) return WARM_PLACE_AUTO;
  return (warm_placement)0;
}

const char *warm_source_name(warm_stream_source s) {
  switch (s) {
  case WARM_SOURCE_PINNED:
    return "pinned";
  case WARM_SOURCE_MMAP:
    return "mmap";
  }
  return "unknown";
}

warm_stream_source warm_source_parse(const char *s) {
  if (!s) return (warm_stream_source)0;
  if (!strcasecmp(s, "pinned")) return WARM_SOURCE_PINNED;
  if (!strcasecmp(s, "mmap")) return WARM_SOURCE_MMAP;
  return (warm_stream_source)0;
}

const char *warm_kind_name(warm_kind k) {
  switch (k) {
  case WARM_KIND_TEXT_ENCODER:
    return "text_encoder";
  case WARM_KIND_TRANSFORMER:
    return "transformer";
  case WARM_KIND_VAE:
    return "vae";
  case WARM_KIND_UPSAMPLER:
    return "upsampler";
  case WARM_KIND_AUDIO_DECODER:
    return "audio_decoder";
  }
  return "unknown";
}

warm_kind warm_kind_parse(const char *s) {
  if (!s) return (warm_kind)0;
  if (!strcasecmp(s, "text_encoder")) return WARM_KIND_TEXT_ENCODER;
  if (!strcasecmp(s, "transformer")) return WARM_KIND_TRANSFORMER;
  if (!strcasecmp(s, "vae")) return WARM_KIND_VAE;
  if (!strcasecmp(s, "upsampler")) return WARM_KIND_UPSAMPLER;
  if (!strcasecmp(s, "audio_decoder")) return WARM_KIND_AUDIO_DECODER;
  return (warm_kind)0;
}

size_t warm_dtype_size(warm_dtype dt) {
  switch (dt) {
  case WARM_F32:
  case WARM_I32:
    return 4;
  case WARM_BF16:
  case WARM_F16:
    return 2;
  case WARM_FP8_E4M3:
  case WARM_U8:
    return 1;
  case WARM_I64:
    return 8;
  case WARM_DTYPE_NONE:
    break;
  }
  return 0;
}

const char *warm_dtype_name(warm_dtype dt) {
  switch (dt) {
  case WARM_F32:
    return "f32";
  case WARM_BF16:
    return "bf16";
  case WARM_FP8_E4M3:
    return "fp8";
  case WARM_F16:
    return "f16";
  case WARM_I32:
    return "i32";
  case WARM_I64:
    return "i64";
  case WARM_U8:
    return "u8";
  case WARM_DTYPE_NONE:
    break;
  }
  return NULL;
}

/* Only the weight storage dtypes a config may name: f32, bf16, fp8 (also
 * spelled fp8_e4m3). */
warm_dtype warm_dtype_parse(const char *s) {
  if (!s) return WARM_DTYPE_NONE;
  if (!strcasecmp(s, "f32")) return WARM_F32;
  if (!strcasecmp(s, "bf16")) return WARM_BF16;
  if (!strcasecmp(s, "fp8") || !strcasecmp(s, "fp8_e4m3")) return WARM_FP8_E4M3;
  return WARM_DTYPE_NONE;
}

uint32_t warm_dtype_cap(warm_dtype dt) {
  switch (dt) {
  case WARM_F32:
    return WARM_DTYPECAP_F32;
  case WARM_BF16:
    return WARM_DTYPECAP_BF16;
  case WARM_FP8_E4M3:
    return WARM_DTYPECAP_FP8;
  default:
    return 0;
  }
}

const char *warm_device_name(warm_device d, char *buf, size_t n) {
  if (!buf || n == 0) return buf;
  if (d.type == WARM_DEVICE_CPU)
    snprintf(buf, n, "cpu");
  else if (d.type == WARM_DEVICE_CUDA)
    snprintf(buf, n, "cuda:%d", (int)d.index);
  else
    snprintf(buf, n, "unknown");
  return buf;
}

/* "cpu", "cuda" (ordinal 0) or "cuda:N" with N a plain decimal ordinal. */
int warm_device_parse(const char *s, warm_device *out) {
  if (!s || !out) return WARM_EINVAL;
  if (!strcasecmp(s, "cpu")) {
    out->type = WARM_DEVICE_CPU;
    out->index = 0;
    return WARM_OK;
  }
  if (!strcasecmp(s, "cuda")) {
    out->type = WARM_DEVICE_CUDA;
    out->index = 0;
    return WARM_OK;
  }
  if (strncasecmp(s, "cuda:", 5) != 0) return WARM_EINVAL;
  const char *p = s + 5;
  if (*p < '0' || *p > '9') return WARM_EINVAL;
  errno = 0;
  char *end = NULL;
  long v = strtol(p, &end, 10);
  if (errno || *end != '\0' || v < 0 || v > INT32_MAX) return WARM_EINVAL;
  out->type = WARM_DEVICE_CUDA;
  out->index = (int32_t)v;
  return WARM_OK;
}
