/* ll_outfile.c - output files opened before the run and committed whole after it. */
#include "ll_outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ll_err.h"

const char *ll_outfile_why(char *buf, size_t len, const char *path, int errnum)
{
    char *dup = strdup(path != NULL ? path : "");
    const char *dir = dup != NULL ? dirname(dup) : ".";
    struct stat st;
    switch (errnum) {
    case ENOENT:
        /* The file itself is created: what is missing is its directory (or a part of it). */
        if (stat(dir, &st) != 0) {
            snprintf(buf, len, "no such directory %s", dir);
        } else {
            snprintf(buf, len, "no such file or directory");
        }
        break;
    case ENOTDIR:
        snprintf(buf, len, "a part of the path is not a directory");
        break;
    case EISDIR:
        snprintf(buf, len, "is a directory");
        break;
    case EACCES:
    case EPERM:
    case EROFS:
        snprintf(buf, len, "permission denied (%s)", strerror(errnum));
        break;
    case ENOSPC:
    case EDQUOT:
        snprintf(buf, len, "disk full (%s)", strerror(errnum));
        break;
    case EFBIG:
        snprintf(buf, len, "file too large (%s)", strerror(errnum));
        break;
    default:
        snprintf(buf, len, "%s", strerror(errnum));
        break;
    }
    free(dup);
    return buf;
}

static int fail(const char *who, const char *flag, const char *path, int errnum)
{
    char why[256];
    fprintf(stderr, "%s: %s%s%s: %s\n", who, flag != NULL ? flag : "", flag != NULL ? " " : "",
            path, ll_outfile_why(why, sizeof(why), path, errnum));
    return LL_EIO;
}

/* "-": keep the real stdout for the file, send what is printed to stderr. */
static int open_stdout(struct ll_outfile *o, const char *who, const char *flag)
{
    fflush(stdout);
    o->fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (o->fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        return fail(who, flag, "-", errno);
    }
    return 0;
}

/* A temporary file beside the target, with the mode a new file would get. */
static int open_tmp(struct ll_outfile *o)
{
    char *dup = strdup(o->path), *base_dup = strdup(o->path);
    int err = ENOMEM;
    if (dup != NULL && base_dup != NULL) {
        const char *dir = dirname(dup), *base = basename(base_dup);
        size_t n = strlen(dir) + strlen(base) + 16;
        o->tmp = malloc(n);
        if (o->tmp != NULL) {
            snprintf(o->tmp, n, "%s/.%s.XXXXXX", dir, base);
            o->fd = mkostemp(o->tmp, O_CLOEXEC);
            err = o->fd < 0 ? errno : 0;
        }
    }
    if (err == 0) {
        mode_t mask = umask(022);
        umask(mask);
        fchmod(o->fd, 0666 & ~mask);
    } else {
        free(o->tmp);
        o->tmp = NULL;
    }
    free(dup);
    free(base_dup);
    return err;
}

int ll_outfile_open(struct ll_outfile *o, const char *who, const char *flag, const char *path)
{
    struct stat st;
    o->path = path;
    o->tmp = NULL;
    o->fd = -1;
    if (path == NULL) {
        return 0;
    }
    if (strcmp(path, "-") == 0) {
        return open_stdout(o, who, flag);
    }
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        return fail(who, flag, path, EISDIR);
    }
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* A FIFO, a device or a symlink: written where it is, never replaced. */
        o->fd = open(path, O_WRONLY | O_CLOEXEC);
        return o->fd < 0 ? fail(who, flag, path, errno) : 0;
    }
    int err = open_tmp(o);
    return err != 0 ? fail(who, flag, path, err) : 0;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? errno : EIO;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int ll_outfile_commit(struct ll_outfile *o, const char *who, const char *text, size_t len)
{
    int err;
    if (o->path == NULL) {
        return 0;
    }
    if (o->fd < 0) {
        return fail(who, NULL, o->path, EBADF);
    }
    if (o->tmp == NULL && strcmp(o->path, "-") != 0) {
        (void)!ftruncate(o->fd, 0); /* a symlinked regular file; fails harmlessly on a FIFO */
    }
    err = write_all(o->fd, text, len);
    if (err == 0 && o->tmp != NULL && fsync(o->fd) != 0) {
        err = errno;
    }
    if (close(o->fd) != 0 && err == 0 && o->tmp != NULL) {
        err = errno;
    }
    o->fd = -1;
    if (err == 0 && o->tmp != NULL && rename(o->tmp, o->path) != 0) {
        err = errno;
    }
    if (err != 0) {
        ll_outfile_abort(o);
        return fail(who, NULL, o->path, err);
    }
    free(o->tmp);
    o->tmp = NULL;
    return 0;
}

int ll_outfile_commit_json(struct ll_outfile *o, const char *who, const cJSON *doc)
{
    if (o->path == NULL) {
        return 0;
    }
    char *text = cJSON_Print(doc);
    if (text == NULL) {
        fprintf(stderr, "%s: %s: out of memory\n", who, o->path);
        ll_outfile_abort(o);
        return LL_ENOMEM;
    }
    size_t len = strlen(text);
    char *line = realloc(text, len + 2);
    if (line == NULL) {
        free(text);
        ll_outfile_abort(o);
        return LL_ENOMEM;
    }
    line[len] = '\n';
    line[len + 1] = '\0';
    int err = ll_outfile_commit(o, who, line, len + 1);
    free(line);
    return err;
}

void ll_outfile_abort(struct ll_outfile *o)
{
    if (o->fd >= 0) {
        close(o->fd);
        o->fd = -1;
    }
    if (o->tmp != NULL) {
        unlink(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
    }
}

static bool outfile_quieted;

bool ll_outfile_quieted(void)
{
    return outfile_quieted;
}

int ll_outfile_quiet(void)
{
    outfile_quieted = true;
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    fflush(stdout);
    if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) {
        if (fd >= 0) {
            close(fd);
        }
        return LL_EIO;
    }
    close(fd);
    return 0;
}
