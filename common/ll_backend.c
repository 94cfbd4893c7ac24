/* ll_backend.c - the table of backends, looked up by --backend name. */
#include <string.h>

#include "ll_backend.h"

extern const struct ll_backend tp_backend; /* threaded/tp_backend.c */
extern const struct ll_backend ev_backend; /* evented/ev_backend.c */

static const struct ll_backend *const backends[] = {&tp_backend, &ev_backend, NULL};

const struct ll_backend *ll_backend_find(const char *name)
{
    for (size_t i = 0; backends[i] != NULL; i++) {
        if (strcmp(backends[i]->name, name) == 0) {
            return backends[i];
        }
    }
    return NULL;
}

const struct ll_backend *const *ll_backend_list(void)
{
    return backends;
}

void ll_backend_needs(const struct ll_backend *be, const struct ll_config *cfg,
                      struct ll_be_needs *out)
{
    memset(out, 0, sizeof(*out));
    if (be->needs != NULL) {
        be->needs(cfg, out);
    }
}
