// The CDR DB's schema: its migrations (cdr/schema.sql shows what they
// produce; an integration test applies both and compares the tables).
#pragma once

#include <string>

#include "cdr/mysql_sink.h"
#include "db/migrations.h"

namespace tandem::cdr {

const db::Schema& schema();

// Connects (see db::connect) and applies the migrations the CDR DB lacks.
bool migrate(const DbConfig& config, db::MigrateResult& result, std::string& error);

}  // namespace tandem::cdr
