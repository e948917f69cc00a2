/*
 * host/fsio.h — files a job leaves behind, written so that a reader (a
 * client, warmd after a restart) never sees a torn or empty one: the data
 * goes to a temporary file in the same folder, is flushed to disk, and
 * only then renamed over the final name. A write that fails (disk full,
 * file size limit) leaves the old file, or none, and no temporary.
 */
#ifndef WH_FSIO_H
#define WH_FSIO_H

#include <stddef.h>

#include "warm/warm.h"

/* Writes n bytes to path atomically (see above). Returns 0 or WARM_EIO
 * with the file and the reason in err. */
int wh_write_atomic(const char *path, const void *data, size_t n,
                    warm_error *err);

/* mkdir -p: creates dir and its missing parents (0755). */
int wh_mkdir_p(const char *dir, warm_error *err);

/* Removes what a job that did not finish may have left in dir: the videos
 * (y4m, mp4), audio.wav, the previews, result.json and temporaries. Best
 * effort. */
void wh_job_outputs_remove(const char *dir);

#endif /* WH_FSIO_H */
