// The Rules DB's schema: its migrations (rules/schema.sql is what they
// produce; a unit test keeps the two equal).
#pragma once

#include "db/migrations.h"

namespace tandem::rules {

const db::Schema& schema();

}  // namespace tandem::rules
