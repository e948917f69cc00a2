/*
 * host/fsio.c — atomic file writes (see fsio.h).
 */
#include "fsio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int wh_write_atomic(const char *path, const void *data, size_t n,
                    warm_error *err) {
  char tmp[4200];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
    return warm_error_set(err, WARM_EIO, "%s: path too long", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return warm_error_set(err, WARM_EIO, "%s: cannot create: %s", tmp,
                          strerror(errno));
  const char *p = data;
  size_t left = n;
  while (left) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = w < 0 ? errno : ENOSPC;
      close(fd);
      unlink(tmp);
      return warm_error_set(err, WARM_EIO, "%s: write failed: %s", path,
                            strerror(e));
    }
    p += w;
    left -= (size_t)w;
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    int e = errno;
    unlink(tmp);
    return warm_error_set(err, WARM_EIO, "%s: write failed: %s", path,
                          strerror(e));
  }
  if (rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return warm_error_set(err, WARM_EIO, "%s: cannot rename into place: %s",
                          path, strerror(e));
  }
  return 0;
}

void wh_job_outputs_remove(const char *dir) {
  static const char *const names[] = {
      "video.y4m",     "video.mp4",     "audio.wav",       "preview.png",
      "memory.png",    "result.json",   "video.y4m.tmp",   "video.mp4.tmp",
      "audio.wav.tmp", "preview.png.tmp", "memory.png.tmp", "result.json.tmp",
      "tensors.safetensors"};
  char path[4200];
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    unlink(path);
  }
}

int wh_mkdir_p(const char *dir, warm_error *err) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
    return warm_error_set(err, WARM_EIO, "%s: path too long", dir);
  for (char *s = buf + 1; *s; s++)
    if (*s == '/') {
      *s = 0;
      if (mkdir(buf, 0755) && errno != EEXIST) goto fail;
      *s = '/';
    }
  if (mkdir(buf, 0755) && errno != EEXIST) goto fail;
  return 0;
fail:
  return warm_error_set(err, WARM_EIO, "%s: cannot create: %s", buf,
                        strerror(errno));
}
