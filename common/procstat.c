/*
 * procstat: process metrics from /proc (see procstat.h); moved here from
 * server/metrics so the server and the gateway render them the same way.
 */
#include "procstat.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "promtext.h"

/* Fields of /proc/self/stat after the command: utime (14), stime (15),
 * num_threads (20), starttime (22), in clock ticks. 0 on success. */
static int proc_stat_(unsigned long long *utime, unsigned long long *stime, long *threads,
                      unsigned long long *start) {
  FILE *f = fopen("/proc/self/stat", "r");
  if (f == NULL) {
    return -1;
  }
  char buf[1024];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the command may hold spaces and parentheses */
  if (p == NULL) {
    return -1;
  }
  /* fields from 3 (state) on, separated by one space */
  int field = 3;
  for (char *t = p + 1; *t != '\0'; field++) {
    while (*t == ' ') {
      t++;
    }
    char *end = strchr(t, ' ');
    if (end == NULL) {
      end = t + strlen(t);
    }
    char *next = *end != '\0' ? end + 1 : end;
    *end = '\0';
    if (field == 14) {
      *utime = strtoull(t, NULL, 10);
    } else if (field == 15) {
      *stime = strtoull(t, NULL, 10);
    } else if (field == 20) {
      *threads = strtol(t, NULL, 10);
    } else if (field == 22) {
      *start = strtoull(t, NULL, 10);
      return 0;
    }
    t = next;
  }
  return -1;
}

/* A "Key: value" number of /proc/self/status or /proc/stat (-1 if absent). */
static long long proc_field_(const char *path, const char *key) {
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    return -1;
  }
  char line[256];
  size_t klen = strlen(key);
  long long v = -1;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, key, klen) == 0) {
      v = strtoll(line + klen, NULL, 10);
      break;
    }
  }
  fclose(f);
  return v;
}

static long open_fds_(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) {
    return -1;
  }
  long n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] != '.') {
      n++;
    }
  }
  closedir(d);
  return n - 1; /* the directory's own descriptor */
}

void procstat_render(struct strbuf *b, double fallback_start_epoch) {
  double tick = (double)sysconf(_SC_CLK_TCK);
  unsigned long long ut = 0, st = 0, start = 0;
  long threads = 0;
  int stat_ok = proc_stat_(&ut, &st, &threads, &start) == 0 && tick > 0;
  if (stat_ok) {
    prom_family(b, "process_cpu_seconds_total", "counter",
                "Total user and system CPU time spent in seconds.");
    prom_sample_double(b, "process_cpu_seconds_total", NULL, (double)(ut + st) / tick);
  }
  long long rss_kb = proc_field_("/proc/self/status", "VmRSS:");
  if (rss_kb >= 0) {
    prom_family(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    prom_sample_u64(b, "process_resident_memory_bytes", NULL, (unsigned long long)rss_kb * 1024);
  }
  long fds = open_fds_();
  if (fds >= 0) {
    prom_family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
    prom_sample_u64(b, "process_open_fds", NULL, (unsigned long long)fds);
  }
  long long btime = proc_field_("/proc/stat", "btime ");
  double started =
      stat_ok && btime > 0 ? (double)btime + (double)start / tick : fallback_start_epoch;
  prom_family(b, "process_start_time_seconds", "gauge",
              "Start time of the process since unix epoch in seconds.");
  prom_sample_double(b, "process_start_time_seconds", NULL, started);
  if (stat_ok) {
    prom_family(b, "process_threads", "gauge", "Number of OS threads in the process.");
    prom_sample_u64(b, "process_threads", NULL, (unsigned long long)threads);
  }
}
