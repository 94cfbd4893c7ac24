/* rel_util.c - see rel_util.h. */
#include "rel_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

int rel_fd_count(pid_t pid)
{
    char path[64];
    if (pid == 0) {
        snprintf(path, sizeof(path), "/proc/self/fd");
    } else {
        snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    }
    DIR *d = opendir(path);
    if (d == NULL) {
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return pid == 0 ? n - 1 : n; /* our own listing holds one descriptor: the directory's */
}

long rel_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    if (pid == 0) {
        snprintf(path, sizeof(path), "/proc/self/status");
    } else {
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) {
            break;
        }
    }
    fclose(f);
    return kb;
}

char *rel_metrics_get(const char *host, int port)
{
    char url[160], *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    CURL *easy = curl_easy_init();
    if (mem == NULL || easy == NULL) {
        if (mem != NULL) {
            fclose(mem);
        }
        free(text);
        curl_easy_cleanup(easy);
        return NULL;
    }
    snprintf(url, sizeof(url), "http://%s:%d/metrics", host, port);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, mem);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);
    CURLcode rc = curl_easy_perform(easy);
    curl_easy_cleanup(easy);
    fclose(mem);
    if (rc != CURLE_OK) {
        free(text);
        return NULL;
    }
    return text;
}

long long rel_metric_sum(const char *text, const char *name, const char *label_filter)
{
    size_t nl = strlen(name);
    long long sum = 0;
    int found = 0;
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (strncmp(line, name, nl) == 0 && (line[nl] == ' ' || line[nl] == '{')) {
            const char *v = line + nl;
            const char *close = line[nl] == '{' ? memchr(line, '}', len) : NULL;
            if (close != NULL) {
                size_t ll = (size_t)(close - v);
                v = close + 1;
                if (label_filter != NULL) {
                    char labels[512];
                    snprintf(labels, sizeof(labels), "%.*s", (int)ll, line + nl);
                    if (strstr(labels, label_filter) == NULL) {
                        line = eol ? eol + 1 : NULL;
                        continue;
                    }
                }
            } else if (label_filter != NULL) {
                line = eol ? eol + 1 : NULL;
                continue;
            }
            sum += strtoll(v, NULL, 10);
            found = 1;
        }
        line = eol ? eol + 1 : NULL;
    }
    return found ? sum : -1;
}
