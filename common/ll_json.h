/* ll_json.h - parsing JSON with cJSON without a malloc per node.
 *
 * cJSON allocates every node and every string on its own and frees them one by one. For the
 * small documents on our hot paths -- a chat request in mockllm, a chat completion or one SSE
 * chunk in the client -- that was a tenth to a fifth of all instructions. These wrappers give
 * cJSON a bump arena per thread while one document is parsed; the tree is then dropped at once.
 *
 * The arena starts small and doubles (up to LL_JSON_ARENA_MAX) after a parse that did not fit,
 * so a thread that only ever parses small answers keeps a small arena: the threaded backend has
 * one per worker. Allocations that do not fit, and every cJSON allocation outside ll_json_parse
 * (config files, rendering, other code in the process), go to malloc/free as before. A thread's
 * arena is freed when the thread exits.
 *
 * Any thread. One tree from ll_json_parse per thread at a time: free it before the next parse,
 * on the same thread. */
#ifndef LL_JSON_H
#define LL_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

#define LL_JSON_ARENA_MIN ((size_t)4 << 10)
#define LL_JSON_ARENA_MAX ((size_t)256 << 10)

/* Install the cJSON hooks. Idempotent and thread-safe; call it before the first parse and
 * before other threads use cJSON (the hooks are process-wide). */
void ll_json_init(void);
/* cJSON_ParseWithLength into this thread's arena. NULL when the text is not valid JSON (or
 * when memory ran out). */
cJSON *ll_json_parse(const char *text, size_t len);
/* Release a tree from ll_json_parse (NULL is fine). Nothing of it may be used afterwards. */
void ll_json_free(cJSON *root);

#endif
