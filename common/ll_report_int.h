/* ll_report_int.h - what the report's files share (ll_report.c, ll_report_open.c); not part of
 * the report's interface. */
#ifndef LL_REPORT_INT_H
#define LL_REPORT_INT_H

#include <stdint.h>
#include <stdio.h>

#include <cJSON.h>

#include "ll_stats.h"

#define LABEL_W 28 /* the table's label column */

double ll_report__ms(double ns);
/* A figure or, when it was not measured (NAN), JSON null. */
void ll_report__add_num(cJSON *o, const char *key, double v);
/* "label            value unit" lines of the table; a NAN figure prints "-". */
void ll_report__line_u(FILE *out, const char *label, uint64_t v);
void ll_report__line_f(FILE *out, const char *label, double v, const char *unit);

/* The open-loop schedule section (nothing in closed loop) and its JSON object. */
void ll_report__schedule_table(FILE *out, const struct ll_stats *s);
cJSON *ll_report__schedule_json(const struct ll_stats *s);

#endif
