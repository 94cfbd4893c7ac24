/* mockllm - the bundled OpenAI-compatible mock LLM server. main only delegates. */
#include <stdio.h>

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
    return mock_server_run(&cfg);
}
