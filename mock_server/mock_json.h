/* mock_json.h - parsing request bodies with cJSON without a malloc per node.
 *
 * cJSON allocates every node and every string on its own, and frees them one by one: for a
 * small chat request that was about a tenth of the server's instructions. These wrappers give
 * cJSON a bump allocator per thread while one body is parsed; the tree is then dropped at once.
 * Allocations that do not fit, and every cJSON allocation outside mock_json_parse (config file,
 * /v1/models, other code in the process), go to malloc/free as before.
 *
 * Any thread. One tree from mock_json_parse per thread at a time: free it before the next. */
#ifndef MOCK_JSON_H
#define MOCK_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Install the cJSON hooks. Idempotent and thread-safe; call it before the first parse, before
 * any loop thread starts (mock_openai_prepare does). */
void mock_json_init(void);
/* cJSON_ParseWithLength into this thread's arena. NULL when the text is not valid JSON. */
cJSON *mock_json_parse(const char *text, size_t len);
/* Release a tree from mock_json_parse (NULL is fine). Nothing of it may be used afterwards. */
void mock_json_free(cJSON *root);

#endif
