#include "ll_err.h"

#include <errno.h>
#include <string.h>

const char *ll_err_name(int err)
{
    switch (err) {
    case LL_OK:
        return "OK";
#define LL_ERR_NAME_(name, msg)                                                                    \
    case LL_E##name:                                                                               \
        return "E" #name;
        LL_ERR_MAP(LL_ERR_NAME_)
#undef LL_ERR_NAME_
    default:
        return "EUNKNOWN";
    }
}

const char *ll_strerror(int err)
{
    switch (err) {
    case LL_OK:
        return "success";
#define LL_ERR_MSG_(name, msg)                                                                     \
    case LL_E##name:                                                                               \
        return msg;
        LL_ERR_MAP(LL_ERR_MSG_)
#undef LL_ERR_MSG_
    default:
        return "unknown error";
    }
}

static const char *const class_names[] = {
#define LL_CLASS_STR_(name, short_, msg) short_,
    LL_CLASS_MAP(LL_CLASS_STR_)
#undef LL_CLASS_STR_
};

static const char *const class_descr[] = {
#define LL_CLASS_DESCR_(name, short_, msg) msg,
    LL_CLASS_MAP(LL_CLASS_DESCR_)
#undef LL_CLASS_DESCR_
};

const char *ll_class_name(enum ll_class c)
{
    return (unsigned)c < LL_CLASS__COUNT ? class_names[c] : "unknown";
}

const char *ll_class_descr(enum ll_class c)
{
    return (unsigned)c < LL_CLASS__COUNT ? class_descr[c] : "unknown class";
}

int ll_class_parse(const char *name, enum ll_class *out)
{
    for (int i = 0; i < LL_CLASS__COUNT; i++) {
        if (strcmp(name, class_names[i]) == 0) {
            *out = (enum ll_class)i;
            return 0;
        }
    }
    return LL_EINVAL;
}

static const char *const limit_names[] = {
#define LL_LIMIT_STR_(name, short_, msg) short_,
    LL_LIMIT_MAP(LL_LIMIT_STR_)
#undef LL_LIMIT_STR_
};

static const char *const limit_descr[] = {
#define LL_LIMIT_DESCR_(name, short_, msg) msg,
    LL_LIMIT_MAP(LL_LIMIT_DESCR_)
#undef LL_LIMIT_DESCR_
};

const char *ll_limit_name(enum ll_limit l)
{
    return (unsigned)l < LL_LIMIT__COUNT ? limit_names[l] : "unknown";
}

const char *ll_limit_descr(enum ll_limit l)
{
    return (unsigned)l < LL_LIMIT__COUNT ? limit_descr[l] : "unknown limit";
}

/* The errno -> limit table. EAGAIN is deliberately absent: from pthread_create it means threads
 * (the threaded backend reports that itself), from a socket it means "try again". */
static const struct {
    int err;
    enum ll_limit limit;
} errno_limits[] = {
    {EMFILE, LL_LIMIT_DESCRIPTORS}, {ENFILE, LL_LIMIT_DESCRIPTORS},  {ENOMEM, LL_LIMIT_MEMORY},
    {ENOBUFS, LL_LIMIT_MEMORY},     {EADDRNOTAVAIL, LL_LIMIT_PORTS},
};

enum ll_limit ll_limit_from_errno(int e)
{
    for (size_t i = 0; i < sizeof(errno_limits) / sizeof(errno_limits[0]); i++) {
        if (errno_limits[i].err == e) {
            return errno_limits[i].limit;
        }
    }
    return LL_LIMIT_NONE;
}
