/*
 * host/auth.h — bearer tokens for the HTTP API ([host] api_keys_file).
 *
 * The file holds one key per line, `NAME TOKEN`; blank lines and lines
 * starting with '#' are skipped. NAME (1..64 of A-Z a-z 0-9 _ . -) is what
 * the access log shows; the token is never logged. TOKEN is 16..256
 * characters of RFC 6750's b64token set (A-Z a-z 0-9 - . _ ~ + / =).
 * Names and tokens are unique. A file that others may read is refused.
 *
 * A request carries `Authorization: Bearer TOKEN`. Comparison takes the
 * same time whatever the token's first wrong byte. The keys are part of the
 * configuration: read by `warmd -t`, at start and on every reload.
 */
#ifndef WH_AUTH_H
#define WH_AUTH_H

#include <stddef.h>

#define WH_AUTH_MISSING (-1) /* no Authorization: Bearer header */
#define WH_AUTH_INVALID (-2) /* a token that no key has */

typedef struct wh_auth_keys wh_auth_keys;

/* Reads path. On failure returns a negative code with "PATH:LINE: why" (or
 * "PATH: why") in err, and *out is NULL. */
int wh_auth_load(const char *path, wh_auth_keys **out, char *err, size_t n);
void wh_auth_free(wh_auth_keys *k);
size_t wh_auth_count(const wh_auth_keys *k);

/* Checks an Authorization header value ("" when absent). Returns 0 and the
 * key's name in *name, WH_AUTH_MISSING or WH_AUTH_INVALID. */
int wh_auth_check(const wh_auth_keys *k, const char *authorization,
                  const char **name);

#endif /* WH_AUTH_H */
