/* mock_json.c - a per-thread bump arena behind cJSON's allocation hooks (see mock_json.h). */
#include "mock_json.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* A chat request of a few messages takes about 1 KiB of nodes and strings; bigger bodies spill
 * to malloc, which is correct, only slower. */
#define MOCK_JSON_ARENA (16 * 1024)
#define MOCK_JSON_ALIGN 16 /* what malloc gives on x86-64 and aarch64 */

#if defined(__SANITIZE_ADDRESS__)
#define MOCK_JSON_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MOCK_JSON_ASAN 1
#endif
#endif
#ifdef MOCK_JSON_ASAN
/* Keep ASan's eye on trees used after mock_json_free: the released arena is poisoned. */
#include <sanitizer/asan_interface.h>
#define ARENA_POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define ARENA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define ARENA_POISON(p, n)   ((void)(p), (void)(n))
#define ARENA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

struct arena {
    alignas(MOCK_JSON_ALIGN) char mem[MOCK_JSON_ARENA];
    size_t used;
    unsigned spilled; /* allocations of the current tree that went to malloc */
    bool on;          /* inside mock_json_parse */
};

static _Thread_local struct arena arena;

static bool in_arena(const void *p)
{
    uintptr_t a = (uintptr_t)p, lo = (uintptr_t)arena.mem;
    return a >= lo && a < lo + MOCK_JSON_ARENA;
}

static void *arena_malloc(size_t n)
{
    if (arena.on) {
        size_t need = (n + MOCK_JSON_ALIGN - 1) & ~(size_t)(MOCK_JSON_ALIGN - 1);
        if (need >= n && need <= MOCK_JSON_ARENA - arena.used) {
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

static void hooks_install(void)
{
    cJSON_Hooks h = {.malloc_fn = arena_malloc, .free_fn = arena_free};
    cJSON_InitHooks(&h);
}

void mock_json_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, hooks_install);
}

cJSON *mock_json_parse(const char *text, size_t len)
{
    arena.used = 0;
    arena.spilled = 0;
    arena.on = true;
    cJSON *root = cJSON_ParseWithLength(text, len);
    arena.on = false;
    return root;
}

void mock_json_free(cJSON *root)
{
    /* A tree all in the arena needs no walk: dropping the arena frees it. */
    if (arena.spilled != 0) {
        cJSON_Delete(root);
    }
    ARENA_POISON(arena.mem, arena.used);
    arena.used = 0;
    arena.spilled = 0;
}
