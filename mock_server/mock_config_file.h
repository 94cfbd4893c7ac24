/* mock_config_file.h - mockllm's JSON config file, read as the flags it stands for. Every key is
 * a long flag spelt with '-' or '_' (so the file and the command line cannot drift apart),
 * true/false stand for a flag given or not, "listen" may be an array of addresses, "faults" an
 * object of rates, and "profiles" an array of profile objects:
 *     {"seed": 7, "max_running": 64, "faults": "429=0.01",
 *      "profiles": [{"name": "gpt-mock", "ttft": "lognormal:200,800", "itl": 20,
 *                    "tokens": 64, "reasoning_tokens": "uniform:10,40", "chunk_tokens": 2,
 *                    "faults": {"503": 0.01}},
 *                   {"name": "served", "preset": "realistic", "prefill": 0.2}]}
 * This file knows no flag's meaning: it hands each setting, as (flag name, value text), to the
 * caller's apply function ("profile" with a spec 'name=M,key=value,...' for each profile), so
 * the configuration (mock_config.c) calls it, never the other way. */
#ifndef MOCK_CONFIG_FILE_H
#define MOCK_CONFIG_FILE_H

#include <stddef.h>

/* apply(arg, name, value, err, errlen): 0, or -1 with a reason in err. */
typedef int (*mock_config_apply_fn)(void *arg, const char *name, const char *value, char *err,
                                    size_t errlen);

/* Read the JSON file at path (at most 1 MiB) and apply its settings in order. 0, or -1 with
 * "FILE: problem" in err. */
int mock_config_file_read(const char *path, mock_config_apply_fn apply, void *arg, char *err,
                          size_t errlen);

#endif
