/* mock_config.h - mockllm's settings, from the command line and optional JSON config files
 * (mock_config_file.h, which hands its settings back as flags). Filled once by main before any
 * loop starts; read-only afterwards, so every loop and thread may read it without locks. */
#ifndef MOCK_CONFIG_H
#define MOCK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mock_fault.h"
#include "mock_latency.h"

#define MOCK_MAX_LISTEN     8
#define MOCK_MAX_PROFILES   64
#define MOCK_DEFAULT_MODEL  "gpt-mock"
#define MOCK_MAX_TOKENS_CAP 65536 /* larger max_tokens is refused with 400 */

/* How connections are served (--model): mock_server.h. */
enum mock_model { MOCK_MODEL_LOOP, MOCK_MODEL_THREADS };

struct mock_config {
    char listen[MOCK_MAX_LISTEN][64]; /* numeric IPv4/IPv6 addresses */
    int nlisten;
    int port; /* 0 = any free port */
    enum mock_model model;
    int threads; /* loops, one per thread (--model loop) */
    int backlog;
    uint64_t seed;
    /* profiles[0] is the default profile, used for models not listed (unless strict_models) */
    struct mock_profile profiles[MOCK_MAX_PROFILES];
    int nprofiles;
    struct mock_fault_rates faults; /* global rates; a profile with has_faults overrides them */
    char api_key[256];              /* empty: no authentication */
    double rpm, tpm;                /* 0 = unlimited */
    int max_running;                /* 0 = unlimited capacity */
    double slowdown;                /* per-token time x (1 + slowdown * (running - 1)) */
    double scale;                   /* multiplies every latency */
    size_t max_header_bytes, max_body_bytes;
    int idle_timeout_ms;
    int grace_ms; /* on SIGINT/SIGTERM, how long in-flight requests may still finish */
    /* the transport (mock_tls.h, mock_h2.h, mock_rtt.h) */
    bool tls;
    char tls_cert[256], tls_key[256]; /* PEM files; empty: a throwaway CA and leaf */
    char tls_ca_out[256];             /* where the throwaway CA goes; empty: $TMPDIR */
    int h2_max_streams;               /* SETTINGS_MAX_CONCURRENT_STREAMS; 0: no HTTP/2 */
    bool h2_max_streams_given;        /* set by a flag or file: the threads model refuses it */
    int h2_goaway_after;              /* GOAWAY once a connection opened this many streams */
    int h2_settings_after;            /* a SETTINGS change after this many streams ... */
    int h2_settings_max;              /* ... to this many concurrent streams */
    double rtt_ms;                    /* emulated network round trip (0: none) */
    bool verbose, strict_models;
    bool no_memo; /* recompute every answer (mock_memo.h): to measure or test what it saves */
};

/* Defaults, then the command line (and any --config file, applied where it appears so later
 * flags override it). Returns 0 to run, 1 when --help was printed (exit 0), -1 with a one-line
 * reason in err (exit 2). */
int mock_config_parse(struct mock_config *c, int argc, char **argv, char *err, size_t errlen);

/* Index of the profile named `name`, or -1. */
int mock_config_find_profile(const struct mock_config *c, const char *name);

/* --help (mock_config_usage.c). */
void mock_config_usage(FILE *f);

#endif
