/*
 * warm/warm.h — the SDK runtime (libwarm): helpers every plugin and tool may
 * use. Include this one header; it pulls in the ABI (plugin.h) and tensors.
 */
#ifndef WARM_WARM_H
#define WARM_WARM_H

#include "warm/plugin.h"
#include "warm/tensor.h"
#include "warm/version.h" /* generated: WARM_SDK_VERSION, _MAJOR/_MINOR/_PATCH */

#ifdef __cplusplus
extern "C" {
#endif
/* What libwarm exports (it builds with hidden visibility by default). */
#pragma GCC visibility push(default)

/* The SDK's own version, "MAJOR.MINOR.PATCH". */
const char *warm_sdk_version(void);

/* Fills err (if non-NULL) with code and a printf-style message and returns
 * code, so an error path reads `return warm_error_set(err, WARM_EINVAL, ...)`.
 */
int warm_error_set(warm_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Resets err (if non-NULL) to WARM_OK with an empty message. */
void warm_error_clear(warm_error *err);

/* A short name for a WARM_E* code ("EINVAL", "ENOSPACE", ...). */
const char *warm_strerror(int code);

/* "resident" / "stream" / "auto"; parse returns 0 on unknown names. All
 * parsers in this header ignore letter case. */
const char *warm_placement_name(warm_placement p);
warm_placement warm_placement_parse(const char *s);
const char *warm_source_name(warm_stream_source s);
warm_stream_source warm_source_parse(const char *s);
const char *warm_kind_name(warm_kind k);
/* "text_encoder" / "transformer" / "vae"; 0 on unknown names. */
warm_kind warm_kind_parse(const char *s);
/* The WARM_DTYPECAP_* bit of a weight dtype (f32, bf16, fp8); 0 otherwise. */
uint32_t warm_dtype_cap(warm_dtype dt);

/* Parses a byte size with an optional unit: "4096", "256MiB", "92GiB",
 * "1.5GB", "64k". Binary units (KiB MiB GiB TiB, and K M G T) are powers of
 * 1024; decimal ones (kB MB GB TB) powers of 1000. Returns 0 or WARM_EINVAL
 * (negative, empty, trailing junk, unknown unit, overflow). */
int warm_parse_size(const char *s, uint64_t *out);
/* Formats bytes as "1.50 GiB" into buf; returns buf. */
const char *warm_format_size(uint64_t bytes, char *buf, size_t n);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif /* WARM_WARM_H */
