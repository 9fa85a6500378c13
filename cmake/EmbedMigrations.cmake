# cmake -DDIR=migrations -DOUT=migrations.c -P EmbedMigrations.cmake
# Embeds every NNN_name.sql of DIR (sorted) as struct store_migration entries.
file(GLOB files RELATIVE ${DIR} ${DIR}/[0-9][0-9][0-9]_*.sql)
list(SORT files)
set(out "/* Generated from ${DIR}; do not edit. */\n#include \"migrations.h\"\n\n")
set(entries "")
set(i 0)
foreach(f ${files})
  file(READ ${DIR}/${f} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
  string(APPEND out "static const char m${i}_[] = {${body}0x00};\n")
  string(SUBSTRING ${f} 0 3 ver)
  math(EXPR ver "1${ver} - 1000")
  string(APPEND entries "  {${ver}, \"${f}\", m${i}_},\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND out "\nconst struct store_migration store_migrations[] = {\n${entries}};\n"
       "const size_t store_migrations_count = ${i};\n")
file(WRITE ${OUT} "${out}")
