#include "ll_err.h"

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
