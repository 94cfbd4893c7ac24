/* ll_report_open.c - the open-loop part of a run's report: the schedule (offered and achieved
 * rate, slip, waits for a slot) and, when the client did not keep up, what held it back. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ll_clock.h"
#include "ll_report.h"
#include "ll_report_int.h"

int ll_report_keepup_line(char *buf, size_t n, const struct ll_stats *s)
{
    struct ll_keepup k;
    char why[320] = "";
    size_t len = 0;
    ll_stats_keepup(s, &k);
    if (!k.judged || k.kept_up) {
        buf[0] = '\0';
        return 0;
    }
    /* Little's law: the in-flight requests the rate needs at the latency seen. */
    double need = k.offered_rps * ll_hist_mean(s->hist[LL_H_E2E]) / (double)LL_NS_PER_S;
    if (k.cap) {
        len +=
            (size_t)snprintf(why + len, sizeof(why) - len,
                             "; the in-flight cap (%llu): %llu of %llu requests waited for a "
                             "slot, up to %.0f ms; the rate needs ~%.0f in flight",
                             (unsigned long long)s->in_flight_limit,
                             (unsigned long long)s->slot_waits, (unsigned long long)s->dispatched,
                             ll_report__ms((double)s->hist[LL_H_QUEUE_WAIT]->max), ceil(need));
    }
    if (k.slipped && len < sizeof(why)) {
        len += (size_t)snprintf(why + len, sizeof(why) - len,
                                "; sends slipped: %llu of %llu >= 1 ms late, up to %.1f ms",
                                (unsigned long long)s->sends_late,
                                (unsigned long long)s->sends_scheduled,
                                ll_report__ms((double)s->slip_max_ns));
    }
    if (k.cpu && len < sizeof(why)) {
        len += (size_t)snprintf(why + len, sizeof(why) - len,
                                "; client CPU: %.2f of the %d core%s it can use", k.cpu_cores,
                                k.cpu_capacity, k.cpu_capacity > 1 ? "s" : "");
    }
    return snprintf(buf, n,
                    "open loop did not keep up: offered %.1f req/s, achieved %.1f req/s (%.0f%%); "
                    "held back by%s",
                    k.offered_rps, k.achieved_rps, 100.0 * k.ratio,
                    len > 0 ? why + 1 : " nothing the client saw (not its cap, schedule or CPU)");
}

void ll_report__schedule_table(FILE *out, const struct ll_stats *s)
{
    struct ll_keepup k;
    if (s->sends_scheduled == 0) {
        return;
    }
    ll_stats_keepup(s, &k);
    ll_report__line_f(out, "offered rate", k.offered_rps > 0 ? k.offered_rps : NAN, "req/s");
    ll_report__line_f(out, "achieved rate (dispatched)", k.judged ? k.achieved_rps : NAN, "req/s");
    fprintf(out, "%-*s %14s%s\n", LABEL_W, "kept up",
            !k.judged   ? "-"
            : k.kept_up ? "yes"
                        : "NO",
            k.judged && !k.kept_up ? " (why: the line after the table)" : "");
    ll_report__line_u(out, "waited for an in-flight slot", s->slot_waits);
    ll_report__line_u(out, "sends scheduled", s->sends_scheduled);
    ll_report__line_u(out, "sends late (>= 1 ms)", s->sends_late);
    ll_report__line_f(out, "send slip mean",
                      ll_report__ms(s->slip_sum_ns / (double)s->sends_scheduled), "ms");
    ll_report__line_f(out, "send slip max", ll_report__ms((double)s->slip_max_ns), "ms");
}

cJSON *ll_report__schedule_json(const struct ll_stats *s)
{
    cJSON *o = cJSON_CreateObject();
    struct ll_keepup k;
    char line[512];
    ll_stats_keepup(s, &k);
    ll_report__add_num(o, "offered_rps", s->open_loop && k.offered_rps > 0 ? k.offered_rps : NAN);
    ll_report__add_num(o, "achieved_rps", k.judged ? k.achieved_rps : NAN);
    if (k.judged) {
        cJSON_AddBoolToObject(o, "kept_up", k.kept_up);
    } else {
        cJSON_AddNullToObject(o, "kept_up");
    }
    cJSON *held = cJSON_AddArrayToObject(o, "held_back_by");
    if (k.judged && !k.kept_up) {
        const char *names[] = {"in_flight_cap", "send_slip", "client_cpu"};
        bool on[] = {k.cap, k.slipped, k.cpu};
        for (size_t i = 0; i < 3; i++) {
            if (on[i]) {
                cJSON_AddItemToArray(held, cJSON_CreateString(names[i]));
            }
        }
    }
    ll_report_keepup_line(line, sizeof(line), s);
    if (line[0] != '\0') {
        cJSON_AddStringToObject(o, "line", line);
    } else {
        cJSON_AddNullToObject(o, "line");
    }
    cJSON_AddNumberToObject(o, "waited_for_slot", (double)s->slot_waits);
    cJSON_AddNumberToObject(o, "cpu_cores_used", k.cpu_cores);
    cJSON_AddNumberToObject(o, "cpu_cores_usable", k.cpu_capacity);
    cJSON_AddNumberToObject(o, "sends_scheduled", (double)s->sends_scheduled);
    cJSON_AddNumberToObject(o, "sends_late", (double)s->sends_late);
    bool any = s->sends_scheduled > 0; /* closed loop: no schedule, no slip */
    ll_report__add_num(o, "slip_mean_ms",
                       any ? ll_report__ms(s->slip_sum_ns / (double)s->sends_scheduled) : NAN);
    ll_report__add_num(o, "slip_max_ms", any ? ll_report__ms((double)s->slip_max_ns) : NAN);
    return o;
}
