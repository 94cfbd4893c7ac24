/* ll_json.c - a per-thread bump arena behind cJSON's allocation hooks (see ll_json.h). */
#include "ll_json.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define LL_JSON_ALIGN 16 /* what malloc gives on x86-64 and aarch64 */

#if defined(__SANITIZE_ADDRESS__)
#define LL_JSON_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LL_JSON_ASAN 1
#endif
#endif
#ifdef LL_JSON_ASAN
/* Keep ASan's eye on trees used after ll_json_free: the released arena is poisoned. */
#include <sanitizer/asan_interface.h>
#define ARENA_POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define ARENA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define ARENA_POISON(p, n)   ((void)(p), (void)(n))
#define ARENA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

struct arena {
    char *mem; /* malloc'd, cap bytes; NULL until this thread's first parse */
    size_t cap, used;
    unsigned spilled; /* allocations of the current tree that went to malloc */
    bool on;          /* inside ll_json_parse */
};

static _Thread_local struct arena arena;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key; /* its destructor frees a thread's arena when the thread exits */

static bool in_arena(const void *p)
{
    uintptr_t a = (uintptr_t)p, lo = (uintptr_t)arena.mem;
    return arena.mem != NULL && a >= lo && a < lo + arena.cap;
}

static void *arena_malloc(size_t n)
{
    if (arena.on) {
        size_t need = (n + LL_JSON_ALIGN - 1) & ~(size_t)(LL_JSON_ALIGN - 1);
        if (need >= n && need <= arena.cap - arena.used) {
            char *p = arena.mem + arena.used;
            arena.used += need;
            ARENA_UNPOISON(p, n);
            return p;
        }
        arena.spilled++;
    }
    return malloc(n);
}

/* Freeing inside the arena is a no-op: the whole arena is released with its tree. Pointers
 * from another thread's arena never come here (trees do not leave their thread). */
static void arena_free(void *p)
{
    if (!in_arena(p)) {
        free(p);
    }
}

static void arena_release(void *mem)
{
    free(mem);
}

static void hooks_install(void)
{
    cJSON_Hooks h = {.malloc_fn = arena_malloc, .free_fn = arena_free};
    cJSON_InitHooks(&h);
    (void)pthread_key_create(&exit_key, arena_release);
}

void ll_json_init(void)
{
    pthread_once(&once, hooks_install);
}

/* Before a parse: make sure there is an arena, twice as large when the last tree spilled. No
 * tree of this thread is alive here (the contract), so the old block may go. */
static void arena_fit(void)
{
    size_t want = arena.mem == NULL ? LL_JSON_ARENA_MIN : arena.cap;
    if (arena.mem != NULL && arena.spilled != 0 && want < LL_JSON_ARENA_MAX) {
        want *= 2;
    }
    if (arena.mem != NULL && want == arena.cap) {
        return;
    }
    char *mem = malloc(want);
    if (mem == NULL) {
        return; /* keep what we have (or none): cJSON then uses malloc */
    }
    ARENA_UNPOISON(arena.mem, arena.cap);
    free(arena.mem);
    arena.mem = mem;
    arena.cap = want;
    ARENA_POISON(arena.mem, arena.cap);
    (void)pthread_setspecific(exit_key, mem);
}

cJSON *ll_json_parse(const char *text, size_t len)
{
    ll_json_init();
    arena_fit();
    arena.used = 0;
    arena.spilled = 0;
    arena.on = arena.mem != NULL;
    cJSON *root = cJSON_ParseWithLength(text, len);
    arena.on = false;
    return root;
}

void ll_json_free(cJSON *root)
{
    /* A tree all in the arena needs no walk: dropping the arena frees it. The spill count stays
     * until the next parse, which grows the arena by it. */
    if (arena.spilled != 0) {
        cJSON_Delete(root);
    }
    ARENA_POISON(arena.mem, arena.used);
    arena.used = 0;
}
