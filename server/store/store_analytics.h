/*
 * store_analytics: the five reports of tvmaze.v1.Analytics, one SQL
 * statement each (CTEs, window functions, aggregates), parameterized and
 * lazily prepared (db.h). Averages are rounded to 2 decimals in SQL.
 *
 *   report                  statement        ordering
 *   ShowsWithEpisodeStats   an_show_stats    episode_count desc, show id
 *   TopRatedByGenre         an_top_by_genre  genre name, rank, show id
 *   NetworkPerformance      an_network_perf  show_count desc, avg desc, id
 *   MonthlyTrends           an_monthly       month
 *   CountryDistribution     an_countries     show_count desc, code (global last)
 *
 * On STORE_OK *out is a new reply built in arena a (NULL: the heap; free with
 * protobuf_c_message_free_unpacked(msg, NULL));
 * else *out is NULL. Not thread-safe (one store per thread).
 */
#ifndef TVMAZE_STORE_ANALYTICS_H
#define TVMAZE_STORE_ANALYTICS_H

#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "tvmaze/v1/analytics.pb-c.h"

/* Episodes with airdate in [from, to] (day numbers); at most limit shows. */
enum store_status store_an_show_stats(struct store *s, struct arena *a, int32_t from, int32_t to,
                                      int32_t limit,
                                      Tvmaze__V1__ShowsWithEpisodeStatsResponse **out);
/* Rated shows per genre (genre NULL = all), at most limit per genre. */
enum store_status store_an_top_by_genre(struct store *s, struct arena *a, const char *genre,
                                        int32_t limit, Tvmaze__V1__TopRatedByGenreResponse **out);
enum store_status store_an_network_perf(struct store *s, struct arena *a, int32_t limit,
                                        Tvmaze__V1__NetworkPerformanceResponse **out);
enum store_status store_an_monthly(struct store *s, struct arena *a, int32_t from, int32_t to,
                                   Tvmaze__V1__MonthlyTrendsResponse **out);
enum store_status store_an_countries(struct store *s, struct arena *a,
                                     Tvmaze__V1__CountryDistributionResponse **out);

#endif
