/* llmload.c - entry point: picks a subcommand from the table and hands it the rest of argv. */
#include <stdio.h>
#include <string.h>

#include "ll_cmd.h"
#include "ll_signal.h"
#include "ll_version.h"

/* Later: demo, ab, batch, compare. One line each. */
static const struct ll_cmd cmds[] = {
    {"run", ll_cmd_run, "run one workload on one backend and report it"},
    {"ab", ll_cmd_ab, "one prompt to several models at once, answers side by side"},
    {"batch", ll_cmd_batch, "JSONL prompts in, one JSONL result per id out; resumable"},
    {"demo", ll_cmd_demo, "the seed's lessons as measured scenarios (llmload demo lists them)"},
    {"compare", ll_cmd_compare, "two runs' --json files side by side with ratios (A B)"},
    {"merge", ll_cmd_merge, "the --json files of a run split over hosts (--segment) added up"},
    {NULL, NULL, NULL},
};

static int usage(FILE *out)
{
    fprintf(out, "usage: llmload COMMAND [flags]   (llmload COMMAND --help for its flags)\n"
                 "       llmload --version\n\n"
                 "commands:\n");
    for (const struct ll_cmd *c = cmds; c->name != NULL; c++) {
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    }
    fprintf(out, "\nexit status, the same for every command:\n"
                 "  0    ok\n"
                 "  1    the run failed: no request succeeded, accounting, an unreachable "
                 "endpoint, I/O,\n"
                 "       a demo claim that did not hold, a batch id that failed, a merged run\n"
                 "       missing or with a failed agent (merge)\n"
                 "  2    usage: a bad flag or value (one line on stderr)\n"
                 "  3    a threshold failed (run --threshold, compare --threshold); the run "
                 "itself worked\n"
                 "  130  interrupted by SIGINT, 143 by SIGTERM\n");
    return out == stdout ? LL_EXIT_OK : LL_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        return usage(stderr);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        return usage(stdout);
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        /* as every --json document's llmload_version and git_commit say it */
        printf("llmload %s (git %s)\n", ll_version, ll_git_commit);
        return LL_EXIT_OK;
    }
    for (const struct ll_cmd *c = cmds; c->name != NULL; c++) {
        if (strcmp(argv[1], c->name) == 0) {
            /* Before any child or thread exists: no phase of a subcommand runs without them
             * (ll_signal.h); a subcommand that was stopped by one exits 128 + its number. */
            if (ll_signal_install() != 0) {
                fprintf(stderr, "llmload: cannot install the signal handlers\n");
                return LL_EXIT_FAIL;
            }
            int rc = c->main(argc - 2, argv + 2);
            return rc == LL_EXIT_USAGE ? rc : ll_signal_exit_code(rc);
        }
    }
    fprintf(stderr, "llmload: unknown command '%s' (see llmload --help)\n", argv[1]);
    return LL_EXIT_USAGE;
}
