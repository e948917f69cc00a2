/* Byte sizes with units: parsing config values and formatting for messages.
 * Integer arithmetic only, so "92GiB" is exact and an overflow is caught
 * rather than rounded. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "warm/warm.h"

typedef struct size_unit {
  const char *name;
  uint64_t mult;
} size_unit;

#define KI 1024ull
static const size_unit units[] = {
    {"", 1},
    {"b", 1},
    {"k", KI},
    {"m", KI *KI},
    {"g", KI *KI *KI},
    {"t", KI *KI *KI *KI},
    {"kib", KI},
    {"mib", KI *KI},
    {"gib", KI *KI *KI},
    {"tib", KI *KI *KI *KI},
    {"kb", 1000ull},
    {"mb", 1000000ull},
    {"gb", 1000000000ull},
    {"tb", 1000000000000ull},
};

/* Fractions keep at most this many digits; 10^18 fits in uint64_t. */
#define FRAC_DIGITS_MAX 18

/* Accepts leading/trailing blanks and blanks between number and unit; the
 * fractional part of a size in a unit is rounded down to whole bytes; a
 * fraction of a plain byte count is refused. */
int warm_parse_size(const char *s, uint64_t *out) {
  if (!s || !out) return WARM_EINVAL;
  const char *p = s;
  while (isspace((unsigned char)*p))
    p++;
  if (!isdigit((unsigned char)*p))
    return WARM_EINVAL; /* empty, sign, or junk first */
  uint64_t ip = 0;
  while (isdigit((unsigned char)*p)) {
    unsigned d = (unsigned)(*p - '0');
    if (ip > (UINT64_MAX - d) / 10) return WARM_EINVAL;
    ip = ip * 10 + d;
    p++;
  }
  uint64_t frac = 0, frac_scale = 1;
  int has_frac = 0;
  if (*p == '.') {
    p++;
    if (!isdigit((unsigned char)*p)) return WARM_EINVAL;
    has_frac = 1;
    int nd = 0;
    while (isdigit((unsigned char)*p)) {
      if (nd < FRAC_DIGITS_MAX) {
        frac = frac * 10 + (uint64_t)(*p - '0');
        frac_scale *= 10;
        nd++;
      }
      p++;
    }
  }
  while (isspace((unsigned char)*p))
    p++;
  const char *u = p;
  while (isalpha((unsigned char)*p))
    p++;
  size_t ulen = (size_t)(p - u);
  while (isspace((unsigned char)*p))
    p++;
  if (*p != '\0') return WARM_EINVAL; /* trailing junk */
  uint64_t mult = 0;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strlen(units[i].name) == ulen &&
        strncasecmp(units[i].name, u, ulen) == 0) {
      mult = units[i].mult;
      break;
    }
  }
  if (mult == 0) return WARM_EINVAL; /* unknown unit */
  if (has_frac && mult == 1 && frac != 0)
    return WARM_EINVAL; /* a fraction of a byte */
  if (mult != 0 && ip > UINT64_MAX / mult) return WARM_EINVAL;
  uint64_t whole = ip * mult;
  /* frac / frac_scale * mult without overflow: split mult = q*scale + r. */
  uint64_t q = mult / frac_scale, r = mult % frac_scale;
  uint64_t part = 0;
  if (frac) {
    /* frac * q may overflow only if the result would anyway: frac < scale. */
    if (q && frac > UINT64_MAX / q) return WARM_EINVAL;
    part = frac * q;
    /* frac * r / scale with frac, r < scale <= 10^18: do it in halves. */
    uint64_t hi = 0, lo = 0;
    {
      uint64_t a = frac, b = r;
      uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32;
      uint64_t b_lo = b & 0xffffffffu, b_hi = b >> 32;
      uint64_t p0 = a_lo * b_lo, p1 = a_lo * b_hi, p2 = a_hi * b_lo,
               p3 = a_hi * b_hi;
      uint64_t mid = (p0 >> 32) + (p1 & 0xffffffffu) + (p2 & 0xffffffffu);
      lo = (p0 & 0xffffffffu) | (mid << 32);
      hi = p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
    }
    /* 128-by-64 division by shift-subtract: hi:lo / frac_scale. */
    uint64_t quot = 0, rem = 0;
    for (int bit = 127; bit >= 0; bit--) {
      uint64_t top = rem >> 63;
      rem = (rem << 1) | (bit >= 64 ? (hi >> (bit - 64)) & 1 : (lo >> bit) & 1);
      if (top || rem >= frac_scale) {
        rem -= frac_scale;
        if (bit < 64) quot |= 1ull << bit;
      }
    }
    if (part > UINT64_MAX - quot) return WARM_EINVAL;
    part += quot;
  }
  if (whole > UINT64_MAX - part) return WARM_EINVAL;
  *out = whole + part;
  return WARM_OK;
}

/* Binary units, two decimals above 1 KiB ("1.50 GiB"), plain bytes below. */
const char *warm_format_size(uint64_t bytes, char *buf, size_t n) {
  static const char *names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (!buf || n == 0) return buf;
  if (bytes < 1024) {
    snprintf(buf, n, "%llu B", (unsigned long long)bytes);
    return buf;
  }
  int i = 0;
  double v = (double)bytes;
  while (v >= 1024.0 && i < 6) {
    v /= 1024.0;
    i++;
  }
  snprintf(buf, n, "%.2f %s", v, names[i]);
  return buf;
}
