/* mockllm - the bundled OpenAI-compatible mock LLM server. main only delegates. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mock_config.h"
#include "mock_server.h"

int main(int argc, char **argv)
{
    static struct mock_config cfg; /* large (profiles): not on the stack */
    char err[512];
    int rc = mock_config_parse(&cfg, argc, argv, err, sizeof(err));
    if (rc != 0) {
        if (rc < 0) {
            fprintf(stderr, "mockllm: %s\n", err);
        }
        return rc < 0 ? 2 : 0;
    }
    /* --cert and --key that cannot be read are a usage error, said now (exit 2) */
    const char *files[][2] = {{"cert", cfg.tls_cert}, {"key", cfg.tls_key}};
    for (size_t i = 0; i < 2; i++) {
        if (files[i][1][0] != '\0' && access(files[i][1], R_OK) != 0) {
            fprintf(stderr, "mockllm: --%s '%s': %s\n", files[i][0], files[i][1], strerror(errno));
            return 2;
        }
    }
    return mock_server_run(&cfg);
}
