/* ll_testutil_backends.c - the part of ll_testutil.h that needs ll_backends (its own object, so
 * that tests which never call it link no backend table). */
#include "ll_testutil.h"

#include <stddef.h>

void ll_test_warm_up(void)
{
    struct ll_config cfg;
    ll_test_config_closed(&cfg);
    for (const struct ll_backend *const *be = ll_backend_list(); *be != NULL; be++) {
        struct ll_client *c = NULL;
        if (ll_client_create(*be, &cfg, &c) == 0) {
            ll_client_destroy(c);
        }
    }
}
