/* ll_cmd.h - llmload's subcommands. Each takes the arguments after its name (argv[0] is the
 * first flag) and returns the process exit code: 0 ok, 1 run-level failure (no request
 * succeeded, accounting, unreachable endpoint, I/O, a demo's claim that did not hold), 2 usage,
 * 3 a threshold failed, 130/143 interrupted (llmload --help lists them). Adding a subcommand: write
 * ll_cmd_NAME() and add one line to the table in llmload.c. */
#ifndef LL_CMD_H
#define LL_CMD_H

#define LL_EXIT_OK        0
#define LL_EXIT_FAIL      1
#define LL_EXIT_USAGE     2
#define LL_EXIT_THRESHOLD 3   /* the run worked, but a --threshold it was given failed */
#define LL_EXIT_SIGINT    130 /* 128 + SIGINT: interrupted, summary printed */
#define LL_EXIT_SIGTERM   143 /* 128 + SIGTERM */

struct ll_cmd {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary; /* one line for `llmload --help` */
};

int ll_cmd_run(int argc, char **argv);   /* bench/cli/ll_run.c */
int ll_cmd_demo(int argc, char **argv);  /* bench/demo/ll_demo.c */
int ll_cmd_batch(int argc, char **argv); /* bench/batch/ll_batch.c */
int ll_cmd_ab(int argc, char **argv);    /* bench/batch/ll_ab.c */

int ll_cmd_compare(int argc, char **argv); /* bench/cli/ll_compare.c */
int ll_cmd_merge(int argc, char **argv);   /* bench/cli/ll_merge.c */

#endif
