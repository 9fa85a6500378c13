-- 005: data generations unique across databases and restores.
-- The generation is part of every cache key. A plain counter starting at 1
-- repeats: two databases sharing one Redis (or a database restored from a
-- backup) would reuse generation numbers for different data and read each
-- other's cached replies. From here on a generation is at least the commit
-- time in microseconds since the epoch (and still grows by at least 1 per
-- bump), so a number is never reused for different data.
UPDATE data_generation
   SET generation = greatest(generation + 1,
                             (extract(epoch FROM clock_timestamp()) * 1000000)::bigint);
