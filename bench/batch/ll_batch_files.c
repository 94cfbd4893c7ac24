/* ll_batch_files.c - batch's input and output files, checked before anything starts, and the
 * resume of an earlier output (ll_batch_io.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "ll_batch_io.h"
#include "ll_err.h"
#include "ll_outfile.h"

/* Lines of a regular file that hold something other than white space, read in blocks from
 * the start (pread: the stream's position is not moved). -1 on a read error. */
static long count_prompts(int fd)
{
    char block[65536];
    long n = 0;
    bool filled = false;
    off_t at = 0;
    for (;;) {
        ssize_t got = pread(fd, block, sizeof(block), at);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            return -1;
        }
        if (got == 0) {
            return n + filled;
        }
        for (ssize_t i = 0; i < got; i++) {
            char c = block[i];
            if (c == '\n') {
                n += filled;
                filled = false;
            } else if (c != ' ' && c != '\t' && c != '\r') {
                filled = true;
            }
        }
        at += got;
    }
}

int ll_batch_in_open(const char *who, const char *path, FILE **in, long *prompts)
{
    struct stat st;
    char why[256];
    *prompts = -1;
    *in = fopen(path, "re");
    if (*in == NULL) {
        fprintf(stderr, "%s: --in %s: %s\n", who, path,
                ll_outfile_why(why, sizeof(why), path, errno));
        return LL_EIO;
    }
    if (fstat(fileno(*in), &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: --in %s: is a directory (want a JSONL file, one prompt a line)\n", who,
                path);
        return LL_EINVAL;
    }
    if (S_ISREG(st.st_mode)) {
        *prompts = count_prompts(fileno(*in));
        if (*prompts < 0) {
            fprintf(stderr, "%s: --in %s: %s\n", who, path, strerror(errno));
            return LL_EIO;
        }
        if (*prompts == 0) {
            fprintf(stderr, "%s: --in %s has no prompts (the file is empty or blank)\n", who, path);
            return LL_EINVAL;
        }
    }
    return 0;
}

/* Does the file start as a results file of ours: {"id": first, then (when the first line is
 * whole) an object with a boolean "ok"? */
static bool results_file(FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    long n = ll_batch_getline(f, &line, &cap);
    bool ours = false;
    if (n > 0 && strncmp(line, "{\"id\":", 6) == 0) {
        if (line[n - 1] != '\n') {
            ours = true; /* one torn line: a first write cut short */
        } else {
            cJSON *o = cJSON_Parse(line);
            ours = cJSON_IsObject(o) && cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(o, "ok"));
            cJSON_Delete(o);
        }
    }
    free(line);
    return n == 0 || ours;
}

int ll_batch_out_check(const char *who, const char *path, FILE *in)
{
    struct stat out, inst;
    if (stat(path, &out) != 0) {
        return 0; /* absent, or a cause the open will name */
    }
    if (fstat(fileno(in), &inst) == 0 && inst.st_dev == out.st_dev && inst.st_ino == out.st_ino) {
        fprintf(stderr, "%s: --out %s is the input file: refusing to overwrite the prompts\n", who,
                path);
        return LL_EINVAL;
    }
    if (!S_ISREG(out.st_mode)) {
        fprintf(stderr,
                "%s: --out %s is not a regular file (a directory, device or pipe): results "
                "are resumed from and appended to a file\n",
                who, path);
        return LL_EINVAL;
    }
    FILE *f = fopen(path, "re");
    bool ours = f != NULL && results_file(f);
    if (f != NULL) {
        fclose(f);
    }
    if (!ours) {
        fprintf(stderr,
                "%s: --out %s exists and is not a results file of llmload batch: refusing to "
                "overwrite it (name a new file, or remove this one)\n",
                who, path);
        return LL_EINVAL;
    }
    return 0;
}

/* A kept line's id key, or NULL when the line is not a successful result. */
static char *ok_key(const char *line)
{
    cJSON *o = cJSON_Parse(line);
    cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    char *key = NULL;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok")) &&
        (cJSON_IsString(id) || cJSON_IsNumber(id))) {
        key = cJSON_PrintUnformatted(id);
    }
    cJSON_Delete(o);
    return key;
}

static bool blank_line(const char *s)
{
    return s[strspn(s, " \t\r\n")] == '\0';
}

/* Copy the successful lines of `in` to `out`, recording their ids. Lines are read with a
 * bound (LL_BATCH_LINE_MAX); the file is regular (ll_batch_out_check), so the read ends. */
static int filter(FILE *in, FILE *out, struct ll_idset *done, struct ll_batch_resume *r)
{
    char *line = NULL;
    size_t cap = 0;
    long n;
    int err = 0;
    while (err == 0 && (n = ll_batch_getline(in, &line, &cap)) != 0) {
        if (n < 0) {
            err = (int)n;
            break;
        }
        if (line[n - 1] != '\n') {
            r->torn = true; /* only the last line can lack its newline */
            r->dropped++;
            continue;
        }
        char *key = ok_key(line);
        if (key == NULL || ll_idset_get(done, key) >= 0) {
            r->dropped += !blank_line(line);
        } else if (ll_idset_put(done, key, 1) != 0) {
            err = LL_ENOMEM;
        } else if (fwrite(line, 1, (size_t)n, out) != (size_t)n) {
            err = LL_EIO;
        } else {
            r->kept++;
        }
        free(key);
    }
    free(line);
    return err;
}

/* A temporary file beside `path` for the rewrite (never a fixed name that could be a user's
 * file). Returns the stream, with its name in tmp[len]; NULL on failure (errno set). */
static FILE *tmp_beside(const char *path, char *tmp, size_t len)
{
    char *d = strdup(path), *b = strdup(path);
    FILE *f = NULL;
    if (d != NULL && b != NULL &&
        snprintf(tmp, len, "%s/.%s.XXXXXX", dirname(d), basename(b)) < (int)len) {
        int fd = mkostemp(tmp, O_CLOEXEC);
        struct stat st;
        if (fd >= 0 && stat(path, &st) == 0) {
            fchmod(fd, st.st_mode & 07777); /* the file keeps its mode */
        }
        f = fd >= 0 ? fdopen(fd, "w") : NULL;
    }
    free(d);
    free(b);
    return f;
}

int ll_batch_resume(const char *who, const char *path, struct ll_idset *done,
                    struct ll_batch_resume *r)
{
    char tmp[4096], why[256];
    memset(r, 0, sizeof(*r));
    FILE *in = fopen(path, "re");
    if (in == NULL) {
        return errno == ENOENT ? 0 : LL_EIO;
    }
    FILE *out = tmp_beside(path, tmp, sizeof(tmp));
    int e = errno;
    int err = out != NULL ? filter(in, out, done, r) : LL_EIO;
    fclose(in);
    if (out != NULL && (fflush(out) != 0 || fsync(fileno(out)) != 0)) {
        e = errno;
        err = err != 0 ? err : LL_EIO;
    }
    if (out != NULL && fclose(out) != 0) {
        e = errno;
        err = err != 0 ? err : LL_EIO;
    }
    if (err == 0 && r->dropped > 0 && rename(tmp, path) != 0) {
        e = errno;
        err = LL_EIO;
    }
    if (out != NULL && (err != 0 || r->dropped == 0)) {
        unlink(tmp);
    }
    if (err == LL_ERANGE) {
        fprintf(stderr, "%s: cannot resume from %s: a line longer than %ld MiB\n", who, path,
                LL_BATCH_LINE_MAX >> 20);
    } else if (err == LL_EIO) {
        fprintf(stderr, "%s: cannot resume from %s: %s\n", who, path,
                ll_outfile_why(why, sizeof(why), tmp, e));
    } else if (err != 0) {
        fprintf(stderr, "%s: cannot resume from %s: %s\n", who, path, ll_strerror(err));
    }
    return err;
}

int ll_batch_out_open(const char *who, const char *path)
{
    char why[256];
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "%s: --out %s: %s\n", who, path,
                ll_outfile_why(why, sizeof(why), path, errno));
        return LL_EIO;
    }
    return fd;
}
