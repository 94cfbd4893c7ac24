/* replay_main.c - run a libFuzzer harness without libFuzzer: feed every file named on the
 * command line (directories: every file in them, sorted) to LLVMFuzzerTestOneInput once. Used
 * by ctest so that every regular build replays the fuzz corpus; exits non-zero if a path cannot
 * be read (the harness itself aborts on a failed check). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0) {
            break;
        }
        len += n;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
    int files = 0, bad = 0;
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: no such path %s\n", argv[i]);
            bad++;
        } else if (S_ISDIR(st.st_mode)) {
            struct dirent **names;
            int n = scandir(argv[i], &names, NULL, by_name);
            for (int k = 0; k < n; k++) {
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s", argv[i], names[k]->d_name);
                if (names[k]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                    bad += replay_file(path) != 0;
                    files++;
                }
                free(names[k]);
            }
            free(names);
        } else {
            bad += replay_file(argv[i]) != 0;
            files++;
        }
    }
    printf("replay: %d inputs, %d unreadable\n", files, bad);
    return bad != 0 || files == 0;
}
