/*
 * otel_sampler: sampler names, the ratio bound, the decision. See
 * otel_sampler.h. Tests: tests/unit/test_otel.c (sampler).
 */
#include "otel_sampler.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static const struct {
  const char *name;
  enum otel_sampler_kind root;
  int parent_based;
} names_[] = {
    {"always_on", OTEL_SAMPLER_ALWAYS_ON, 0},
    {"always_off", OTEL_SAMPLER_ALWAYS_OFF, 0},
    {"traceidratio", OTEL_SAMPLER_RATIO, 0},
    {"parentbased_always_on", OTEL_SAMPLER_ALWAYS_ON, 1},
    {"parentbased_always_off", OTEL_SAMPLER_ALWAYS_OFF, 1},
    {"parentbased_traceidratio", OTEL_SAMPLER_RATIO, 1},
};
#define NNAMES (sizeof names_ / sizeof names_[0])

static uint64_t bound_(double ratio) {
  if (ratio >= 1.0)
    return UINT64_C(1) << 63;
  return (uint64_t)(ratio * 9223372036854775808.0); /* 2^63 */
}

int otel_sampler_parse(const char *name, const char *arg, struct otel_sampler *out, char *err,
                       size_t errlen) {
  size_t i = NNAMES - 1; /* parentbased_traceidratio */
  if (name != NULL && name[0] != '\0') {
    for (i = 0; i < NNAMES; i++)
      if (strcasecmp(name, names_[i].name) == 0)
        break;
    if (i == NNAMES) {
      snprintf(err, errlen,
               "OTEL_TRACES_SAMPLER: expected always_on, always_off, traceidratio, "
               "parentbased_always_on, parentbased_always_off or parentbased_traceidratio, "
               "got \"%.64s\"",
               name);
      return -1;
    }
  }
  double ratio = OTEL_SAMPLER_DEFAULT_ARG;
  if (names_[i].root == OTEL_SAMPLER_RATIO && arg != NULL && arg[0] != '\0') {
    char *end = NULL;
    ratio = strtod(arg, &end);
    if (end == arg || *end != '\0' || isnan(ratio) || ratio < 0.0 || ratio > 1.0) {
      snprintf(err, errlen, "OTEL_TRACES_SAMPLER_ARG: expected a number in [0, 1], got \"%.64s\"",
               arg);
      return -1;
    }
  }
  out->root = names_[i].root;
  out->parent_based = names_[i].parent_based;
  out->ratio = names_[i].root == OTEL_SAMPLER_RATIO ? ratio : 0.0;
  out->bound = bound_(out->ratio);
  return 0;
}

int otel_sampler_ratio_hit(const struct otel_sampler *s, const uint8_t trace_id[16]) {
  uint64_t v = 0;
  for (int i = 8; i < 16; i++)
    v = v << 8 | trace_id[i];
  return (v >> 1) < s->bound;
}

int otel_sampler_decide(const struct otel_sampler *s, const uint8_t trace_id[16], int has_parent,
                        int parent_sampled) {
  if (s->parent_based && has_parent)
    return parent_sampled ? 1 : 0;
  switch (s->root) {
  case OTEL_SAMPLER_ALWAYS_ON:
    return 1;
  case OTEL_SAMPLER_ALWAYS_OFF:
    return 0;
  case OTEL_SAMPLER_RATIO:
    return otel_sampler_ratio_hit(s, trace_id);
  }
  return 0;
}

const char *otel_sampler_name(const struct otel_sampler *s) {
  for (size_t i = 0; i < NNAMES; i++)
    if (names_[i].root == s->root && names_[i].parent_based == s->parent_based)
      return names_[i].name;
  return "parentbased_traceidratio";
}
