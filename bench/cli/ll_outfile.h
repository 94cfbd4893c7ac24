/* ll_outfile.h - an output file (--json FILE, batch's --out) checked before the run starts and
 * written whole after it.
 *
 * ll_outfile_open() runs before anything starts (mock, threads, requests): it proves that the
 * file can be written by creating a temporary file beside it (".NAME.XXXXXX" in the same
 * directory), so that a missing directory, a directory given as the file or a read-only place
 * is one clear line and exit 1 at once, not an error after the whole run. ll_outfile_commit()
 * writes the text to the temporary file and renames it over NAME: a reader never sees half a
 * file, and a run that fails to write (disk full) or is stopped before it writes leaves an
 * earlier NAME as it was.
 *
 * A path that exists and is not a regular file (a FIFO, /dev/null, /dev/stdout, a symlink) is
 * opened as it is at open time and written in place at commit. "-" is stdout: the process's
 * stdout is pointed at stderr from then on, so everything the subcommand prints (header,
 * table, summary) goes to stderr and the file is alone on stdout (`llmload run --json - | jq`).
 *
 * Error lines name the cause: "no such directory", "is a directory", "permission denied",
 * "disk full". Main thread only (umask, stdout).
 */
#ifndef LL_OUTFILE_H
#define LL_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

struct ll_outfile {
    const char *path; /* as given; NULL: no file (every call is then a no-op returning 0) */
    char *tmp;        /* the temporary file beside it, renamed at commit; NULL when in place */
    int fd;           /* -1 when closed */
};

/* Check and open `path` (NULL is fine: nothing to do). `who` and `flag` prefix the one error
 * line: "llmload run: --json out/x.json: no such directory out". 0 or LL_EIO. */
int ll_outfile_open(struct ll_outfile *o, const char *who, const char *flag, const char *path);

/* Write `text` (len bytes), make it the file, close. 0 or LL_EIO after one line. */
int ll_outfile_commit(struct ll_outfile *o, const char *who, const char *text, size_t len);

/* cJSON_Print(doc) plus a newline, committed. 0, LL_ENOMEM or LL_EIO after one line. */
int ll_outfile_commit_json(struct ll_outfile *o, const char *who, const cJSON *doc);

/* Remove the temporary file (an in-place file is left as it was) and close. Safe to call
 * after commit and twice. */
void ll_outfile_abort(struct ll_outfile *o);

/* Text for an open/write errno on `path`: "no such directory DIR", "is a directory",
 * "permission denied", "disk full (no space left on device)", or strerror. Returns buf. */
const char *ll_outfile_why(char *buf, size_t len, const char *path, int errnum);

/* --quiet: point stdout at /dev/null (after any "-" file took the real stdout). 0 or LL_EIO. */
int ll_outfile_quiet(void);
/* ll_outfile_quiet() was called: the command runs quiet (no progress line, no mock notes). */
bool ll_outfile_quieted(void);

#endif
