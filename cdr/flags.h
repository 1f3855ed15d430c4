// The CDR writer's flags, for the process that embeds the writer (the call
// server): add_cdr_flags() before CLI11 parses, finish_cdr_flags() after.
#pragma once

#include <string>

#include "cdr/mysql_sink.h"
#include "cdr/writer.h"
#include "db/flags.h"

namespace CLI {
class App;
}  // namespace CLI

namespace tandem::cdr {

struct CdrFlags {
  WriterConfig writer;
  DbConfig db;
  std::string fsync = "group";        // group | none
  db::DbFlags db_flags{.name = "cdr", .what = "CDR DB", .password_file = {}};
};

void add_cdr_flags(CLI::App& app, CdrFlags& flags);

// Applies what needs more than a range check (policy names, the password
// file, the DB addresses, the writer's own checks); false and why.
bool finish_cdr_flags(CdrFlags& flags, std::string& error);

}  // namespace tandem::cdr
