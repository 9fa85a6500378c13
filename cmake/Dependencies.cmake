# One place that finds every dependency (Debian packages, via pkg-config).
# Each becomes an imported target PkgConfig::<NAME>.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(GRPC REQUIRED IMPORTED_TARGET grpc gpr)
pkg_check_modules(PROTOBUFC REQUIRED IMPORTED_TARGET libprotobuf-c)
pkg_check_modules(PQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(CRYPTO REQUIRED IMPORTED_TARGET libcrypto)
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)

find_program(PROTOC protoc REQUIRED)
find_program(PROTOC_C protoc-c REQUIRED)
# Well-known types (google/protobuf/*.proto) and the gRPC health/reflection protos.
find_path(PROTOBUF_WKT_DIR google/protobuf/wrappers.proto PATHS /usr/include REQUIRED)
find_path(GRPC_PROTO_DIR grpc/health/v1/health.proto PATHS /usr/share/grpc-proto REQUIRED)
